"""Edits made to articles over the API, kept apart from the files they change.

``corpus/.edits.json`` maps an article id to ``{"deleted": true}`` or to the fields that
replace the article's own (title, date, source, url, text). The files stay as they were:
a PDF cannot be edited in place, and one file may hold several articles, so removing one
of them from the file would mean rewriting text the layout repair has already changed.
Applied at every build, after the files are read; the id stays the same, so citations
and the incremental build (which re-embeds only what changed) keep working. The file is
hidden (a dot name): it is never read as an article.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .dates import normalise_date
from .ingest import Article, content_hash, paragraph_spans
from .layout import classify, repair_fragments

EDITS_FILE = ".edits.json"


def load_edits(corpus_dir: Path) -> dict[str, dict]:
    try:
        edits = json.loads((corpus_dir / EDITS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return edits if isinstance(edits, dict) else {}


def _save(corpus_dir: Path, edits: dict[str, dict]) -> None:
    atomic_write_text(corpus_dir / EDITS_FILE, json.dumps(edits, ensure_ascii=False, indent=1))


@contextmanager
def _locked(corpus_dir: Path) -> Iterator[None]:
    # Two admins saving at once must not lose one of the edits.
    with open(corpus_dir / ".edits.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def record_edit(corpus_dir: Path, article_id: str, edit: dict | None) -> dict:
    """Merge ``edit`` into the article's edits (None: delete the article); the result."""
    with _locked(corpus_dir):
        edits = load_edits(corpus_dir)
        if edit is None:
            edits[article_id] = {"deleted": True}
        else:
            merged = {k: v for k, v in edits.get(article_id, {}).items() if k != "deleted"}
            merged.update(edit)
            edits[article_id] = merged
        _save(corpus_dir, edits)
        return edits[article_id]


def forget_edit(corpus_dir: Path, article_id: str) -> None:
    """Drop an article's edits (its file was deleted)."""
    with _locked(corpus_dir):
        edits = load_edits(corpus_dir)
        if edits.pop(article_id, None) is not None:
            _save(corpus_dir, edits)


def _with_text(article: Article, text: str) -> Article:
    paragraphs = repair_fragments(text.replace("\r\n", "\n").split("\n"))
    spans = paragraph_spans([(part, classify(part), None) for part in paragraphs])
    return replace(article, text="\n".join(paragraphs), paragraphs=spans)


def apply_edits(articles: list[Article], edits: dict[str, dict]) -> list[Article]:
    """The articles as edited: deleted ones left out, replaced fields put in."""
    out = []
    for article in articles:
        edit = edits.get(article.id)
        if not edit:
            out.append(article)
            continue
        if edit.get("deleted"):
            continue
        if isinstance(edit.get("text"), str):
            article = _with_text(article, edit["text"])
        # An emptied date or url is cleared; an emptied source falls back to the file.
        fields: dict[str, Any] = {k: edit[k] or None for k in ("date", "url") if isinstance(edit.get(k), str)}
        if "date" in fields:
            fields["date"] = normalise_date(fields["date"]) or fields["date"]
            fields["date_source"] = "edit" if fields["date"] else "none"
        if edit.get("title"):
            fields["title"] = edit["title"]
        if isinstance(edit.get("source"), str):
            fields["source"] = edit["source"] or article.file
        article = replace(article, **fields)
        out.append(replace(article, content_hash=content_hash(article.title, article.text)))
    return out
