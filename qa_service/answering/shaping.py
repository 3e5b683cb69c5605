"""The answer in the question's shape: its parts, each verbatim article text at its offsets.

- factoid: the reader's span;
- explanation: the span's clause through the end of its sentence (extent.py);
- list: every item of the list the span names (listing.py), or the explanation's extent
  where the text gives no list of parts (an enumeration inside one sentence stays whole);
- parts: each question of a several-part question read on its own, each answer a part;
- yes_no: the evidence sentence, with 是 / 否 only where it says so (verdict.py);
- summary: the article's lead, section headings and key sentences, chosen at build time;
- about_article: the byline's names (authors), or the article's date or source.

Nothing here generates text: a part is a slice of its article, and ``text`` joins the
parts as shown, one per line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..corpus import Article
from ..index import ChunkStore
from .extent import explanation_extent, list_extent, sentence_extent
from .listing import gather_list
from .reading import SpanAnswer
from .shape import QuestionShape
from .verdict import Verdict, verdict_of

SUMMARY_LABELS = {"lead": "导语", "heading": "小标题", "key": "要点"}
_AUTHOR_CUE = re.compile(r"作者|谁写|写的|撰写|撰稿|记者|署名|通讯员|\bauthor|\bwrote|\breport", re.I)
_DATE_CUE = re.compile(r"哪天|哪一天|什么时候|何时|几月几日|哪年|时间|日期|\bwhen\b|\bdate\b", re.I)


@dataclass(frozen=True)
class AnswerPart:
    text: str
    article_id: str
    paragraph: int
    char_start: int
    char_end: int
    label: str | None = None  # as the text numbers it (一是, （二）), or what it is (导语)


@dataclass
class ShapedAnswer:
    kind: str
    parts: list[AnswerPart] = field(default_factory=list)
    verdict: Verdict | None = None  # yes_no only
    count: int | None = None  # list only, where the text numbers its items
    article_id: str | None = None  # summary / about_article: the article asked about
    about: str | None = None  # about_article: "authors", "date" or "source"
    unanswered: list[str] = field(default_factory=list)  # parts: the questions no passage answered

    @property
    def text(self) -> str:
        return "\n".join(part.text for part in self.parts)


class Located(Protocol):
    """Where an answer found by the reader (a span) or without it (a sentence) stands."""

    @property
    def article_id(self) -> str: ...
    @property
    def char_start(self) -> int: ...
    @property
    def char_end(self) -> int: ...


# Reads one question of a several-part question over the passages already found.
ReadPart = Callable[[str], SpanAnswer | None]


def shape_answer(shape: QuestionShape, question: str, store: ChunkStore, span: Located | None,
                 read_part: ReadPart | None = None, article_id: str | None = None,
                 nearby: Sequence[tuple[str, int, int]] = ()) -> ShapedAnswer | None:
    """The answer to ``question`` in ``shape``, from the reader's ``span`` (found), or for
    a summary or about_article question from ``article_id``'s stored notes. None where
    the shape has nothing to answer from. ``nearby``: (article id, start, end) of the
    passages read, where a yes/no question's evidence may stand instead."""
    kind = shape.kind
    if kind == "summary":
        return _summary(store, article_id) if article_id else None
    if kind == "about_article":
        return _about_article(store, article_id, question) if article_id else None
    if span is None:
        return None
    article = store.get_article(span.article_id)
    if article is None:
        return None
    if kind == "factoid":
        end = first_amount(question, article.text, span.char_start, span.char_end)
        return ShapedAnswer(kind, [_part(article, span.char_start, end)])
    if kind == "yes_no":
        return _yes_no(question, store, article, span, nearby)
    if kind == "parts" and shape.parts and read_part is not None:
        return _several(shape, article, span, store, read_part)
    if kind == "list":
        gathered = gather_list(article, span.char_start, span.char_end)
        if gathered is not None:
            parts = [_part(article, item.char_start, item.char_end, item.label) for item in gathered.items]
            return ShapedAnswer(kind, parts, count=len(parts) if gathered.numbered else None)
    extent = list_extent if kind == "list" else explanation_extent
    start, end, label = extent(article, span.char_start, span.char_end)
    printed = article.text[label.start : label.end] if label else None
    return ShapedAnswer(kind, [_part(article, start, end, printed)])


