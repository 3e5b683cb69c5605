"""An article's extractive summary, chosen once at build time: its lead, its section
headings and its key sentences, each a verbatim span at its offsets.

- The lead: the opening sentence(s) of the first body paragraph, where news articles
  say who did what, when (up to ``LEAD_CHARS``, at least one sentence); a notice's
  salutation (各县（市、区）人民政府：) is passed over.
- Section headings: heading paragraphs after the body begins that open body text. A
  title before the body, or headings of other articles printed at a page's foot (a
  heading followed by a heading or a caption), are not sections.
- Key sentences: lexical TextRank. Sentences are compared by the TF-IDF of their
  character bigrams (Chinese needs no segmenter for this), PageRank over that similarity
  graph ranks them (networkx), and the best are taken while they say something new (a
  sentence too similar to one already taken is passed over: maximal marginal relevance).

Lexical, not the chunk vectors: it needs no model, so it costs milliseconds per article
and gives the same summary wherever it runs (builds reuse a stored summary while the
article's content hash is unchanged, index/build.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from .chunking import split_sentences
from .ingest import Article

SummaryKind = Literal["lead", "heading", "key"]
LEAD_CHARS = 120  # the lead's sentences stop once they hold this many characters
KEY_SENTENCES = 3
MIN_KEY_CHARS = 15  # shorter sentences (datelines, 据介绍。) say nothing alone
MAX_OVERLAP = 0.5  # a key sentence this similar to one taken already is passed over


@dataclass(frozen=True)
class SummaryPart:
    kind: SummaryKind
    paragraph: int
    char_start: int
    char_end: int

    def to_row(self) -> list:
        return [self.kind, self.paragraph, self.char_start, self.char_end]

    @classmethod
    def from_row(cls, row: list) -> SummaryPart:
        return cls(row[0], int(row[1]), int(row[2]), int(row[3]))


def summarize(article: Article, key_sentences: int = KEY_SENTENCES) -> list[SummaryPart]:
    """The lead, section headings and key sentences of ``article``, in text order."""
    text, paragraphs = article.text, article.paragraphs
    body = [p for p in paragraphs if p.kind == "body"]
    if not body:
        return []
    parts: list[SummaryPart] = []
    first = body[0]
    if len(body) > 1 and _salutation(text[first.start : first.end]):
        first = body[1]  # 各县（市、区）人民政府： is who a notice is for, not what it says
    taken = 0
    for start, end in split_sentences(text, first.start, first.end):
        if taken >= LEAD_CHARS:
            break
        parts.append(SummaryPart("lead", first.index, start, end))
        taken += end - start
    for i, p in enumerate(paragraphs):
        opens_body = i + 1 < len(paragraphs) and paragraphs[i + 1].kind == "body"
        if p.kind == "heading" and p.start > first.start and opens_body:
            parts.append(SummaryPart("heading", p.index, p.start, p.end))
    lead_end = max(part.char_end for part in parts if part.kind == "lead")
    candidates = [(p.index, start, end) for p in body for start, end in split_sentences(text, p.start, p.end)
                  if start >= lead_end and end - start >= MIN_KEY_CHARS]
    for paragraph, start, end in _key_sentences(text, candidates, key_sentences):
        parts.append(SummaryPart("key", paragraph, start, end))
    return sorted(parts, key=lambda part: part.char_start)


def _salutation(paragraph: str) -> bool:
    """A paragraph naming whom a notice addresses: one line ending in a colon, no sentence."""
    line = paragraph.strip()
    return line.endswith(("：", ":")) and not any(mark in line for mark in "。！？!?")


def _key_sentences(text: str, candidates: list[tuple[int, int, int]],
                   count: int) -> list[tuple[int, int, int]]:
    """The ``count`` most central candidates by TextRank, none too like another."""
    if len(candidates) <= count:
        return candidates
    sentences = [text[start:end] for _, start, end in candidates]
    vectors = TfidfVectorizer(analyzer="char", ngram_range=(2, 2)).fit_transform(sentences)
    similarity = (vectors @ vectors.T).toarray()
    np.fill_diagonal(similarity, 0.0)
    ranks = nx.pagerank(nx.from_numpy_array(similarity))
    chosen: list[int] = []
    for i in sorted(ranks, key=lambda k: -ranks[k]):
        if all(similarity[i, j] < MAX_OVERLAP for j in chosen):
            chosen.append(i)
        if len(chosen) == count:
            break
    return [candidates[i] for i in sorted(chosen)]
