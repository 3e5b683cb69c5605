"""SQLite store of articles and chunks: what a search hit id resolves to.

Texts live on disk, not in Python objects, so a worker's memory does not grow with the
corpus. Each thread gets its own read-only connection.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpus import Article, ArticleNotes, Chunk, Paragraph

SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, date TEXT, url TEXT,
    text TEXT NOT NULL, paragraphs TEXT NOT NULL, content_hash TEXT NOT NULL, file TEXT,
    date_source TEXT, copy_of TEXT
);
CREATE INDEX articles_by_copy_of ON articles(copy_of);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id),
    ordinal INTEGER NOT NULL, paragraph INTEGER NOT NULL, paragraph_end INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX chunks_by_article ON chunks(article_id);
CREATE TABLE sentences (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, paragraph INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL
);
CREATE INDEX sentences_by_article ON sentences(article_id, char_start);
CREATE TABLE article_notes (
    article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, notes TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class SentenceSpan:
    id: int
    article_id: str
    paragraph: int
    char_start: int
    char_end: int


@dataclass(frozen=True)
class StoredChunk:
    id: int
    article_id: str
    title: str
    source: str
    date: str | None
    paragraph: int
    paragraph_end: int
    char_start: int
    char_end: int
    text: str
    date_source: str | None = None


def write_chunk_store(path: Path, articles: list[Article], chunks: list[tuple[int, Chunk]],
                      sentences: list[SentenceSpan], notes: dict[str, ArticleNotes] | None = None) -> None:
    """Write a new store at ``path`` (which must not exist yet); ``notes`` by article id."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(SCHEMA)
        conn.executemany(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(a.id, a.title, a.source, a.date, a.url, a.text,
              json.dumps([[p.start, p.end, p.kind, p.page] for p in a.paragraphs]), a.content_hash, a.file,
              a.date_source, a.copy_of)
             for a in articles],
        )
        conn.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(cid, c.article_id, c.ordinal, c.paragraph, c.paragraph_end, c.char_start,
              c.char_end, c.text) for cid, c in chunks],
        )
        conn.executemany(
            "INSERT INTO sentences VALUES (?, ?, ?, ?, ?)",
            [(s.id, s.article_id, s.paragraph, s.char_start, s.char_end) for s in sentences],
        )
        hashes = {a.id: a.content_hash for a in articles}
        conn.executemany(
            "INSERT INTO article_notes VALUES (?, ?, ?)",
            [(article_id, hashes[article_id], n.to_json()) for article_id, n in (notes or {}).items()
             if article_id in hashes],
        )
        conn.commit()
    finally:
        conn.close()


