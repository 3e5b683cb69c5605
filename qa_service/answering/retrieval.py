"""Answer a question against a loaded index: passages, the reader's short answer and the
sentence around it, "not found"."""

from __future__ import annotations

import time
from collections.abc import Collection
from datetime import date

import numpy as np

from ..index import LoadedIndex, check_model
from ..models import Encoder, PassageReader
from .answer import AnswerSettings, SentenceVectors, best_of, score_sentences
from .answer_json import add_shape, passages_json, span_json
from .ellipsis import names, restatements
from .outcome import Outcome, evidence_of, reorder
from .question import has_words, normalize_question
from .quoted import scope_to_titles
from .reading import ReaderSettings, SpanAnswer, is_latin, read_passages
from .search import Mode, SearchSettings, search
from .shape import QuestionShape, shape_of
from .shaping import ShapedAnswer, shape_answer
from .timeframe import Filters, TimeParser, TimeRange, newest_first, prefer_range, stated_range

NOT_FOUND_MESSAGE = "没有在文章中找到可靠的答案。以下是最接近的段落，仅供参考。"
NO_ARTICLE_TO_SUMMARIZE = "没有找到要概括的文章，请在《》中写出文章标题。以下是最接近的段落，仅供参考。"
NO_BYLINE = "这篇文章没有署名，文中没有写明作者。以下是最接近的段落，仅供参考。"
NOTHING_TO_SEARCH = "问题中没有可以查找的文字。/ The question has no words to search for."
NO_ARTICLE_PASSES = "没有符合筛选条件（日期、来源）的文章。/ No article matches the date or source filters."
MAX_HISTORY = 10
# The background a best sentence must stand out from: the dense cosines of the passages
# ranked 6th to 30th. Fewer than MIN_BACKGROUND of them (a tiny corpus) is no background.
BACKGROUND_RANKS = slice(5, 30)
MIN_BACKGROUND = 5


