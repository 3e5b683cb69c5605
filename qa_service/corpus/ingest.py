"""Read corpus files into articles: decoding, front matter, article split (the lines are
made paragraphs in layout.py).

Scanned newspaper pages arrive as text with photo captions, bylines and line breaks in
mid-sentence. This module turns each file into articles whose paragraphs carry
character offsets into the cleaned article text, and reports every file it could not
use instead of dropping it silently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .dates import article_date, date_of_mtime
from .extraction import ReadAhead, RemoteReader, cached_extract, read_ahead, store_extract
from .formats import PLAIN_SUFFIXES, READERS, Extracted, UnreadableFile
from .layout import classify, repair_with_pages
from .sandbox import SandboxedReader

CORPUS_SUFFIXES = tuple(READERS)  # .txt .md .pdf .docx .html .htm .png .jpg .jpeg
MAX_FILE_BYTES = 20 * 1024 * 1024  # text
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024  # PDFs, Word files, pages and images (scans are large)



@dataclass(frozen=True)
class Paragraph:
    index: int
    start: int
    end: int
    kind: str  # "heading", "byline", "caption" or "body"
    page: int | None = None  # 1-based page of a PDF or image; None for formats without pages


@dataclass
class Article:
    id: str
    title: str
    source: str
    text: str
    paragraphs: list[Paragraph]
    date: str | None = None
    url: str | None = None
    content_hash: str = ""
    file: str = ""  # the corpus file it was read from (``source`` may be a publication's name)
    date_source: str = "none"  # where ``date`` came from: one of dates.DATE_SOURCES
    official: bool = False  # front matter `official: true`: the copy cited among reprints
    copy_of: str | None = None  # the canonical article this one republishes (duplicates.py)


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


@dataclass(frozen=True)
class OcrReport:
    """A file read (partly) by OCR: which pages, how long, and pages with no text at all."""

    source: str
    pages: int
    ocr_pages: list[int]
    seconds: float
    empty_pages: list[int]


@dataclass
class CorpusReadResult:
    articles: list[Article] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # source -> sha256 of bytes
    ocr: list[OcrReport] = field(default_factory=list)


class UndecodableFile(ValueError):
    pass


def decode_bytes(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), GBK/GB18030 and other legacy encodings."""
    if not data.strip():
        raise UndecodableFile("file is empty")
    if b"\x00" in data[:8192]:
        raise UndecodableFile("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UndecodableFile("cannot detect the text encoding")
    encoding = best.encoding
    # GBK is a subset of GB18030; decoding with the superset keeps rare characters.
    if encoding.replace("_", "").lower() in {"gb2312", "gbk", "cp936"}:
        encoding = "gb18030"
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UndecodableFile(f"cannot decode as {encoding}") from exc


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split optional ``---``-fenced ``key: value`` front matter from the body."""
    if not text.startswith("---"):
        return {}, text
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    for end in range(1, min(len(lines), 50)):
        if lines[end].strip() == "---":
            meta: dict[str, str] = {}
            for line in lines[1:end]:
                key, sep, value = line.partition(":")
                if sep and key.strip():
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            return meta, "\n".join(lines[end + 1 :])
    return {}, text


def _article_id(source: str, ordinal: int) -> str:
    # Position-based so that editing an article's text keeps its citations' id.
    return hashlib.sha256(f"{source}#{ordinal}".encode()).hexdigest()[:16]


def split_articles(paragraphs: list[str]) -> list[tuple[str, list[tuple[int, str]]]]:
    """Group paragraphs into (title, [(paragraph index, kind)]) articles.

    A new article starts at a block of heading/byline lines followed by body text when
    it is the first block, has two or more lines (headline + sub-headline), contains a
    byline, or follows a closing byline. A lone heading inside an article is a section
    heading and stays in it. Captions and headings with no body after them (page
    furniture) are kept in the nearest article, never dropped.
    """
    kinds = [classify(p) for p in paragraphs]
    articles: list[tuple[str, list[tuple[int, str]]]] = []
    pending: list[tuple[int, str]] = []  # paragraphs seen before the first article
    i = 0
    closed = False
    while i < len(paragraphs):
        j = i
        while j < len(paragraphs) and kinds[j] in ("heading", "byline"):
            j += 1
        block = list(range(i, j))
        followed_by_body = j < len(paragraphs) and kinds[j] == "body"
        if block and followed_by_body:
            has_byline = any(kinds[k] == "byline" for k in block)
            starts_article = (not articles or len(block) >= 2 or has_byline or closed)
            if starts_article:
                title_idx = next((k for k in block if kinds[k] == "heading"), block[0])
                articles.append((paragraphs[title_idx], pending))
                pending = []
            closed = False
            for k in block:
                _append(articles, pending, k, kinds[k])
            i = j
            continue
        if not block:
            block = [i]
            j = i + 1
        for k in block:
            kind = kinds[k]
            if not articles and kind == "body" and len(paragraphs[k]) <= 40:
                kind = "caption"  # short lines before any headline are photo captions
            _append(articles, pending, k, kind)
            closed = kind == "byline" and k == block[-1] and bool(articles)
        i = j
    if pending:
        if articles:
            articles[-1][1].extend(pending)
        else:
            articles.append(("", pending))
    return articles


def _append(articles: list, pending: list, index: int, kind: str) -> None:
    (articles[-1][1] if articles else pending).append((index, kind))


def _fallback_title(body: list[tuple[str, str]], source: str) -> str:
    for text, kind in body:
        if kind == "heading":
            return text
    first = body[0][0] if body else ""
    return first[:30] if first else Path(source).stem


def parse_document(text: str, source: str, found: dict[str, str] | None = None,
                   paged: bool = False) -> list[Article]:
    """Articles of one file's text. ``found`` is what a format reader learnt of the file
    (a web page's title, date and URL); front matter, where the text has it, wins."""
    front_matter, body = parse_front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    meta = {**(found or {}), **front_matter}
    repaired = repair_with_pages(body.split("\n"), paged)
    paragraphs = [p for p, _ in repaired]
    articles: list[Article] = []
    for ordinal, (title, members) in enumerate(split_articles(paragraphs)):
        if not members:
            continue
        parts = [(paragraphs[k], kind, repaired[k][1]) for k, kind in members]
        article_text = "\n".join(t for t, _, _ in parts)
        spans = paragraph_spans(parts)
        if ordinal == 0 and meta.get("title") and (not title or source_is_titled(meta)):
            title = meta["title"]
        title = title or _fallback_title([(t, k) for t, k, _ in parts], source)
        when, date_source = article_date(front_matter.get("date"), (found or {}).get("date"),
                                         title, [t for t, _, _ in parts])
        articles.append(
            Article(
                id=_article_id(source, ordinal),
                title=title,
                source=meta.get("source") or source,
                text=article_text,
                paragraphs=spans,
                date=when,
                url=meta.get("url"),
                content_hash=content_hash(title, article_text),
                file=source,
                date_source=date_source,
                official=str(front_matter.get("official", "")).lower() in {"true", "yes", "1"},
            )
        )
    return articles


def paragraph_spans(parts: list[tuple[str, str, int | None]]) -> list[Paragraph]:
    """Paragraphs of (text, kind, page) joined by newlines: their offsets in the article text."""
    spans, offset = [], 0
    for index, (part, kind, page) in enumerate(parts):
        spans.append(Paragraph(index, offset, offset + len(part), kind, page))
        offset += len(part) + 1
    return spans


def content_hash(title: str, text: str) -> str:
    """What decides whether an article must be embedded again (its title is embedded too)."""
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()


def source_is_titled(meta: dict[str, str]) -> bool:
    """Whether the title in ``meta`` was written by a person (front matter, a web page's
    <title>), not guessed; a PDF's or Word file's metadata title is often a template's."""
    return meta.get("title_from") != "document"


def list_corpus_files(corpus_dir: Path) -> list[Path]:
    # Hidden means hidden inside the corpus: the corpus itself may live under a dot-folder.
    return sorted(
        p for p in corpus_dir.rglob("*")
        if p.suffix.lower() in CORPUS_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def _readable_document(path: Path, root: Path) -> bool:
    """A document the loop below would extract (it reports every other file itself)."""
    try:
        return (path.suffix.lower() not in PLAIN_SUFFIXES and path.is_file()
                and path.resolve().is_relative_to(root) and path.stat().st_size <= MAX_DOCUMENT_BYTES)
    except OSError:
        return False


def read_corpus(corpus_dir: Path, cache_dir: Path | None = None,
                group_copies: bool = True, remote: RemoteReader | None = None) -> CorpusReadResult:
    """Read every supported file below ``corpus_dir``; report the ones that cannot be used.

    Text and Markdown are read here; every other format in a sandboxed worker process
    (time and memory limits, see sandbox.py), so one hostile file costs only itself.
    What those readers extract is kept in ``cache_dir`` by the file's hash: a rebuild
    does not OCR an unchanged scan again. Republished copies are marked (``copy_of``)
    unless ``group_copies`` is off. With a ``remote`` reader (a build on a cluster), the
    documents not cached yet are read there first, all at once (extraction.py).
    """
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    result = CorpusReadResult()
    root = corpus_dir.resolve()
    paths = list_corpus_files(corpus_dir)
    ahead = ReadAhead()
    if remote:
        ahead = read_ahead([p for p in paths if _readable_document(p, root)], cache_dir, remote)
    with SandboxedReader() as sandbox:
        for path in paths:
            source = path.relative_to(corpus_dir).as_posix()
            plain = path.suffix.lower() in PLAIN_SUFFIXES
            limit = MAX_FILE_BYTES if plain else MAX_DOCUMENT_BYTES
            try:
                if not path.resolve().is_relative_to(root):
                    raise UndecodableFile("link points outside the corpus folder")
                if not path.is_file():
                    raise UndecodableFile("not a regular file")
                if path.stat().st_size > limit:
                    raise UndecodableFile(f"larger than {limit // (1024 * 1024)} MB")
                # A document read ahead on a cluster was hashed then; the sandbox reads by path.
                data = b"" if path in ahead.digests else path.read_bytes()
                digest = ahead.digests.get(path) or hashlib.sha256(data).hexdigest()
                # Read ahead on the cluster in this build: reported as read now, not cached.
                fresh = None if plain else ahead.extracted(digest)
                cached = None if plain or fresh is not None else cached_extract(cache_dir, digest)
                if plain:
                    extracted = Extracted(decode_bytes(data))
                elif fresh is not None:
                    extracted = fresh
                elif cached is not None:
                    extracted = cached
                else:
                    extracted = sandbox.read(path)
                    store_extract(cache_dir, digest, extracted)
                articles = parse_document(extracted.text, source, extracted.meta, extracted.pages is not None)
                if not articles:
                    raise UndecodableFile("no text after cleaning")
            except (UndecodableFile, UnreadableFile, OSError) as exc:
                result.skipped.append(SkippedFile(source, str(exc)))
                continue
            result.files[source] = digest
            for article in articles:  # a file that says nothing of its date: when it was saved
                if article.date is None:
                    article.date, article.date_source = date_of_mtime(path.stat().st_mtime), "file_mtime"
            result.articles.extend(articles)
            if cached is None and (extracted.ocr_pages or extracted.empty_pages):
                result.ocr.append(OcrReport(source, extracted.pages or 1, extracted.ocr_pages,
                                            round(extracted.ocr_seconds, 2), extracted.empty_pages))
    from .edits import apply_edits, load_edits  # edits.py builds on this module

    result.articles = apply_edits(result.articles, load_edits(corpus_dir))
    if group_copies:
        from .duplicates import mark_copies  # duplicates.py builds on this module

        mark_copies(result.articles)
    if cache_dir is not None and cache_dir.is_dir():
        for stale in cache_dir.glob("*.json"):  # files no longer in the corpus
            if stale.stem not in result.files.values():
                stale.unlink(missing_ok=True)
    return result
