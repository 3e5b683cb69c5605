"""Time in questions: `今年`, `上个月`, `2021年第四季度`, `10月10日`, `近三个月` as a range of days.

jionlp's time parser (rule-based, offline) reads the expression and resolves it against
the day the question is asked. It misses month-only expressions (`上个月`, `本月`,
`12月`: its parser raises on a month without a day), which `_month_range` resolves.

Passages whose article was published in the range are preferred: they move ahead of the
others by a fixed boost of the fused score, not a filter, because an article's date is
when it was written (a report on `10月10日` appears on the 11th or later; SLACK_DAYS
allows for that) and a date read from an article's text can be wrong. Only dates an
article states (front matter, metadata, its text, an edit) count; a file's modification
time says when it was copied, not when it was written. Where no article of the range is
among the passages and the expression is relative (`今年` with a corpus from 2021), it
is read against the date of the best passage's article instead, where that article
states one: "this year" as the article says it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from ..corpus import STATED_DATE_SOURCES, date_range
from .quoted import masked
from .search import Hit

SLACK_DAYS = 45  # an article reports on what happened up to this long before it
BOOST = 0.25  # added to the fused score of a passage whose article is in the range
# A cheap look before the parser runs: questions without any of these name no time.
_MAYBE_TIME = re.compile(r"[年月日号季周天旬]|今|昨|明|去|前|近|以来|星期|礼拜|最近")
_ABSOLUTE_YEAR = re.compile(r"(?:19|20)\d{2}\s*年|[一二〇○零][〇○零一二三四五六七八九]{3}年")
_MONTH = re.compile(r"(上上|上|下|本|这|当)个?月"
                    r"|(?<![\d年])(1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])月份?"
                    r"(?![\d一二三四五六七八九十]*\s*[日号])")
_CN_MONTH = {c: i for i, c in enumerate("一二三四五六七八九", start=1)} | {"十": 10, "十一": 11, "十二": 12}


@dataclass(frozen=True)
class TimeRange:
    text: str  # the words of the question it came from
    start: date
    end: date
    basis: str  # "asked": resolved against the day asked; "article": against an article's date
    base: date  # the day it was resolved against
    relative: bool  # `今年` is; `2021年第四季度` is not
    matched: bool = False  # whether an article of the range was among the passages

    def to_json(self) -> dict:
        return {"text": self.text, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "basis": self.basis, "base": self.base.isoformat(), "matched": self.matched}


def _quiet_jionlp(record: logging.LogRecord) -> bool:
    return f"{os.sep}jionlp{os.sep}" not in record.pathname


class TimeParser:
    """jionlp's parser, imported on first use (it takes half a second and prints a banner
    on import, which must not reach a CLI's JSON output)."""

    def __init__(self) -> None:
        self._jio: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._jio is None:
                with contextlib.redirect_stdout(io.StringIO()):
                    import jionlp

                # jionlp logs every string it fails to parse, with its traceback, on the root
                # logger: for a question that names no time that is noise, not an error.
                if _quiet_jionlp not in logging.getLogger().filters:
                    logging.getLogger().addFilter(_quiet_jionlp)
                self._jio = jionlp
        return self._jio

    def warm(self) -> None:
        self.find("今年", date.today())

    def find(self, question: str, today: date) -> TimeRange | None:
        """The first time expression of the question as a range, or None. Quoted words
        are names, not times (《藁城这一年》)."""
        question = masked(question)
        if not _MAYBE_TIME.search(question):
            return None
        base = datetime(today.year, today.month, today.day, 12)
        try:
            found = self._load().ner.extract_time(question, time_base=base.timestamp(), with_parsing=True)
        except Exception:  # a parser error is a question without a time, never a failed ask
            found = []
        for entity in found:
            detail = entity.get("detail", {})
            if detail.get("type") not in ("time_point", "time_span") or _inside_a_word(question, entity):
                continue
            span = _days(detail.get("time"), today)
            if span:
                text = entity["text"]
                return TimeRange(text, *span, "asked", today, not _ABSOLUTE_YEAR.search(text))
        month = _MONTH.search(question)
        if month:
            start, end = _month_range(month, today)
            return TimeRange(month.group(), start, end, "asked", today, True)
        return None


# 后年 and 前天 are often the tail of another phrase: 投产后年产值 (output after production),
# 三年前天津 (Tianjin three years ago). After a Chinese character they are not read as time.
_AMBIGUOUS = re.compile(r"^(后年|后天|前年|前天)")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _inside_a_word(question: str, entity: dict) -> bool:
    start = (entity.get("offset") or [0])[0]
    after_a_character = start > 0 and bool(_CJK.match(question[start - 1]))
    return after_a_character and bool(_AMBIGUOUS.match(entity.get("text", "")))


