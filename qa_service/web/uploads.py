"""Articles added through the web: validated, then written to the corpus under a safe name."""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from ..corpus import SCHEMA_WHITESPACE, is_blank

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
    corpus_dir.mkdir(parents=True, exist_ok=True)
    name = f"web-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.md"
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=corpus_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    target = corpus_dir / name
    os.replace(tmp, target)
    target.chmod(0o644)
    return target
