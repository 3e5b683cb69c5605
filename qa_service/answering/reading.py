"""The short answer: the reader's exact span in the top passages, and the sentence around it.

The reader (models/reader.py) reads the question with each of the first few passages of
the hybrid search and points at the best span of each, with the probability that the
passage answers the question at all. The answer is the span of the passage the reader is
surest of; "found" is that probability against a threshold measured for the shipped
weights (benchmarks/answers.py --write-calibration), and the confidence shown to users is
the same probability, scaled to how often such answers were right when it was measured.
Everything stays verbatim: offsets are the tokenizer's, mapped into the article.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..config import NO_READER
from ..index import LoadedIndex
from ..models import (
    READER_WEIGHTS,
    PassageReader,
    ReaderError,
    load_reader,
    materialize_builtin_model,
    reader_calibration,
    resolve_precision,
    weights_digest,
)
from .search import Hit, lexical_weight


@dataclass(frozen=True)
class ReaderSettings:
    """How the reader's findings become "found" and a confidence.

    "Found" is decided on the evidence of a span: logit(has-answer) plus, where the
    calibration measured that it helps, ``dense_weight`` × (the question's cosine with the
    passage − ``dense_center``). The reader alone cannot tell a passage on another subject
    apart from one on the subject that does not say the answer as well as it tells either
    from an answering passage; the cosine separates the first kind (benchmarks/answers.py
    calibrates on both kinds).
    """

    # Passages read per question: the first alone, and the next ones only when the reader
    # finds no answer in it (most questions are answered by the first passage, and each
    # passage read costs ~40 ms on two idle cores, ~66 ms on one; benchmarks/answers.py).
    passages: int = 3
    # The evidence a found answer needs. Without a measured calibration: the has-answer
    # head's own decision boundary (logit 0.5 = 0) and no cosine term.
    min_evidence: float = 0.0
    # Logistic scaling of the evidence into P(answer right): (slope, intercept).
    platt: tuple[float, float] = (1.0, 0.0)
    dense_weight: float = 0.0
    dense_center: float = 0.0
    # The same for questions written mostly in Latin letters: the reader is much less
    # sure of English questions over Chinese text, so one threshold for both would
    # either reject most English questions or keep most unanswerable Chinese ones.
    latin_min_evidence: float = 0.0
    latin_platt: tuple[float, float] = (1.0, 0.0)
    latin_dense_weight: float = 0.0

    @classmethod
    def from_calibration(cls, entry: dict | None, passages: int = 3) -> ReaderSettings:
        if not entry:
            return cls(passages=passages)
        latin = entry.get("latin", entry)
        return cls(passages=passages, min_evidence=_min_evidence(entry), platt=_pair(entry.get("platt")),
                   dense_weight=float(entry.get("dense_weight", 0.0)),
                   dense_center=float(entry.get("dense_center", 0.0)),
                   latin_min_evidence=_min_evidence(latin), latin_platt=_pair(latin.get("platt")),
                   latin_dense_weight=float(latin.get("dense_weight", 0.0)))

    def evidence(self, has_answer: float, question: str = "", similarity: float | None = None) -> float:
        """logit(has-answer), plus the weighted cosine of question and passage where known."""
        weight = self.latin_dense_weight if is_latin(question) else self.dense_weight
        term = 0.0 if similarity is None else weight * (similarity - self.dense_center)
        return _logit(has_answer) + term

    def accepts(self, has_answer: float, question: str = "", similarity: float | None = None) -> bool:
        """Whether a span with this has-answer score, in a passage with this cosine, is a
        found answer to the question."""
        evidence = self.evidence(has_answer, question, similarity)
        return evidence >= (self.latin_min_evidence if is_latin(question) else self.min_evidence)

    def found(self, span: SpanAnswer | None, question: str) -> bool:
        return span is not None and self.accepts(span.has_answer, question, span.similarity)

    def probability(self, has_answer: float, question: str = "", similarity: float | None = None) -> float:
        """How likely a span with this evidence is the right answer, as calibrated."""
        slope, intercept = self.latin_platt if is_latin(question) else self.platt
        evidence = self.evidence(has_answer, question, similarity)
        return 1.0 / (1.0 + math.exp(-(slope * evidence + intercept)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _min_evidence(entry: dict) -> float:
    """The evidence threshold of a calibration entry; entries from before the cosine term
    give a has-answer probability instead."""
    if "min_evidence" in entry:
        return float(entry["min_evidence"])
    return _logit(float(entry.get("min_has_answer", 0.5)))


def is_latin(question: str) -> bool:
    """Written mostly in Latin letters (an English question), by the share of Chinese."""
    return bool(question) and lexical_weight(question) < 0.5


_SHOUTED = re.compile(r"\b[A-Z]{2,}\b")


def unshouted(question: str) -> str:
    """An English question as the reader reads it: words in capitals lower-cased (the
    first word capitalised).

    The reader learned English from questions as people write them: typed in capitals,
    XQuAD's English test questions fell from EM 54.1 to 43.0 and their median has-answer
    from 0.95 to 0.65, so most would be "not found"; read this way, 53.4 and 0.95. The
    acronyms it lower-cases in ordinary questions (NFL, GDP) cost nothing measurable
    (54.1 either way). Chinese questions keep their capitals: 的GDP is written so in the
    passages they are read with.
    """
    if not is_latin(question):
        return question
    return _SHOUTED.sub(lambda m: m.group().capitalize() if m.start() == 0 else m.group().lower(), question)


# A question's final punctuation, which the reader's copy replaces with a question mark.
_FINAL_PUNCTUATION = re.compile(r"[\s?？.。!！…]+$")


def with_question_mark(question: str) -> str:
    """The question ending in a question mark, as the reader learned questions.

    Typed without one, as people do in a chat, questions read worse: on XQuAD's test
    half Chinese questions fell from EM 59.9 to 58.3 and median has-answer from 0.915 to
    0.895 (English 54.1 to 52.1, 0.949 to 0.933), so more right answers fell under the
    not-found threshold; with the mark added again, 59.6 / 0.915 and 53.4 / 0.949. Ended
    with a full stop instead, they read as badly (EM 58.0; English 51.1), so a final
    。 . ! … gives way to the mark too.
    """
    bare = _FINAL_PUNCTUATION.sub("", question)
    if not bare:
        return question
    return bare + ("?" if is_latin(bare) else "？")


def reader_wording(question: str) -> str:
    """The question as the reader reads it: capitals of an English one lower-cased, and
    ending in a question mark."""
    return with_question_mark(unshouted(question))


def _pair(values: object) -> tuple[float, float]:
    slope, intercept = values if isinstance(values, list | tuple) else (1.0, 0.0)
    return float(slope), float(intercept)


@dataclass(frozen=True)
class SpanAnswer:
    """The reader's answer in one passage, in article coordinates."""

    passage_rank: int  # 1-based rank of the passage in the search results
    article_id: str
    paragraph: int
    char_start: int
    char_end: int
    text: str
    has_answer: float  # the has-answer head's probability for this passage
    score: float  # start + end logits of the span
    sentence_start: int  # the sentence(s) that hold the span, article offsets
    sentence_end: int
    sentence: str
    read_as: str | None = None  # the question in the passage's words (vocabulary), if reworded
    similarity: float | None = None  # cosine of the question and the passage (dense search)