def _days(bounds: object, today: date) -> tuple[date, date] | None:
    if not isinstance(bounds, list | tuple) or len(bounds) != 2:
        return None
    try:
        start = datetime.fromisoformat(str(bounds[0])).date() if bounds[0] != "inf" else None
        end = datetime.fromisoformat(str(bounds[1])).date() if bounds[1] != "inf" else today
    except ValueError:
        return None
    return (start, end) if start is not None and start <= end else None


def _month_range(match: re.Match[str], today: date) -> tuple[date, date]:
    year, month = today.year, today.month
    if match.group(1):
        offset = {"上上": -2, "上": -1, "下": 1}.get(match.group(1), 0)
        month += offset
    else:
        word = match.group(2)
        month = int(word) if word.isdigit() else _CN_MONTH[word]
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    first = date(year, month, 1)
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))
    return first, last


def stated_range(hit: Hit) -> tuple[date, date] | None:
    """The days the hit's article date covers, if the article states its date."""
    if hit.chunk.date_source is not None and hit.chunk.date_source not in STATED_DATE_SOURCES:
        return None
    return date_range(hit.chunk.date)


def in_range(hit: Hit, when: TimeRange) -> bool:
    days = stated_range(hit)
    return days is not None and days[0] <= when.end + timedelta(days=SLACK_DAYS) and days[1] >= when.start


def newest_first(spans: list, hits: list[Hit], answers: Callable[[Any], bool],
                 when: TimeRange | None = None) -> tuple[list, list]:
    """The reader's spans with the answer of the newest article first (of the question's
    time range, where it names one that matched), where several articles with stated
    dates answer (``answers`` says a span is a found answer); and the answers of older articles
    that differ from it (the same words, or one inside the other, do not count)."""
    dated = {id(s): stated_range(hits[s.passage_rank - 1]) for s in spans}
    answering = [s for s in spans if answers(s) and dated[id(s)] is not None]
    if len({s.article_id for s in answering}) < 2:
        return spans, []

    def rank(span: Any) -> tuple[bool, date]:
        asked = when is None or not when.matched or in_range(hits[span.passage_rank - 1], when)
        return asked, dated[id(span)][1]  # type: ignore[index]

    newest = max(answering, key=rank)
    said = _plain(newest.text)
    older = [s for s in answering if dated[id(s)][1] < dated[id(newest)][1]  # type: ignore[index]
             and _plain(s.text) not in said and said not in _plain(s.text)]
    return [newest] + [s for s in spans if s is not newest], older


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def prefer_range(hits: list[Hit], when: TimeRange, parser: TimeParser) -> tuple[list[Hit], TimeRange]:
    """The hits with those of the range moved ahead (see the module's note), and the range
    as used, with ``matched`` saying whether any article of it was found."""
    # A time still to come (明天, 下个月) has no article yet: it is never re-read.
    if hits and not any(in_range(h, when) for h in hits) and when.relative and when.start <= when.base:
        # "This year" in a question about the best passage's article: that article's year.
        dated = stated_range(hits[0])
        if dated is not None:
            again = parser.find(when.text, dated[1])
            if again is not None:
                when = replace(again, basis="article")
    boosted = [replace(h, score=h.score + BOOST) if in_range(h, when) else h for h in hits]
    matched = any(in_range(h, when) for h in hits)
    return sorted(boosted, key=lambda h: -h.score), replace(when, matched=matched)


@dataclass(frozen=True)
class Filters:
    """What a user asked to search within: articles dated from/to (inclusive; an article
    whose date is a month or a year counts where that period overlaps), and a source (a
    part of the publication's name or of the file's path)."""

    date_from: date | None = None
    date_to: date | None = None
    source: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.date_from or self.date_to or self.source)

    def keeps(self, when: str | None, source: str, file: str) -> bool:
        if self.source and self.source not in source and self.source not in file:
            return False
        if self.date_from or self.date_to:
            days = date_range(when)
            if days is None:
                return False  # an undated article is outside every date filter
            if self.date_from and days[1] < self.date_from:
                return False
            if self.date_to and days[0] > self.date_to:
                return False
        return True

    def to_json(self) -> dict | None:
        if not self.active:
            return None
        return {"date_from": self.date_from.isoformat() if self.date_from else None,
                "date_to": self.date_to.isoformat() if self.date_to else None, "source": self.source}
