"""Answers that start or end inside a token: cuts learned from the training answers.

The reader points at tokens, and the tokenizer glues function characters to the words
beside them (是中国, 在日本, 年开始, 岁的 are single tokens), so a span could not start at
中国 or end at 年. In CMRC 2018 train and DRCD 2.2% of the answers start inside a token
and 4.3% end inside one (many of those at punctuation, which the answering step trims
anyway). For each token that training answers start in, the table says how many of its
leading characters they leave out most often, where that happens more often than none
(是中国 -> 1: 26 answers against 6); the same for the token they end in and its trailing
characters (年开始 -> 2). ``training/span_edges.py`` builds it from the training sets.

Measured there, cross-validated over two halves of the paragraphs: a span the reader
points at exactly, by tokens, matches the gold answer in 96.96% of the training answers
as it was, and in 98.25% with the other half's cuts (262 answers gained, 40 lost).
No cut splits a number: one answer that ends inside 2000 does not make 2000 end at 20.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SPAN_EDGES_FORMAT = 1
# Built by training/span_edges.py for the base model's tokenizer (package data).
SPAN_EDGES_FILE = Path(__file__).with_name("span_edges.json")


class SpanEdgesError(ValueError):
    """The span edges file is missing, damaged or of another format."""


@dataclass(frozen=True)
class SpanEdges:
    """Characters left out of the first and the last token of a span, by token text."""

    leading: Mapping[str, int]  # token an answer starts in -> its characters before the answer
    trailing: Mapping[str, int]  # token an answer ends in -> its characters after the answer

    def cut(self, passage: str, first: tuple[int, int], last: tuple[int, int]) -> tuple[int, int]:
        """(start, end) of the span from token ``first`` to token ``last`` (character
        offsets into ``passage``), each edge moved inside its token where answers end
        there most often. A cut that would leave nothing is not made."""
        start, end = first[0], last[1]
        lead = self.leading.get(passage[first[0] : first[1]], 0)
        if lead and start + lead < end:
            start += lead
        trail = self.trailing.get(passage[last[0] : last[1]], 0)
        if trail and end - trail > start:
            end -= trail
        return start, end

    def to_json(self, **about: object) -> str:
        body = {"format": SPAN_EDGES_FORMAT, **about,
                "leading": dict(sorted(self.leading.items())),
                "trailing": dict(sorted(self.trailing.items()))}
        return json.dumps(body, ensure_ascii=False, indent=1) + "\n"


def load_span_edges(path: Path = SPAN_EDGES_FILE) -> SpanEdges:
    """The table in ``path``; a missing or damaged file is a SpanEdgesError."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SpanEdgesError(f"span edges {path} are missing: reinstall qa-service "
                             "or run `python training/span_edges.py`") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpanEdgesError(f"span edges {path} cannot be read ({exc}): reinstall qa-service "
                             "or run `python training/span_edges.py`") from exc
    if not isinstance(body, dict) or body.get("format") != SPAN_EDGES_FORMAT:
        raise SpanEdgesError(f"span edges {path} are not of format {SPAN_EDGES_FORMAT}")
    tables = []
    for side in ("leading", "trailing"):
        table = body.get(side)
        if not isinstance(table, dict) or not all(
                isinstance(token, str) and isinstance(cut, int) and 0 < cut < len(token)
                for token, cut in table.items()):
            raise SpanEdgesError(f"span edges {path}: '{side}' must map tokens to a number of "
                                 "characters shorter than the token")
        tables.append(table)
    return SpanEdges(*tables)
