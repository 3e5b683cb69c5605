"""What a build notes about each article besides its chunks: its authors (bylines.py) and
its extractive summary (summaries.py), stored with the article so that asking for them
costs nothing, and reused by a later build while the article's content is unchanged."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .bylines import Author, authors_of
from .ingest import Article
from .summaries import SummaryPart, summarize

# Bumped when the rules change: notes of another version are made again, not reused.
NOTES_VERSION = "2"


@dataclass(frozen=True)
class ArticleNotes:
    authors: tuple[Author, ...] = ()
    summary: tuple[SummaryPart, ...] = ()

    def to_json(self) -> str:
        return json.dumps({"version": NOTES_VERSION,
                           "authors": [[a.name, a.char_start, a.char_end, a.paragraph] for a in self.authors],
                           "summary": [p.to_row() for p in self.summary]}, ensure_ascii=False)

    @classmethod
    def from_json(cls, stored: str) -> ArticleNotes | None:
        """The notes stored, or None where they are of another version (or unreadable)."""
        try:
            data = json.loads(stored)
            if data.get("version") != NOTES_VERSION:
                return None
            return cls(tuple(Author(str(n), int(s), int(e), int(p)) for n, s, e, p in data["authors"]),
                       tuple(SummaryPart.from_row(row) for row in data["summary"]))
        except (ValueError, TypeError, KeyError):
            return None


def notes_of(article: Article) -> ArticleNotes:
    return ArticleNotes(tuple(authors_of(article)), tuple(summarize(article)))
