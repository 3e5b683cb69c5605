"""The answering sentence: a verbatim span of an article, chosen among the top passages.

Each sentence of the first few passages is scored by its embedding's cosine with the
question (sentence vectors are computed at build time, so this costs no encoding), by
the question's words and character bigrams it contains (weighted by how rare they are
among the candidates), by the rank of its passage, and by whether it holds a number
when the question asks for one. Nothing is generated: the answer is always article text at its offsets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..index import LoadedIndex, SentenceSpan, tokenize
from .search import Hit


@dataclass(frozen=True)
class AnswerSettings:
    passages: int = 3  # passages whose sentences compete for the answer
    # Weights measured on CMRC 2018 dev (benchmarks/retrieval.py), checked on trial.
    term_weight: float = 1.5
    rank_penalty: float = 0.1
    number_bonus: float = 0.1
    min_chars: int = 12  # a shorter best sentence is joined with its neighbour


@dataclass(frozen=True)
class Sentence:
    passage_rank: int  # 1-based rank of the passage it was taken from
    article_id: str
    paragraph: int
    char_start: int
    char_end: int
    text: str
    score: float
    similarity: float  # cosine with the question


_ASKS_NUMBER = re.compile(r"多少|几|哪一?年|何时|什么时候|哪天|多大|多长|多高|多重|多久|多远|第几|"
                          r"how (?:many|much|long|old)|when|what year", re.IGNORECASE)
_HAS_NUMBER = re.compile(r"[0-9零一二三四五六七八九十百千万亿两]")


def question_terms(question: str) -> set[str]:
    """Words and character bigrams; single characters only if there is nothing longer."""
    tokens = set(tokenize(question))
    longer = {t for t in tokens if len(t) > 1}
    return longer or tokens


def weighted_overlap(terms: set[str], candidates: list[set[str]]) -> list[float]:
    """Share of the question's terms in each candidate, each term weighted by its rarity
    among the candidates: a term every sentence has tells nothing about which answers."""
    n = len(candidates)
    weights = {t: math.log((n + 1) / (sum(t in c for c in candidates) + 0.5)) for t in terms}
    total = sum(w for w in weights.values() if w > 0) or 1.0
    return [sum(max(weights[t], 0.0) for t in terms & c) / total for c in candidates]


# The vectors of sentences (spans, texts), one row each, unit length.
SentenceVectors = Callable[[list[SentenceSpan], list[str]], np.ndarray]


def score_sentences(index: LoadedIndex, question: str, query_vector: np.ndarray, hits: list[Hit],
                    settings: AnswerSettings, vectors_of: SentenceVectors | None) -> list[list[Sentence]]:
    """Scored sentences of each of the first ``settings.passages`` hits, in text order.

    Without ``vectors_of`` (the reader answers) a sentence is scored on the question's
    words alone and its similarity is 0: it only marks the passage's likeliest sentence.
    """
    found: list[tuple[int, Hit, SentenceSpan, str]] = []
    for rank, hit in enumerate(hits[: settings.passages], start=1):
        chunk = hit.chunk
        for span in index.store.sentences_within(chunk.article_id, chunk.char_start, chunk.char_end):
            text = chunk.text[span.char_start - chunk.char_start : span.char_end - chunk.char_start]
            found.append((rank, hit, span, text))
    per_passage: list[list[Sentence]] = [[] for _ in hits[: settings.passages]]
    if not found:
        return per_passage
    if vectors_of is None:
        similarities = np.zeros(len(found), dtype=np.float32)
    else:
        vectors = np.asarray(vectors_of([f[2] for f in found], [f[3] for f in found]), dtype=np.float32)
        similarities = vectors @ query_vector.reshape(-1)
    overlaps = weighted_overlap(question_terms(question), [set(tokenize(f[3])) for f in found])
    asks_number = bool(_ASKS_NUMBER.search(question))
    for (rank, _hit, span, text), similarity, overlap in zip(found, similarities, overlaps, strict=True):
        score = (float(similarity) + settings.term_weight * overlap
                 - settings.rank_penalty * (rank - 1)
                 + (settings.number_bonus if asks_number and _HAS_NUMBER.search(text) else 0.0))
        per_passage[rank - 1].append(Sentence(rank, span.article_id, span.paragraph, span.char_start,
                                              span.char_end, text, score, float(similarity)))
    return per_passage


def best_of(sentences: list[Sentence], hit: Hit, settings: AnswerSettings) -> Sentence | None:
    """The passage's best sentence, joined with a neighbour when it is too short alone."""
    if not sentences:
        return None
    i = max(range(len(sentences)), key=lambda k: sentences[k].score)
    best = sentences[i]
    if len(best.text.strip()) >= settings.min_chars or len(sentences) == 1:
        return best
    j = i + 1 if i + 1 < len(sentences) else i - 1
    first, second = sorted((best, sentences[j]), key=lambda s: s.char_start)
    chunk = hit.chunk
    text = chunk.text[first.char_start - chunk.char_start : second.char_end - chunk.char_start]
    return Sentence(best.passage_rank, best.article_id, first.paragraph, first.char_start,
                    second.char_end, text, best.score, best.similarity)