class ChunkStore:
    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"chunk store missing: {path}")
        self.path = path
        self._local = threading.local()
        # Articles never change within a generation; a search touches a handful of them.
        self.paragraph_info = functools.lru_cache(maxsize=4096)(self._paragraph_info)
        # An answer shaped like its question reads its article's text and paragraphs (and
        # its notes) once or twice per question: the articles asked about most stay at hand.
        self.get_article = functools.lru_cache(maxsize=64)(self._get_article)
        self.notes_of = functools.lru_cache(maxsize=256)(self._notes_of)
        self._columns: set[str] | None = None  # stores from before a column existed lack it
        self._notes_table: bool | None = None  # nor do they have notes
        self.count_chunks()  # fail now, not at the first question, if the file is broken

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            self._local.conn = conn
        return conn

    def count_chunks(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM chunks").fetchone()[0])

    def count_articles(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM articles").fetchone()[0])

    def get_chunks(self, ids: list[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._conn().execute(
            "SELECT c.id, c.article_id, a.title, a.source, a.date, c.paragraph, c.paragraph_end,"
            f" c.char_start, c.char_end, c.text, {self._column('date_source')}"
            " FROM chunks c JOIN articles a ON a.id = c.article_id"
            f" WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        ).fetchall()
        return {row[0]: StoredChunk(*row) for row in rows}

    def chunk_ids_where(self, keep: Callable[[str | None, str, str], bool]) -> np.ndarray:
        """Ids of the chunks whose article passes ``keep(date, source, file)``: the chunks a
        filtered search may return. One pass over the articles, then their chunks."""
        rows = self._conn().execute(f"SELECT a.id, a.date, a.source, {self._file_column()},"
                                    f" {self._column('copy_of')} FROM articles a")
        # A copy that passes brings its canonical article, the one searched in its place.
        return self.chunk_ids_of({r[4] or r[0] for r in rows if keep(r[1], r[2], r[3] or "")})

    def titles(self) -> list[tuple[str, str, str]]:
        """(title, id of the article searched for it, that article's title) of every
        article: a republished copy is searched as its canonical article."""
        rows = self._conn().execute(
            f"SELECT a.id, a.title, {self._column('copy_of')} FROM articles a").fetchall()
        titles = {r[0]: r[1] for r in rows}
        return [(r[1], r[2] or r[0], titles.get(r[2] or r[0], r[1])) for r in rows]

    def chunk_ids_of(self, article_ids: Collection[str]) -> np.ndarray:
        """Ids of the chunks of these articles, sorted."""
        kept = sorted(set(article_ids))
        if not kept:
            return np.empty(0, dtype=np.int64)
        ids: list[int] = []
        for start in range(0, len(kept), 500):  # SQLite's limit on bound parameters
            part = kept[start : start + 500]
            ids += [r[0] for r in self._conn().execute(
                f"SELECT id FROM chunks WHERE article_id IN ({','.join('?' * len(part))})", part)]
        return np.asarray(sorted(ids), dtype=np.int64)

    def copies_of(self, article_id: str) -> list[dict]:
        """The republished copies of an article: id, title, source, date (oldest first)."""
        if self._column("copy_of") == "NULL":
            return []
        rows = self._conn().execute(
            "SELECT id, title, source, date FROM articles WHERE copy_of = ?"
            " ORDER BY date IS NULL, date, source",
            (article_id,)).fetchall()
        return [{"id": r[0], "title": r[1], "source": r[2], "date": r[3]} for r in rows]

    def _paragraph_info(self, article_id: str) -> tuple[tuple[str, int | None, int], ...]:
        """Each paragraph's kind (heading, byline, caption, body), page and end offset."""
        row = self._conn().execute("SELECT paragraphs FROM articles WHERE id = ?", (article_id,)).fetchone()
        return tuple((p[2], p[3] if len(p) > 3 else None, p[1]) for p in json.loads(row[0])) if row else ()

    def page_at(self, article_id: str, offset: int) -> int | None:
        """The page the text at ``offset`` stands on (PDFs and images; None for other
        formats): that of the paragraph holding it."""
        for _, page, end in self.paragraph_info(article_id):
            if offset < end:
                return page
        return None

    def is_caption(self, chunk: StoredChunk) -> bool:
        """Whether the chunk holds only photo captions (the block of them a scanned page
        opens with): never the source of an answer that a body passage gives. An article
        without body paragraphs is a short text the layout rules took for captions."""
        article = [kind for kind, _, _ in self.paragraph_info(chunk.article_id)]
        kinds = article[chunk.paragraph : chunk.paragraph_end + 1]
        return bool(kinds) and all(kind == "caption" for kind in kinds) and "body" in article

    def sentences_within(self, article_id: str, start: int, end: int) -> list[SentenceSpan]:
        rows = self._conn().execute(
            "SELECT id, article_id, paragraph, char_start, char_end FROM sentences"
            " WHERE article_id = ? AND char_start >= ? AND char_end <= ? ORDER BY char_start",
            (article_id, start, end),
        ).fetchall()
        return [SentenceSpan(*row) for row in rows]

    def _notes_of(self, article_id: str) -> ArticleNotes:
        """The article's authors and summary (none for a store written before notes)."""
        if not self._has_notes():
            return ArticleNotes()
        row = self._conn().execute("SELECT notes FROM article_notes WHERE article_id = ?",
                                   (article_id,)).fetchone()
        return (ArticleNotes.from_json(row[0]) if row else None) or ArticleNotes()

    def notes_by_hash(self) -> dict[str, ArticleNotes]:
        """Content hash -> notes of the current version: what a later build may reuse."""
        if not self._has_notes():
            return {}
        rows = self._conn().execute("SELECT content_hash, notes FROM article_notes").fetchall()
        found = {content: ArticleNotes.from_json(stored) for content, stored in rows}
        return {content: n for content, n in found.items() if n is not None}

    def _has_notes(self) -> bool:
        if self._notes_table is None:
            found = self._conn().execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'article_notes'").fetchone()
            self._notes_table = found is not None
        return self._notes_table

    def content_hashes(self) -> dict[str, str]:
        """Article id -> content hash, for deciding what an incremental build may reuse."""
        return dict(self._conn().execute("SELECT id, content_hash FROM articles").fetchall())

    def chunk_spans(self) -> list[tuple[int, str, int, int]]:
        """(chunk id, article id, char_start, char_end) of every chunk."""
        return self._conn().execute("SELECT id, article_id, char_start, char_end FROM chunks").fetchall()

    def sentence_spans(self) -> list[tuple[int, str, int, int]]:
        """(sentence id, article id, char_start, char_end) of every sentence."""
        return self._conn().execute("SELECT id, article_id, char_start, char_end FROM sentences").fetchall()

    def _column(self, name: str) -> str:
        # Stores written before a column existed (file, date_source) read it as NULL.
        if self._columns is None:
            self._columns = {row[1] for row in self._conn().execute("PRAGMA table_info(articles)")}
        return f"a.{name}" if name in self._columns else "NULL"

    def _file_column(self) -> str:
        return self._column("file")

    def list_articles(self, offset: int, limit: int, newest_first: bool = False,
                      title_contains: str | None = None) -> list[dict]:
        """A page of articles by source file, or newest first (undated ones last, and those
        dated only by their file's time before them)."""
        # Newest by the dates articles state; a file's time (when it was copied) comes after.
        copied = f"coalesce({self._column('date_source')}, '') = 'file_mtime'"
        order = (f"a.date IS NULL, {copied}, a.date DESC, a.rowid DESC" if newest_first
                 else "a.source, a.rowid")
        where, parameters = ("WHERE instr(a.title, ?) > 0", [title_contains]) if title_contains else ("", [])
        rows = self._conn().execute(
            f"SELECT a.id, a.title, a.source, a.date, a.paragraphs, {self._file_column()},"
            f" (SELECT count(*) FROM chunks c WHERE c.article_id = a.id), {self._column('date_source')},"
            f" {self._column('copy_of')}"
            f" FROM articles a {where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*parameters, limit, offset),
        ).fetchall()
        out = []
        for r in rows:
            paragraphs = json.loads(r[4])
            pages = [p[3] for p in paragraphs if len(p) > 3 and p[3] is not None]
            file = r[5] or None
            out.append({"id": r[0], "title": r[1], "source": r[2], "date": r[3],
                        "date_source": r[7] or ("none" if r[3] is None else "front_matter"),
                        "copy_of": r[8], "file": file,
                        "format": Path(file).suffix.lstrip(".").lower() if file else None,
                        "pages": max(pages) if pages else None,
                        "paragraphs": len(paragraphs), "chunks": r[6], **self._notes_shown(r[0])})
        return out

    def _notes_shown(self, article_id: str) -> dict:
        """An article's authors' names and its summary's texts, as the admin list shows them."""
        notes = self.notes_of(article_id)
        summary = []
        for part in notes.summary:
            row = self._conn().execute("SELECT substr(text, ?, ?) FROM articles WHERE id = ?",
                                       (part.char_start + 1, part.char_end - part.char_start,
                                        article_id)).fetchone()
            summary.append({"kind": part.kind, "text": row[0] if row else ""})
        return {"authors": [a.name for a in notes.authors], "summary": summary}

    def count_articles_in_file(self, file: str) -> int:
        if self._file_column() == "NULL":
            return 0
        row = self._conn().execute("SELECT count(*) FROM articles WHERE file = ?", (file,)).fetchone()
        return int(row[0])

    def count_matching(self, title_contains: str) -> int:
        return int(self._conn().execute("SELECT count(*) FROM articles WHERE instr(title, ?) > 0",
                                        (title_contains,)).fetchone()[0])

    def _get_article(self, article_id: str) -> Article | None:
        row = self._conn().execute(
            f"SELECT a.id, a.title, a.source, a.date, a.url, a.text, a.paragraphs, a.content_hash,"
            f" {self._file_column()}, {self._column('date_source')} FROM articles a WHERE a.id = ?",
            (article_id,),
        ).fetchone()
        if row is None:
            return None
        # [start, end, kind, page]; stores written before pages existed have no page.
        spans = [Paragraph(i, p[0], p[1], p[2], p[3] if len(p) > 3 else None)
                 for i, p in enumerate(json.loads(row[6]))]
        return Article(id=row[0], title=row[1], source=row[2], date=row[3], url=row[4],
                       text=row[5], paragraphs=spans, content_hash=row[7], file=row[8] or "",
                       date_source=row[9] or ("none" if row[3] is None else "front_matter"))
