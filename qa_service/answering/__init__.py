"""A question to an answer: question normalisation, dense and lexical search fused into
ranked passages, the reader's short answer and the sentence that holds it, "not found",
follow-ups, and the ``Retriever`` that renders it all as the answer JSON. Imports ``index``
and the layers below it."""

from .answer import AnswerSettings, Sentence
from .outcome import Outcome, evidence_of
from .question import QuestionError, normalize_question
from .reading import ReaderSettings, SpanAnswer, load_configured_reader
from .retrieval import NOT_FOUND_MESSAGE, Retriever
from .search import MODES, Hit, Mode, SearchSettings, lexical_weight
from .timeframe import Filters, TimeParser, TimeRange

__all__ = [
    "MODES",
    "NOT_FOUND_MESSAGE",
    "AnswerSettings",
    "Filters",
    "Hit",
    "Mode",
    "Outcome",
    "QuestionError",
    "ReaderSettings",
    "Retriever",
    "SearchSettings",
    "Sentence",
    "SpanAnswer",
    "TimeParser",
    "TimeRange",
    "evidence_of",
    "lexical_weight",
    "load_configured_reader",
    "normalize_question",
]