def _yes_no(question: str, store: ChunkStore, article: Article, span: Located,
            nearby: Sequence[tuple[str, int, int]]) -> ShapedAnswer:
    """The span's sentence with its verdict; where it states nothing either way, the first
    sentence of the passages read that does, about the question's subject (the reader
    points at the sentence most like the question, not always the one that settles it)."""
    start, end = sentence_extent(article, span.char_start, span.char_end)
    verdict = verdict_of(question, article.text[start:end])
    if verdict != "unstated":
        return ShapedAnswer("yes_no", [_part(article, start, end)], verdict=verdict)
    asked = _bigrams(question)
    for article_id, lower, upper in nearby:
        source = article if article_id == article.id else store.get_article(article_id)
        if source is None:
            continue
        for sentence in store.sentences_within(article_id, lower, upper):
            words = source.text[sentence.char_start : sentence.char_end]
            stated = verdict_of(question, words)
            if stated != "unstated" and len(asked & _bigrams(words)) >= MIN_SHARED_BIGRAMS:
                part = _part(source, sentence.char_start, sentence.char_end)
                return ShapedAnswer("yes_no", [part], verdict=stated)
    return ShapedAnswer("yes_no", [_part(article, start, end)], verdict=verdict)


MIN_SHARED_BIGRAMS = 4  # a sentence about the question's subject shares its words


_HAN_PAIR = re.compile(r"[\u4e00-\u9fff]{2}")


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if _HAN_PAIR.fullmatch(text, i, i + 2)}


def _part(article: Article, start: int, end: int, label: str | None = None) -> AnswerPart:
    paragraph = next((p.index for p in article.paragraphs if p.start <= start < p.end), 0)
    return AnswerPart(article.text[start:end], article.id, paragraph, start, end, label)


def _several(shape: QuestionShape, article: Article, span: Located, store: ChunkStore,
             read_part: ReadPart) -> ShapedAnswer:
    """Each question of ``shape.parts`` read on its own; a later one that names no subject
    (总投资多少) is read with the first one's (“五个一批”项目总投资多少)."""
    subject = part_subject(shape.parts[0])
    parts: list[AnswerPart] = []
    unanswered: list[str] = []
    for i, asked in enumerate(shape.parts):
        reading = asked if i == 0 or not _lacks_subject(asked) else subject + asked
        # Each part read alone: the span read for the whole question answers one of them.
        found: Located | None = read_part(reading) or (span if i == 0 else None)
        source = None if found is None else (
            article if found.article_id == article.id else store.get_article(found.article_id))
        if found is None or source is None:
            unanswered.append(asked)
            continue
        end = first_amount(asked, source.text, found.char_start, found.char_end)
        part = _part(source, found.char_start, end, asked)
        # The same words answering two questions answer one of them at most: the other is
        # said to be unanswered, not shown twice.
        if any((p.article_id, p.char_start) == (part.article_id, part.char_start) for p in parts):
            unanswered.append(asked)
        else:
            parts.append(part)
    return ShapedAnswer("parts", parts, unanswered=unanswered)


_WH = re.compile(r"多少|几|哪|谁|什么|何|怎")
_ASKS_AMOUNT = re.compile(r"多少|几")
_AMOUNT_THEN_LIST = re.compile(r"\d[^、，,；;]*?(?=[、，,；;])")


def first_amount(question: str, text: str, start: int, end: int) -> int:
    """The end of a span that answers 多少 with the first amount of a list (2.5万户、精品庭院
    6473户 → 2.5万户): the other amounts count other things."""
    if not _ASKS_AMOUNT.search(question):
        return end
    m = _AMOUNT_THEN_LIST.match(text, start, end)
    return m.end() if m else end
_TRAILING_VERB = re.compile(r"(?:一共|总共|共计|共|总计|合计)?(?:有|是|为|达到?)?$")


def part_subject(question: str) -> str:
    """The words a question asks about, before its question word and verb:
    “五个一批”项目一共有多少个 → “五个一批”项目."""
    wh = _WH.search(question)
    head = question[: wh.start()] if wh else question
    return _TRAILING_VERB.sub("", head)


def _lacks_subject(question: str) -> bool:
    """总投资多少 names only what is asked (at most four characters before its question word)."""
    wh = _WH.search(question)
    return wh is not None and wh.start() <= 4


def _summary(store: ChunkStore, article_id: str) -> ShapedAnswer | None:
    article = store.get_article(article_id)
    notes = store.notes_of(article_id)
    if article is None or not notes.summary:
        return None
    parts = [_part(article, p.char_start, p.char_end, SUMMARY_LABELS[p.kind]) for p in notes.summary]
    return ShapedAnswer("summary", parts, article_id=article_id)


def _about_article(store: ChunkStore, article_id: str, question: str) -> ShapedAnswer | None:
    """The byline's names for 谁写的 / 作者 / 记者. The date and source are the article's
    own fields (shown with it), so such questions get no parts: the article is the answer."""
    article = store.get_article(article_id)
    if article is None:
        return None
    if _AUTHOR_CUE.search(question):
        authors = store.notes_of(article_id).authors
        parts = [AnswerPart(a.name, article.id, a.paragraph, a.char_start, a.char_end, "作者")
                 for a in authors]
        return ShapedAnswer("about_article", parts, article_id=article_id, about="authors")
    about = "date" if _DATE_CUE.search(question) else "source"
    return ShapedAnswer("about_article", [], article_id=article_id, about=about)
