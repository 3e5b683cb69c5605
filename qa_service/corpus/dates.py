"""Every article gets a date, and says where it came from.

In order: front matter, a web page's metadata, the text itself (a dateline such as
`本报讯（2021年12月20日）` or a body paragraph opening with a full date, else the newest
full date the article names, else its newest `10月10日` in the one year it names), the
file's modification time, or none. Dates are ISO strings whose length is their precision:
`2021-12-20`, `2021-12` or `2021` (a text that names only a year and a quarter says
nothing finer, and none is made up). `date_range` turns any of them into the days it
covers, for filtering by time.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from datetime import UTC, date, datetime

DATE_SOURCES = ("front_matter", "metadata", "text", "file_mtime", "edit", "none")
# The article itself says when it was written; a file's modification time says when it was copied.
STATED_DATE_SOURCES = frozenset({"front_matter", "metadata", "text", "edit"})

_NUMERALS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "O": 0}
_YEAR = r"((?:19|20)\d{2}|[一二〇○零][〇○零一二三四五六七八九]{3})"
_MONTH = r"(1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_DAY = r"(3[01]|[12]\d|0?[1-9]|三十一?|二?十[一二三四五六七八九]?|[一二三四五六七八九])"
_FULL = re.compile(rf"{_YEAR}\s?年\s?{_MONTH}\s?月\s?{_DAY}\s?[日号]")
_ISO = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/.](1[0-2]|0?[1-9])[-/.](3[01]|[12]\d|0?[1-9])(?!\d)")
_MONTH_DAY = re.compile(rf"(?<![\d年])(?<!\d\s){_MONTH}\s?月\s?{_DAY}\s?[日号]")
_YEAR_ONLY = re.compile(rf"{_YEAR}\s?年")
# A dateline: the byline of a news report (本报讯, 新华社…电) or a paragraph that opens
# with its date.
_DATELINE = re.compile(r"^(本报讯|新华社|中新社|[（(]?记者|.{0,12}电[）)]?)")


def _number(text: str) -> int:
    """An Arabic or Chinese numeral (二〇二一, 十二, 二十三) as an int."""
    if text.isdigit():
        return int(text)
    if all(c in _NUMERALS for c in text):  # digit by digit: 二〇二一
        return int("".join(str(_NUMERALS[c]) for c in text))
    tens, _, units = text.partition("十")
    return (_NUMERALS.get(tens, 1) if tens else 1) * 10 + (_NUMERALS.get(units, 0) if units else 0)


def _valid(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def normalise_date(value: str | None) -> str | None:
    """A date as written in front matter or metadata (2021-12-20, 2021/12/20, 2021年12月20日,
    2021-12-20T08:00:00+08:00, 2021-12, 2021) as an ISO string; None if it is not one."""
    if not value:
        return None
    value = value.strip()
    if m := _ISO.search(value):
        return _valid(int(m[1]), int(m[2]), int(m[3]))
    if m := _FULL.search(value):
        return _valid(_number(m[1]), _number(m[2]), _number(m[3]))
    if m := re.fullmatch(r"((?:19|20)\d{2})[-/.年](1[0-2]|0?[1-9])月?", value):
        return f"{int(m[1]):04d}-{int(m[2]):02d}"
    if m := re.fullmatch(r"((?:19|20)\d{2})年?", value):
        return m[1]
    return None


def full_dates(text: str) -> list[str]:
    """Every complete date the text names (年月日 or ISO), in order of appearance."""
    found = [(m.start(), _valid(_number(m[1]), _number(m[2]), _number(m[3]))) for m in _FULL.finditer(text)]
    found += [(m.start(), _valid(int(m[1]), int(m[2]), int(m[3]))) for m in _ISO.finditer(text)]
    return [d for _, d in sorted(found) if d]


def date_from_text(title: str, paragraphs: list[str]) -> str | None:
    """The article's date as its text gives it, or None."""
    for paragraph in paragraphs[:4]:  # a dateline stands at the top
        if _DATELINE.match(paragraph) or _FULL.match(paragraph) or _ISO.match(paragraph):
            dates = full_dates(paragraph[:60])
            if dates:
                return dates[0]
    text = "\n".join([title, *paragraphs])
    dates = full_dates(text)
    if dates:
        return max(dates)
    # Only month and day (10月10日): take the year the article names, if it names one
    # more than any other (the title's first), as bulletins write the year once.
    years = Counter(_number(m[1]) for m in _YEAR_ONLY.finditer(title))
    years = years or Counter(_number(m[1]) for m in _YEAR_ONLY.finditer(text))
    if not years:
        return None
    ranked = years.most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None
    year = ranked[0][0]
    days = [d for m in _MONTH_DAY.finditer(text) if (d := _valid(year, _number(m[1]), _number(m[2])))]
    return max(days) if days else f"{year:04d}"


def date_of_mtime(mtime: float) -> str:
    return datetime.fromtimestamp(mtime, UTC).date().isoformat()


def date_range(value: str | None) -> tuple[date, date] | None:
    """The first and last day an ISO date of any precision covers; None if not a date."""
    if not value:
        return None
    try:
        if len(value) == 4:
            return date(int(value), 1, 1), date(int(value), 12, 31)
        if len(value) == 7:
            year, month = int(value[:4]), int(value[5:7])
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        day = date.fromisoformat(value[:10])
        return day, day
    except ValueError:
        return None


def article_date(front_matter: str | None, metadata: str | None, title: str,
                 paragraphs: list[str]) -> tuple[str | None, str]:
    """(date, date_source) from what a file says of itself, then its text. A front matter
    or metadata date that is not a date is kept as written (a person wrote it)."""
    if front_matter:
        return normalise_date(front_matter) or front_matter, "front_matter"
    if metadata:
        return normalise_date(metadata) or metadata, "metadata"
    found = date_from_text(title, paragraphs)
    return (found, "text") if found else (None, "none")
