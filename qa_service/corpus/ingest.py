"""Read corpus files into articles: decoding, front matter, layout repair, article split.

Scanned newspaper pages arrive as text with photo captions, bylines and line breaks in
mid-sentence. This module turns each file into articles whose paragraphs carry
character offsets into the cleaned article text, and reports every file it could not
use instead of dropping it silently.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

CORPUS_SUFFIXES = (".txt", ".md")
MAX_FILE_BYTES = 20 * 1024 * 1024

# A fragment ending in one of these (optionally followed by closing quotes/brackets)
# ends a sentence, so the line break after it is a real paragraph break.
_SENTENCE_END = re.compile(r"[。！？!?;；…:：][”’\"'）)》」』]*$")
_INNER_PUNCT = re.compile(r"[，,。；;！!？?、：:]")
_CREDIT_ONLY = re.compile(r"^\S{1,4}(?: \S{1,3})?摄$")
_BYLINE = re.compile(r"^(本报讯|□|■|◎|记者|通讯员)|^[(（][^()（）]{1,40}[)）]$")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_LATIN_EDGE = re.compile(r"[A-Za-z0-9]")
# English has no heading-free punctuation cue: a line ending in a lowercase word that
# runs into a lowercase word or number is one sentence broken by layout.
_LATIN_TAIL = re.compile(r"[a-z,]$")
_LATIN_HEAD = re.compile(r"^[a-z0-9]")
HEADING_MAX_CHARS = 50


@dataclass(frozen=True)
class Paragraph:
    index: int
    start: int
    end: int
    kind: str  # "heading", "byline", "caption" or "body"


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


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


@dataclass
class CorpusReadResult:
    articles: list[Article] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # source -> sha256 of bytes


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


def _normalise_line(line: str) -> str:
    # Scanned pages pad with ideographic and non-breaking spaces; NUL and other
    # control characters are noise from extraction.
    line = line.replace("\u3000", " ").replace("\xa0", " ")
    line = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", line)
    return re.sub(r"[ \t]+", " ", line).strip()


def ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text))


def is_heading_like(text: str) -> bool:
    return len(text) <= HEADING_MAX_CHARS and not _INNER_PUNCT.search(text)


def _join(left: str, right: str) -> str:
    glue = " " if _LATIN_EDGE.match(left[-1]) and _LATIN_EDGE.match(right[0]) else ""
    return left + glue + right


def repair_fragments(lines: list[str]) -> list[str]:
    """Join lines broken by page layout; keep headings, bylines and captions apart."""
    paragraphs: list[str] = []
    for raw in lines:
        line = _normalise_line(raw)
        if not line:
            continue
        if _MD_HEADING.match(line):
            paragraphs.append(_MD_HEADING.sub("", line))
            continue
        if paragraphs:
            prev = paragraphs[-1]
            if _CREDIT_ONLY.match(line) and len(prev) <= 60 and not _CREDIT_ONLY.match(prev):
                # A photographer credit printed on its own line belongs to its caption.
                paragraphs[-1] = prev + " " + line
                continue
            # A caption ends with its photographer's credit (…摄), not with punctuation.
            complete = ends_sentence(prev) or is_heading_like(prev) or prev.endswith("摄")
            latin_run_on = bool(_LATIN_TAIL.search(prev) and _LATIN_HEAD.match(line))
            continues = not is_heading_like(line) and not _BYLINE.match(line)
            if latin_run_on or (not complete and continues):
                paragraphs[-1] = _join(prev, line)
                continue
        paragraphs.append(line)
    return paragraphs


def classify(text: str) -> str:
    if text.endswith("摄") and len(text) <= 80:
        return "caption"
    if _BYLINE.match(text) and len(text) <= 80:
        return "byline"
    if is_heading_like(text) and not ends_sentence(text):
        return "heading"
    return "body"


def _article_id(source: str, ordinal: int) -> str:
    # Position-based so that editing an article's text keeps its citations' id.
    return hashlib.sha256(f"{source}#{ordinal}".encode()).hexdigest()[:16]


def split_articles(paragraphs: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Group paragraphs into (title, [(text, kind)]) articles.

    A new article starts at a block of heading/byline lines followed by body text when
    it is the first block, has two or more lines (headline + sub-headline), contains a
    byline, or follows a closing byline. A lone heading inside an article is a section
    heading and stays in it. Captions and headings with no body after them (page
    furniture) are kept in the nearest article, never dropped.
    """
    kinds = [classify(p) for p in paragraphs]
    articles: list[tuple[str, list[tuple[str, str]]]] = []
    pending: list[tuple[str, str]] = []  # paragraphs seen before the first article
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
                _append(articles, pending, paragraphs[k], kinds[k])
            i = j
            continue
        if not block:
            block = [i]
            j = i + 1
        for k in block:
            kind = kinds[k]
            if not articles and kind == "body" and len(paragraphs[k]) <= 40:
                kind = "caption"  # short lines before any headline are photo captions
            _append(articles, pending, paragraphs[k], kind)
            closed = kind == "byline" and k == block[-1] and bool(articles)
        i = j
    if pending:
        if articles:
            articles[-1][1].extend(pending)
        else:
            articles.append(("", pending))
    return articles


