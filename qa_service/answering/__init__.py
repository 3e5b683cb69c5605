"""A question to an answer: question normalisation, dense and lexical search fused into
ranked passages, the answer within them, "not found", follow-ups, and the ``Retriever``
that renders it all as the answer JSON. Imports ``index`` and the layers below it."""

from .answer import AnswerSettings, Sentence
from .retrieval import (
    NOT_FOUND_MESSAGE,
    Outcome,
    QuestionError,
    Retriever,
    evidence_of,
    normalize_question,
)
from .search import MODES, Hit, Mode, SearchSettings, lexical_weight

__all__ = [
    "MODES",
    "NOT_FOUND_MESSAGE",
    "AnswerSettings",
    "Hit",
    "Mode",
    "Outcome",
    "QuestionError",
    "Retriever",
    "SearchSettings",
    "Sentence",
    "evidence_of",
    "lexical_weight",
    "normalize_question",
]
