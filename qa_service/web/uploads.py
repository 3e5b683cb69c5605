"""Articles added through the web: validated, then written to the corpus under a safe name."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

from ..corpus import CORPUS_SUFFIXES, MAX_DOCUMENT_BYTES, SCHEMA_WHITESPACE, atomic_write_bytes, is_blank

MAX_TITLE = 200
MAX_TEXT = 200_000
MAX_META = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class UploadError(ValueError):
    pass


def _field(body: dict, name: str, limit: int, required: bool, single_line: bool) -> str | None:
    value = body.get(name)
    # An optional field left blank (white space only) is one not given, as the spec allows.
    if not required and (value is None or (isinstance(value, str) and is_blank(value))):
        return None
    if not isinstance(value, str) or is_blank(value):
        raise UploadError(f"'{name}' must be a non-empty string")
    if len(value) > limit:
        raise UploadError(f"'{name}' has {len(value)} characters; at most {limit}")
    value = value.strip(SCHEMA_WHITESPACE)  # surrounding white space, a trailing newline included
    if _CONTROL.search(value) or (single_line and ("\n" in value or "\r" in value)):
        what = "control characters or line breaks" if single_line else "control characters"
        raise UploadError(f"'{name}' contains {what}")
    return value


def save_article(corpus_dir: Path, body: object) -> Path:
    """Write the article as a new UTF-8 Markdown file; the name never comes from the request."""
    if not isinstance(body, dict):
        raise UploadError('the body must be a JSON object: {"title": …, "text": …, "date": …, "source": …}')
    title = _field(body, "title", MAX_TITLE, True, True)
    text = _field(body, "text", MAX_TEXT, True, False)
    date = _field(body, "date", MAX_META, False, True)
    source = _field(body, "source", MAX_META, False, True)
    lines = ["---", f"title: {title}"]
    lines += [f"date: {date}"] if date else []
    lines += [f"source: {source}"] if source else []
    content = "\n".join([*lines, "---", str(title), "", str(text).replace("\r\n", "\n"), ""])
    name = f"web-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.md"
    return _write(corpus_dir / name, content.encode("utf-8"))


def _write(target: Path, data: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, data)  # the build never reads half an upload
    target.chmod(0o644)
    return target


# What a file of each type starts with: a file whose bytes are not its suffix's format is
# refused at once, rather than skipped by the next build.
_MAGIC = {".pdf": (b"%PDF",), ".docx": (b"PK\x03\x04",), ".png": (b"\x89PNG\r\n\x1a\n",),
          ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",)}
_UNSAFE_NAME = re.compile(r"[^\w.\-\u3400-\u9fff]+")


def safe_file_name(name: str) -> str:
    """The upload's own name, reduced to letters, digits, CJK, '.', '-' and '_' (no path),
    behind a time stamp and a random part so that it never replaces a file."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = _UNSAFE_NAME.sub("_", stem).strip("._")[:60] or "upload"
    return f"upload-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}-{stem}{suffix}"


def save_upload(corpus_dir: Path, name: str, data: bytes) -> Path:
    """Write an uploaded file into the corpus (atomically) after checking its type."""
    suffix = Path(name).suffix.lower()
    if suffix not in CORPUS_SUFFIXES:
        raise UploadError(f"unsupported file type '{suffix or name}'; supported: {' '.join(CORPUS_SUFFIXES)}")
    if not data:
        raise UploadError(f"{name} is empty")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise UploadError(f"{name} is larger than {MAX_DOCUMENT_BYTES // 1024**2} MB")
    magic = _MAGIC.get(suffix)
    if magic and not data.startswith(magic):
        raise UploadError(f"{name} is not a {suffix} file (its content is of another type)")
    return _write(corpus_dir / safe_file_name(name), data)


def parse_edit(body: object) -> dict:
    """The fields a PUT replaces: at least one of title, date, source, url, text."""
    if not isinstance(body, dict) or not body:
        raise UploadError('the body must be a JSON object with some of "title", "date", "source", '
                          '"url", "text"')
    unknown = set(body) - {"title", "date", "source", "url", "text"}
    if unknown:
        raise UploadError(f"unknown fields {sorted(unknown)}; allowed: title, date, source, url, text")
    edit = {}
    for name, limit, single_line in (("title", MAX_TITLE, True), ("text", MAX_TEXT, False),
                                     ("date", MAX_META, True), ("source", MAX_META, True),
                                     ("url", MAX_META, True)):
        if name in body:
            value = _field(body, name, limit, name in ("title", "text"), single_line)
            edit[name] = value or ""
    return edit
