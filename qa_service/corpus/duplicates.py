"""Republished copies: the same article printed by several outlets, found at every build.

Reprints differ in headline, byline and a few characters, so exact hashes miss them.
Each article's body (its body paragraphs, without headline, byline or captions; NFKC,
traditional → simplified, only letters and digits) is cut into character 5-grams and
hashed into a MinHash (datasketch, 128 permutations); locality-sensitive hashing finds
candidate pairs, and a pair is a copy when the Jaccard similarity of their 5-gram sets,
computed exactly, is at least ``COPY_JACCARD``. Copies are grouped transitively.

Each group keeps one canonical article, the one cited: an article whose front matter
marks it official (`official: true`), else the earliest by the date it states, else the
first by file path. The others keep their place in the article list but are not chunked
or embedded: searching finds each passage once, and the answer lists them (同文另见).
Grouping is recomputed over all articles at every build, so adding or removing a copy,
or its canonical, regroups correctly; only the signatures' hashing is repeated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .dates import STATED_DATE_SOURCES
from .ingest import Article
from .normalize import normalize_text

SHINGLE = 5
NUM_PERM = 128
COPY_JACCARD = 0.7  # measured on republished CMRC paragraphs (benchmarks/duplicates.py)
MIN_CHARS = 50  # a shorter body (a notice, a caption) is not matched: too little to tell
_NOT_TEXT = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Candidate:
    """What grouping needs of an article."""

    id: str
    body: str
    date: str | None  # a date the article states (None: unknown or the file's time)
    official: bool
    path: str


def shingles(body: str) -> set[str]:
    text = _NOT_TEXT.sub("", normalize_text(body))
    return {text[i : i + SHINGLE] for i in range(max(len(text) - SHINGLE + 1, 0))}


class _Groups:
    """Union-find over article positions."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)


def copy_groups(articles: Sequence[Candidate]) -> dict[str, str]:
    """Article id -> the id of the canonical article it is a copy of (canonical articles
    and articles without copies are not in it)."""
    from datasketch import MinHash, MinHashLSH

    sets = [shingles(a.body) if len(a.body) >= MIN_CHARS else set() for a in articles]
    usable = [i for i, s in enumerate(sets) if s]
    if len(usable) < 2:
        return {}
    # Bands tuned for the threshold; the exact Jaccard below decides, so LSH only needs recall.
    lsh = MinHashLSH(threshold=COPY_JACCARD - 0.2, num_perm=NUM_PERM)
    signatures = MinHash.bulk([[s.encode() for s in sets[i]] for i in usable], num_perm=NUM_PERM)
    union = _Groups(len(articles))
    for i, signature in zip(usable, signatures, strict=True):
        for j in map(int, lsh.query(signature)):
            a, b = sets[i], sets[j]
            if len(a & b) >= COPY_JACCARD * len(a | b):
                union.join(i, j)
        lsh.insert(str(i), signature)
    groups: dict[int, list[int]] = {}
    for i in usable:
        groups.setdefault(union.find(i), []).append(i)
    canonical_of: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        first = min(members, key=lambda i: _precedence(articles[i]))
        canonical_of.update({articles[i].id: articles[first].id for i in members if i != first})
    return canonical_of


def _precedence(article: Candidate) -> tuple:
    # Official first; then dated before undated, earliest first; then by path.
    return (not article.official, article.date is None, article.date or "", article.path)


def mark_copies(articles: list[Article]) -> None:
    """Set ``copy_of`` on every article that republishes another."""
    candidates = [Candidate(a.id, "\n".join(a.text[p.start : p.end] for p in a.paragraphs
                                          if p.kind == "body"),
                            a.date if a.date_source in STATED_DATE_SOURCES else None, a.official,
                            f"{a.file}#{i:06d}")
                  for i, a in enumerate(articles)]
    canonical_of = copy_groups(candidates)
    for article in articles:
        article.copy_of = canonical_of.get(article.id)