def load_configured_reader(reader_weights: str, model_cache: Path, precision: str = "auto",
                           threads: int = 0) -> tuple[PassageReader | None, ReaderSettings]:
    """The reader the settings name ("builtin", a weights file, or "none") with the
    calibration measured for exactly those weights; (None, defaults) for "none". It reads
    on at most ``threads`` torch threads (the QA_TORCH_THREADS setting; 0: every core).

    Missing or damaged weights raise models.ReaderError: a service that was asked for a
    reader does not quietly answer without one.
    """
    if reader_weights.strip().lower() in NO_READER:
        return None, ReaderSettings()
    weights = READER_WEIGHTS if reader_weights == "builtin" else Path(reader_weights)
    if not weights.is_file():  # before the base model is materialised: fail fast
        raise ReaderError(f"reader weights {weights} are missing: reinstall qa-service, run "
                          "`make train-reader`, or set QA_READER_WEIGHTS=none")
    reader = load_reader(materialize_builtin_model(model_cache), weights, resolve_precision(precision),
                         threads)
    return reader, ReaderSettings.from_calibration(reader_calibration(weights_digest(weights)))


def read_passages(reader: PassageReader, index: LoadedIndex, question: str, hits: list[Hit],
                  settings: ReaderSettings, read_all: bool = False) -> list[SpanAnswer]:
    """The reader's span in the first hit, and in the next ones up to ``settings.passages``
    when the first holds no answer (or ``read_all``); best first."""
    read = hits[: settings.passages]
    if not read:
        return []
    # Each passage is read with the question in its own words: an official-vocabulary
    # term the passage does not use is replaced by the one it does (一把手 → 书记).
    asked = [index.vocabulary.question_for(question, hit.chunk.text) for hit in read]
    reading = [reader_wording(wording) for wording in asked]
    similarity = passage_similarities(hits)[: len(read)]
    spans = reader.read(reading[0], [read[0].chunk.text])
    lead = spans[0]
    if len(read) > 1 and (read_all or lead is None
                          or not settings.accepts(lead.has_answer, question, similarity[0])):
        spans += reader.read_pairs(reading[1:], [hit.chunk.text for hit in read[1:]])  # one batch
    answers = []
    for rank, (hit, span, wording) in enumerate(zip(read, spans, asked, strict=False), start=1):
        if span is None or span.char_end <= span.char_start:
            continue
        chunk = hit.chunk
        first, last = trimmed(chunk.text, span.char_start, span.char_end)
        if last <= first:
            continue
        last = with_time_unit(chunk.text, first, with_asked_unit(question, chunk.text, first, last))
        start, end = chunk.char_start + first, chunk.char_start + last
        sentence_start, sentence_end = holding_sentence(index, chunk.article_id, chunk.char_start,
                                                        chunk.char_end, start, end)
        answers.append(SpanAnswer(
            rank, chunk.article_id, chunk.paragraph, start, end,
            chunk.text[first:last], span.has_answer, span.score,
            sentence_start, sentence_end,
            chunk.text[sentence_start - chunk.char_start : sentence_end - chunk.char_start],
            wording if wording != question else None, similarity[rank - 1]))
    # The passage the reader is surest holds the answer; the span score breaks ties.
    return sorted(answers, key=lambda a: (a.has_answer, a.score), reverse=True)