class Retriever:
    def __init__(self, index: LoadedIndex, encoder: Encoder,
                 search_settings: SearchSettings | None = None,
                 answer_settings: AnswerSettings | None = None,
                 followup_margin: float = 0.04,
                 reader: PassageReader | None = None,
                 reader_settings: ReaderSettings | None = None,
                 time_parser: TimeParser | None = None) -> None:
        check_model(index, encoder)
        self.index = index
        self.encoder = encoder
        self.search_settings = search_settings or SearchSettings()
        self.answer_settings = answer_settings or AnswerSettings()
        self.followup_margin = followup_margin
        self.reader = reader
        self.reader_settings = reader_settings or ReaderSettings()
        self.time_parser = time_parser or TimeParser()

    @property
    def min_confidence(self) -> float:
        return self.index.min_confidence

    def is_found(self, outcome: Outcome) -> bool:
        """Whether the answer is trusted, by the thresholds calibrated for the model.

        e5 similarities sit in a narrow band whose level depends on the question (English
        questions score lower against Chinese text, general ones higher), so the measure
        is how far the best sentence stands out from the passages further down, plus how
        clearly dense and lexical search agree on the top passage (evidence_of). Where
        there is no evidence (tiny corpus, lexical mode, or dense mode once the model has
        evidence weights) the absolute similarity is used.
        """
        if self.reader is not None:
            # The reader read the question with the passages: its has-answer probability,
            # measured against the threshold calibrated for its weights, decides.
            return self.reader_settings.found(outcome.short, outcome.query)
        if outcome.answer is None:
            return False
        min_evidence, evidence = self.index.min_evidence, outcome.evidence
        if min_evidence is not None and evidence is not None:
            return evidence >= min_evidence
        return outcome.confidence >= self.min_confidence

    def run(self, query: str, mode: Mode = "hybrid", exclude: Collection[int] = (),
            vector: np.ndarray | None = None, timings: dict[str, float] | None = None,
            read_as: str | None = None, allowed: np.ndarray | None = None,
            when: TimeRange | None = None) -> Outcome:
        """Search and choose the answer for an already normalised query.

        ``exclude`` chunk ids are treated as absent from the corpus (benchmarks use it to
        take a question's own paragraph away and make it unanswerable). ``timings``
        receives the seconds of each step: encode, dense, lexical, fusion, answer, read.
        ``read_as`` is the question the reader reads, where it differs from the query
        searched (a follow-up searched together with the question before it). ``allowed``
        chunk ids are the only ones searched (filters); passages of ``when``'s articles are
        preferred.
        """
        clock = time.perf_counter()
        if vector is None:
            vector = self.encoder.encode_queries([query])[0]
        if timings is not None:
            timings["encode"] = time.perf_counter() - clock
        hits = search(self.index, query, vector, mode, self.search_settings, timings, exclude, allowed)
        clock = time.perf_counter()
        if when is not None:
            hits, when = prefer_range(hits, when, self.time_parser)
        outcome = Outcome(query, hits, time_range=when)
        per_passage = score_sentences(self.index, query, vector, hits, self.answer_settings,
                                      self._sentence_vectors())
        outcome.best = [best_of(s, h, self.answer_settings) for s, h in zip(per_passage, hits, strict=False)]
        candidates = [s for s in outcome.best if s is not None]
        if candidates:
            outcome.answer = max(candidates, key=lambda s: s.score)
            # The absolute level; is_found prefers how far it stands out (evidence).
            outcome.confidence = max(s.similarity for s in candidates)
        if self.reader is None:  # with the reader, its has-answer head decides instead
            dense = sorted((h.dense for h in hits if h.dense is not None), reverse=True)[BACKGROUND_RANKS]
            if len(dense) >= MIN_BACKGROUND:
                outcome.background = float(np.mean(dense))
            if mode == "hybrid" and hits:
                outcome.top_score = hits[0].score
                outcome.top_lead = hits[0].score - (hits[1].score if len(hits) > 1 else 0.0)
            outcome.evidence = evidence_of(outcome.margin, outcome.top_score, outcome.top_lead,
                                           self.index.evidence_weights)
        if timings is not None:
            timings["answer"] = time.perf_counter() - clock
        if self.reader is not None:
            clock = time.perf_counter()
            self._read(outcome, read_as or query)
            if timings is not None:
                timings["read"] = time.perf_counter() - clock
        return outcome

    def _needs_context(self, outcome: Outcome) -> bool:
        """Whether a question alone is too weak, so that the conversation before it is
        tried: the reader found no answer; without the reader, its best sentence's cosine
        is below the level the trigger was measured at (bulletin follow-ups 10/10, no
        hijack)."""
        if self.reader is not None:
            return not self.is_found(outcome)
        return outcome.confidence < self.min_confidence + self.followup_margin

    def _sentence_vectors(self) -> SentenceVectors | None:
        """Where the sentence cosines come from: none with the reader (it reads the
        passages; the question's words pick the sentence to mark in the others); without
        it the index's sentence vectors, or, for an index built for the reader without
        them, the sentences of the passages read embedded now (slower, the same answers)."""
        if self.reader is not None:
            return None
        stored = self.index.sentence_vectors
        if stored is not None:
            return lambda spans, texts: np.asarray(stored[[s.id for s in spans]], dtype=np.float32)
        return lambda spans, texts: self.encoder.encode_passages(texts)

    def _read(self, outcome: Outcome, question: str) -> None:
        """The reader's spans, surest first; the passage that holds a found answer moves to
        the top, the others keep their search order."""
        store = self.index.store
        captions = [store.is_caption(h.chunk) for h in outcome.hits]
        if any(captions) and not all(captions):
            # Photo captions are read after every body passage: a caption answers only
            # where no body passage does.
            reorder(outcome, sorted(range(len(outcome.hits)), key=lambda i: captions[i]))
        # Passages of differently dated articles are all read: the newest answer is
        # preferred, and an older one that says something else is shown beside it.
        ahead = outcome.hits[: self.reader_settings.passages]
        dates = {stated_range(h) for h in ahead} - {None}
        spans = read_passages(self.reader, self.index, question,  # type: ignore[arg-type]
                              outcome.hits, self.reader_settings, read_all=len(dates) > 1)
        outcome.spans = spans
        if len(dates) > 1:
            def answers(span: SpanAnswer) -> bool:
                return self.reader_settings.found(span, outcome.query)

            outcome.spans, outcome.older = newest_first(outcome.spans, outcome.hits, answers,
                                                        outcome.time_range)
        if not self.is_found(outcome) or not outcome.spans:
            return
        spans = outcome.spans
        first = spans[0].passage_rank - 1
        reorder(outcome, [first] + [i for i in range(len(outcome.hits)) if i != first])

    def ask(self, question: str, top_k: int = 5, history: list[str] | None = None,
            mode: Mode = "hybrid", filters: Filters | None = None, today: date | None = None,
            timings: dict[str, float] | None = None) -> dict:
        """The answer JSON. ``filters`` restrict the articles searched; a time named in the
        question (今年, 2021年第四季度) is resolved against ``today`` (default: the day it is).
        ``timings`` receives the seconds of each step, summed over the searches made (a
        follow-up may be searched again, restated or with the question before it)."""
        started = time.perf_counter()
        query = normalize_question(question)
        filters = filters or Filters()
        if not has_words(query):
            # Only punctuation or emoji: a valid question with nothing to look up.
            return self._nothing(question, query, NOTHING_TO_SEARCH, filters, started)
        allowed = self.index.store.chunk_ids_where(filters.keeps) if filters.active else None
        if allowed is not None and len(allowed) == 0:
            return self._nothing(question, query, NO_ARTICLE_PASSES, filters, started)
        # An article named by its title in 《》 is the one searched.
        allowed, named = scope_to_titles(self.index.store, query, allowed)
        shape = shape_of(query, names_an_article=bool(named))
        # Only an index with articles that state their dates can prefer any by time.
        when = self.time_parser.find(query, today or date.today()) if self.index.has_dates else None
        first: dict[str, float] = {}
        outcome = self.run(query, mode, allowed=allowed, when=when, timings=first)
        previous = [h for h in (history or [])[-MAX_HISTORY:] if h and h.strip()]
        understood_as = None
        # A question in another language than the one before it starts a new topic: an
        # English question is never glued to an unrelated Chinese one, nor the reverse.
        if previous and is_latin(query) == is_latin(normalize_question(previous[-1])):
            outcome, understood_as = self._follow_up(question, query, previous[-1], outcome, first,
                                                     mode, allowed, when)
        if timings is not None:
            timings.update(first)
        shaped = self._shaped(shape, outcome, named)
        result = self._render(question, outcome, top_k, started, understood_as, shape, shaped)
        result.update(filters=filters.to_json(), named_articles=named or None)
        return result

    def _follow_up(self, question: str, query: str, previous: str, outcome: Outcome,
                   timings: dict[str, float], mode: Mode, allowed: np.ndarray | None,
                   when: TimeRange | None) -> tuple[Outcome, str | None]:
        """The outcome of a question asked after ``previous``, and how it was understood
        where the conversation changed it (None where the question stands alone).
        ``timings`` gains the seconds of the searches made for it."""

        def search_again(searched: str, read_as: str | None = None) -> Outcome:
            again: dict[str, float] = {}
            tried = self.run(normalize_question(searched), mode, read_as=read_as, allowed=allowed,
                             when=when, timings=again)
            for step, seconds in again.items():
                timings[step] = timings.get(step, 0.0) + seconds
            return tried

        # A follow-up whose shape leaves something out (X呢？, 它…) is asked again in full:
        # the first restatement the reader finds an answer for, most likely first. It
        # replaces the question as typed even where that was "found": read alone, such a
        # question gets a confident answer to something else (志愿服务队呢？ → 如今,身穿红马甲).
        for full in [] if is_latin(query) else restatements(question, previous):
            restated = search_again(full.text)
            if self.is_found(restated) and (full.topic is None
                                            or names(self._answer_passage(restated), full.topic)):
                return restated, full.text
        if not self._needs_context(outcome):
            return outcome, None
        # Otherwise a weak question ("总投资是多少？") borrows the previous question's
        # subject, but only when that clearly helps: a self-contained new question that
        # is answered on its own is never rewritten. The reader reads the follow-up itself
        # over what the combined query finds: read together with the earlier question it
        # would answer that one again.
        combined = search_again(f"{previous} {query}", read_as=query)
        # Kept only when it turns a weak result into a found answer: otherwise a question
        # the corpus cannot answer would show the previous topic's passages.
        if self.reader is not None:
            better = self.is_found(combined) and not self.is_found(outcome)
        else:
            better = self.is_found(combined) and combined.confidence > outcome.confidence + 0.01
        return (combined, f"{previous.strip()} {question.strip()}") if better else (outcome, None)

    def _answer_passage(self, outcome: Outcome) -> str:
        """The text of the passage the answer stands in ("" without an answer)."""
        answer = outcome.short if self.reader is not None else outcome.answer
        if answer is None or answer.passage_rank > len(outcome.hits):
            return ""
        return outcome.hits[answer.passage_rank - 1].chunk.text

    def _nothing(self, question: str, query: str, message: str, filters: Filters, started: float) -> dict:
        """The answer JSON for a question that searches nothing, saying why."""
        result = self._render(question, Outcome(query, []), 0, started)
        result.update(message=message, filters=filters.to_json(), named_articles=None)
        return result

    def _shaped(self, shape: QuestionShape, outcome: Outcome, named: list[dict]) -> ShapedAnswer | None:
        """The answer in the question's shape (shaping.py): of the article named or of the
        first passage's for a summary or a byline, else of a found answer's span."""
        store = self.index.store
        if shape.kind in ("summary", "about_article"):
            first = outcome.hits[0].chunk.article_id if outcome.hits else None
            article_id = named[0]["id"] if named else first
            return shape_answer(shape, outcome.query, store, None, article_id=article_id)
        if not self.is_found(outcome):
            return None
        span = outcome.short if self.reader is not None else outcome.answer
        read = outcome.hits[: self.reader_settings.passages]
        nearby = [(h.chunk.article_id, h.chunk.char_start, h.chunk.char_end) for h in read]
        return shape_answer(shape, outcome.query, store, span, nearby=nearby,
                            read_part=lambda asked: self._read_part(outcome, asked))

    def _read_part(self, outcome: Outcome, asked: str) -> SpanAnswer | None:
        """The reader's found answer to one question of several, in the passages found."""
        if self.reader is None:
            return None
        spans = read_passages(self.reader, self.index, asked, outcome.hits, self.reader_settings)
        return next((s for s in spans if self.reader_settings.found(s, asked)), None)

    def _render(self, question: str, outcome: Outcome, top_k: int, started: float,
                understood_as: str | None = None, shape: QuestionShape | None = None,
                shaped: ShapedAnswer | None = None) -> dict:
        shape = shape or shape_of(outcome.query)
        of_article = shape.kind in ("summary", "about_article")
        if of_article:
            # Answered from the article's stored notes, not a span: found where it has them.
            found = shaped is not None and bool(shaped.parts or shaped.about in ("date", "source"))
        else:
            found = self.is_found(outcome)
        if found and self.reader is not None:
            # A found answer stands in a body passage (see _read): photo captions are not
            # shown as its sources.
            store = self.index.store  # the answer's passage is first (_read)
            reorder(outcome, [i for i, h in enumerate(outcome.hits)
                               if i == 0 or not store.is_caption(h.chunk)])
        passages = passages_json(self.index.store, outcome, top_k, found)
        answer = None
        short = None if of_article else outcome.short
        if short is not None and short.passage_rank <= len(passages):
            # The reader's exact span, with the sentence that holds it for context.
            page = self.index.store.page_at(short.article_id, short.char_start)
            answer = span_json(passages, short, "span", short.sentence, short.sentence_start,
                               short.sentence_end, page)
            answer["has_answer"] = round(short.has_answer, 4)
            # Shown to the user: the rewording of their own question where it applies to it
            # (the reader's wording is of the normalised query: ASCII "?", simplified).
            passage_text = str(passages[short.passage_rank - 1]["text"])
            as_asked = self.index.vocabulary.question_for(question, passage_text)
            answer["read_as"] = short.read_as and (as_asked if as_asked != question else short.read_as)
            # Older articles that answer otherwise: the newest answer is shown, not the only one.
            answer["older"] = [{"text": o.text, "article": passages[o.passage_rank - 1]["article"],
                                "paragraph": o.paragraph, "char_start": o.char_start, "char_end": o.char_end}
                               for o in outcome.older if o.passage_rank <= len(passages)]
            passages[short.passage_rank - 1]["highlight"] = [short.sentence_start, short.sentence_end]
            passages[short.passage_rank - 1]["answer_span"] = [short.char_start, short.char_end]
        elif not of_article and outcome.answer is not None and outcome.answer.passage_rank <= len(passages):
            a = outcome.answer  # no reader: the best sentence is both the answer and its sentence
            answer = span_json(passages, a, "sentence", a.text, a.char_start, a.char_end,
                               self.index.store.page_at(a.article_id, a.char_start))
        answer = add_shape(answer, shaped if found else None, self.index.store, passages)
        return {
            "question": question,
            "query": outcome.query,
            "found": found,
            "message": None if found else _not_found_message(shape),
            "confidence": round(self._confidence(outcome), 4),
            "evidence": None if outcome.evidence is None else round(outcome.evidence, 6),
            "answer": answer,
            "passages": passages,
            "generation": self.index.generation,
            # A follow-up read together with the question before it: shown to the user
            # ("按上文理解为：…"), so a wrong reading is visible; null otherwise.
            "understood_as": understood_as,
            # The time the question named, as a range of days and what it was read against.
            "time_range": outcome.time_range.to_json() if outcome.time_range else None,
            # The shape of answer the question asks for (a list, an explanation, yes/no...).
            "shape": shape.to_json(),
            "took_ms": round((time.perf_counter() - started) * 1000, 2),
        }

    def _confidence(self, outcome: Outcome) -> float:
        """With a reader, the calibrated probability that its answer is right; without one,
        the cosine of the question and the answer sentence, as before."""
        if self.reader is None:
            return outcome.confidence
        short = outcome.short
        if short is None:
            return 0.0
        return self.reader_settings.probability(short.has_answer, outcome.query, short.similarity)


def _not_found_message(shape: QuestionShape) -> str:
    if shape.kind == "summary":
        return NO_ARTICLE_TO_SUMMARIZE
    if shape.kind == "about_article":
        return NO_BYLINE
    return NOT_FOUND_MESSAGE
