"""What one search made of a question: its passages, their best sentences, the reader's
spans and the evidence "found" is decided on without the reader; and reordering all of
them together when the passages move."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .answer import Sentence
from .reading import SpanAnswer
from .search import Hit
from .timeframe import TimeRange


@dataclass
class Outcome:
    query: str
    hits: list[Hit]
    best: list[Sentence | None] = field(default_factory=list)  # per passage
    answer: Sentence | None = None
    confidence: float = 0.0  # cosine of the question and the best answer sentence
    background: float | None = None  # mean cosine of the passages ranked 6th to 30th
    # Hybrid only: the top passage's fused score (1.0 when dense and lexical search both
    # rank it first; for an English question only dense search counts) and its lead over
    # the next passage.
    top_score: float | None = None
    top_lead: float | None = None
    evidence: float | None = None  # what "found" is decided on without a reader; see evidence_of
    spans: list[SpanAnswer] = field(default_factory=list)  # the reader's, surest first
    time_range: TimeRange | None = None  # the question's time, as used (timeframe.py)
    older: list[SpanAnswer] = field(default_factory=list)  # older articles' other answers

    @property
    def short(self) -> SpanAnswer | None:
        """The reader's answer: the span of the passage it is surest of."""
        return self.spans[0] if self.spans else None

    @property
    def margin(self) -> float | None:
        """How far the best sentence stands out from the question's background similarity."""
        return None if self.background is None else self.confidence - self.background


def evidence_of(margin: float | None, top_score: float | None, top_lead: float | None,
                weights: Mapping[str, float]) -> float | None:
    """The cosine margin plus the fused-ranking terms, weighted as calibrated for the model.

    None where the index has no background for the question, or where the weights need
    fused scores and the question was not asked in hybrid mode: the cosine decides then.
    """
    if margin is None or not weights:
        return margin
    if top_score is None or top_lead is None:
        return None
    return margin + weights.get("top_score", 0.0) * top_score + weights.get("top_lead", 0.0) * top_lead


def reorder(outcome: Outcome, order: list[int]) -> None:
    """Keep the hits at ``order`` (old indexes, all or some of them) in that order,
    renumbering every rank that points at them; what pointed at a dropped hit goes."""
    new_rank = {old + 1: new for new, old in enumerate(order, start=1)}
    best = outcome.best + [None] * (len(outcome.hits) - len(outcome.best))
    outcome.hits = [outcome.hits[i] for i in order]
    outcome.best = [_reranked(best[i], new_rank[i + 1]) for i in order]
    if outcome.answer is not None:
        rank = new_rank.get(outcome.answer.passage_rank)
        outcome.answer = None if rank is None else replace(outcome.answer, passage_rank=rank)
    outcome.spans = [replace(s, passage_rank=new_rank[s.passage_rank]) for s in outcome.spans
                     if s.passage_rank in new_rank]
    outcome.older = [replace(s, passage_rank=new_rank[s.passage_rank]) for s in outcome.older
                     if s.passage_rank in new_rank]


def _reranked(sentence: Sentence | None, rank: int) -> Sentence | None:
    return None if sentence is None else replace(sentence, passage_rank=rank)