def _append(articles: list, pending: list, text: str, kind: str) -> None:
    (articles[-1][1] if articles else pending).append((text, kind))


def _fallback_title(body: list[tuple[str, str]], source: str) -> str:
    for text, kind in body:
        if kind == "heading":
            return text
    first = body[0][0] if body else ""
    return first[:30] if first else Path(source).stem


def parse_document(text: str, source: str) -> list[Article]:
    meta, body = parse_front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs = repair_fragments(body.split("\n"))
    articles: list[Article] = []
    for ordinal, (title, parts) in enumerate(split_articles(paragraphs)):
        if not parts:
            continue
        texts = [t for t, _ in parts]
        article_text = "\n".join(texts)
        spans: list[Paragraph] = []
        offset = 0
        for index, (part, kind) in enumerate(parts):
            spans.append(Paragraph(index, offset, offset + len(part), kind))
            offset += len(part) + 1
        title = title or _fallback_title(parts, source)
        if ordinal == 0 and meta.get("title"):
            title = meta["title"]
        articles.append(
            Article(
                id=_article_id(source, ordinal),
                title=title,
                source=meta.get("source") or source,
                text=article_text,
                paragraphs=spans,
                date=meta.get("date"),
                url=meta.get("url"),
                content_hash=hashlib.sha256(f"{title}\n{article_text}".encode()).hexdigest(),
            )
        )
    return articles


def list_corpus_files(corpus_dir: Path) -> list[Path]:
    # Hidden means hidden inside the corpus: the corpus itself may live under a dot-folder.
    return sorted(
        p for p in corpus_dir.rglob("*")
        if p.suffix.lower() in CORPUS_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def read_corpus(corpus_dir: Path) -> CorpusReadResult:
    """Read every .txt/.md file below ``corpus_dir``; report the ones that cannot be used."""
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    result = CorpusReadResult()
    root = corpus_dir.resolve()
    for path in list_corpus_files(corpus_dir):
        source = path.relative_to(corpus_dir).as_posix()
        try:
            if not path.resolve().is_relative_to(root):
                raise UndecodableFile("link points outside the corpus folder")
            if not path.is_file():
                raise UndecodableFile("not a regular file")
            if path.stat().st_size > MAX_FILE_BYTES:
                raise UndecodableFile(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
            data = path.read_bytes()
            articles = parse_document(decode_bytes(data), source)
            if not articles:
                raise UndecodableFile("no text after cleaning")
        except (UndecodableFile, OSError) as exc:
            result.skipped.append(SkippedFile(source, str(exc)))
            continue
        result.files[source] = hashlib.sha256(data).hexdigest()
        result.articles.extend(articles)
    return result