# Punctuation a span may not begin or end with: tokens glue an opening quote to the word
# after it (“巷长制), and a span may start at a line break. Pairs inside the span stay.
_LEADING = set(" \t\r\n\u3000“‘「『（(《〈【[,，.。;；:：、!！?？")
_TRAILING = set(" \t\r\n\u3000”’」』）)》〉】],，.。;；:：、!！?？")
_PAIRS = {"“": "”", "‘": "’", "「": "」", "『": "』", "（": "）", "(": ")", "《": "》", "〈": "〉",
          "【": "】", "[": "]"}


def passage_similarities(hits: list[Hit]) -> list[float | None]:
    """Each hit's cosine with the question. A passage only lexical search found lies below
    dense search's last candidate, so it gets that candidate's cosine (an upper bound)."""
    known = [h.dense for h in hits if h.dense is not None]
    floor = min(known) if known else None
    return [h.dense if h.dense is not None else floor for h in hits]


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without white space or punctuation at its edges, unless they pair up
    inside it (《清代图书事业发展史》 keeps its brackets)."""
    while start < end:
        head = text[start]
        if head in _PAIRS and _PAIRS[head] in text[start + 1 : end]:
            break
        if head in _LEADING:
            start += 1
            continue
        break
    while end > start:
        tail = text[end - 1]
        opener = next((o for o, c in _PAIRS.items() if c == tail), None)
        if opener is not None and opener in text[start : end - 1]:
            break
        if tail in _TRAILING:
            end -= 1
            continue
        break
    return start, end


_ASKED_AMOUNT = re.compile(r"(?:多少|几|\bhow (?:many|much)\b)", re.IGNORECASE)
# Measure words and units, optionally after 万/亿 (多少万元): what an amount is counted in.
_UNIT = re.compile(r"[万亿千百]?(?:平方公里|平方米|立方米|公里|千米|公斤|千克|公顷|小时|分钟|美元|千瓦|"
                   r"[个户人名位家项条次件台辆座所套间栋处只头棵株本册篇部份张架艘批起场届年月天周片支粒枚盒瓶箱"
                   r"秒岁元吨斤克米亩度倍层级期])|[万亿]")
_NUMBER_END = re.compile(r"[0-9０-９零〇一二三四五六七八九十百千万亿两余多]$")
_ABOUT = re.compile(r"[余多]")  # 30182余处: "more than", between a number and its unit
# The unit a passage gives an amount in (余立方米, 万人), where the question names none.
_GIVEN_UNIT = re.compile(rf"[余多]?(?:{_UNIT.pattern})")


def with_asked_unit(question: str, text: str, start: int, end: int) -> int:
    """The span's end, moved past the unit the question asks the amount in.

    The reader often stops at the number (`14880` of `14880户`); a user who asked
    多少户 or 几个 expects the unit. The question names it (the measure word after
    多少/几); where the passage repeats it right after the number (or after 余/多:
    `30182余处`), the span takes it, still a verbatim slice of the passage. A question
    that asks an amount without naming a unit (清走了多少陈年垃圾？) takes the unit the
    passage gives (`24万` → `24万余立方米`); one that names another unit than the passage's
    keeps the bare number, which may count something else.
    """
    unnamed = False
    for asked in _ASKED_AMOUNT.finditer(question):
        unit = _UNIT.match(question, asked.end())
        if unit is None:
            unnamed = True
            continue
        word = unit.group()
        # The span may hold the unit's beginning already (5万 of 5万元).
        for held in range(len(word) - 1, -1, -1):
            if not (text[start:end].endswith(word[:held]) and _NUMBER_END.search(text[start : end - held])):
                continue
            about = _ABOUT.match(text, end) if held == 0 else None
            after = about.end() if about else end
            if text.startswith(word[held:], after):
                return after + len(word) - held
    if unnamed and _NUMBER_END.search(text[start:end]):
        given = _GIVEN_UNIT.match(text, end)
        if given:
            return given.end()
    return end


_DATE_PART = re.compile(r"[年月]")
_DIGIT_END = re.compile(r"[0-9０-９]$")
_TIME_UNITS = "日时点号"


def with_time_unit(text: str, start: int, end: int) -> int:
    """The span's end, moved past the unit of a date or time it stops short of: the
    reader's `2020年2月22日24` of `2020年2月22日24时`, `10月10` of `10月10日`."""
    span = text[start:end]
    if end < len(text) and _DATE_PART.search(span) and _DIGIT_END.search(span) and text[end] in _TIME_UNITS:
        return end + 1
    return end


def holding_sentence(index: LoadedIndex, article_id: str, chunk_start: int, chunk_end: int,
                     start: int, end: int) -> tuple[int, int]:
    """Article offsets of the sentences a span lies in (a long list may cross several),
    kept within the chunk; the span itself where the store has no sentences for it."""
    overlapping = [s for s in index.store.sentences_within(article_id, chunk_start, chunk_end)
                   if s.char_start < end and s.char_end > start]
    if not overlapping:
        return start, end
    return (min(min(s.char_start for s in overlapping), start),
            max(max(s.char_end for s in overlapping), end))
