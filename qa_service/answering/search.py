"""Candidate passages for a question: dense, lexical, or both fused, then de-duplicated.

Fusion mixes scores: the dense cosine min-max normalised over its candidates, and BM25
relative to the best BM25 hit. On CMRC 2018 this beat reciprocal rank fusion on dev and
trial alike (benchmarks/retrieval.py). The lexical share is scaled by how much of the
question is written in Chinese characters: an English question shares no tokens worth
having with Chinese articles, and fusing with that noise would pull a strong dense hit
down (the measured failure of plain RRF with a weak list).
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..corpus import normalize_text
from ..index import LoadedIndex, StoredChunk

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class SearchSettings:
    depth: int = 50  # candidates taken from each list before fusing
    lexical_share: float = 0.6  # measured on CMRC 2018 dev, confirmed on trial


@dataclass
class Hit:
    chunk: StoredChunk
    score: float  # the ranking score of the mode used
    dense: float | None  # cosine of question and passage, when the dense side saw it


def lexical_weight(question: str) -> float:
    letters = _LETTER.findall(normalize_text(question))
    if not letters:
        return 0.0
    return sum(1 for ch in letters if _CJK.match(ch)) / len(letters)


def fuse(dense: dict[int, float], lexical: dict[int, float], lexical_share: float) -> dict[int, float]:
    fused: dict[int, float] = {}
    if dense:
        high, low = max(dense.values()), min(dense.values())
        for chunk_id, score in dense.items():
            fused[chunk_id] = (1 - lexical_share) * (score - low) / max(high - low, 1e-9)
    if lexical and lexical_share > 0:
        best = max(lexical.values())
        for chunk_id, score in lexical.items():
            fused[chunk_id] = fused.get(chunk_id, 0.0) + lexical_share * score / best
    return fused


def diversify(hits: list[Hit], max_covered: float = 0.5) -> list[Hit]:
    """Drop near-copies: hits whose text is mostly inside better hits of the same article.

    Neighbouring chunks share one short sentence and are kept (the rest of their text is
    new); a chunk that repeats what is already shown is not.
    """
    kept: list[Hit] = []
    for hit in hits:
        c = hit.chunk
        covered = sum(
            max(0, min(c.char_end, k.chunk.char_end) - max(c.char_start, k.chunk.char_start))
            for k in kept if k.chunk.article_id == c.article_id
        )
        if covered <= max_covered * (c.char_end - c.char_start):
            kept.append(hit)
    return kept


def search(index: LoadedIndex, question: str, query_vector: np.ndarray, mode: Mode,
           settings: SearchSettings | None = None, timings: dict[str, float] | None = None,
           exclude: Collection[int] = (), allowed: np.ndarray | None = None) -> list[Hit]:
    """Ranked, de-duplicated hits for ``question`` (best first).

    The lexical side also looks for the other terms of the official-vocabulary groups the
    question's words belong to (市委一把手 → 市委书记). ``allowed`` chunk ids, when given,
    are the only ones searched (filters by date or source).

    ``timings``, when given, receives the seconds spent in each step (benchmarks).
    ``exclude`` chunk ids are searched as if they were not in the corpus: they are taken
    out before fusion, so they do not set the scale the other candidates are scored on
    (benchmarks make questions unanswerable this way).
    """
    settings = settings or SearchSettings()
    clock = time.perf_counter()
    dense: dict[int, float] = {}
    if mode in ("hybrid", "dense"):
        scores, ids = index.vectors.search(query_vector.reshape(1, -1), settings.depth, allowed)
        dense = {int(i): float(s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0}
    after_dense = time.perf_counter()
    lexical: dict[int, float] = {}
    if mode in ("hybrid", "lexical"):
        widened = " ".join([question, *index.vocabulary.expansions(question)])
        lex_scores, lex_ids = index.lexical.search(widened, settings.depth, allowed)
        lexical = {int(i): float(s) for i, s in zip(lex_ids, lex_scores, strict=True)}
    after_lexical = time.perf_counter()
    for chunk_id in exclude:
        dense.pop(chunk_id, None)
        lexical.pop(chunk_id, None)

    if mode == "dense":
        ranking = dense
    elif mode == "lexical":
        ranking = lexical
    else:
        ranking = fuse(dense, lexical, settings.lexical_share * lexical_weight(question))
    ordered = sorted(ranking, key=lambda cid: -ranking[cid])
    stored = index.store.get_chunks(ordered)
    hits = diversify([Hit(stored[cid], ranking[cid], dense.get(cid)) for cid in ordered if cid in stored])
    if timings is not None:
        timings["dense"] = after_dense - clock
        timings["lexical"] = after_lexical - after_dense
        timings["fusion"] = time.perf_counter() - after_lexical
    return hits
