"""How far an answer reaches around the reader's span: verbatim article text at offsets.

The reader points at a few words. A factoid keeps them. An explanation (如何, 有何政策)
takes the clause the span starts in through the end of its sentence: the reference
answers of real policy questions start where the condition or measure starts, not at
the sentence's topic (在…方面，要求…) and not at an item's number (（九）, 6.), and they end
with the sentence (benchmarks/policy.py measured span, clause, sentence, paragraph and
this on the tuning half: explanation ROUGE-L 41.4, 42.5, 45.7, 35.4 and 48.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..corpus import Article, Paragraph

# Where a clause or a sentence ends.
CLAUSE_BREAKS = frozenset("，,；;：:。！？!?")
SENTENCE_ENDS = frozenset("。！？!?")
_CLOSERS = frozenset("”’」』）)》")
# An item's printed number: （一） (1) 一、 1. 1、 ① 一是 第一， (第一阶段 is no number).
CN_NUMERALS = "一二三四五六七八九十"
LABEL = re.compile(
    rf"(?P<paren>[（(](?P<paren_n>[{CN_NUMERALS}]{{1,3}}|\d{{1,2}})[）)])"
    rf"|(?P<cn>(?P<cn_n>[{CN_NUMERALS}]{{1,3}})[、.．])"
    rf"|(?P<num>(?P<num_n>\d{{1,2}})[、.．](?!\d))"
    r"|(?P<circled>(?P<circled_n>[①-⑳]))"
    rf"|(?P<shi>(?P<shi_n>[{CN_NUMERALS}]{{1,3}})是)"
    rf"|(?P<di>第(?P<di_n>[{CN_NUMERALS}]{{1,3}})[，,、：:])")
LABEL_FAMILIES = ("paren", "cn", "num", "circled", "shi", "di")
SHORT_LEAD = 30  # a paragraph's opening sentence this short is a point, not its explanation
MAX_CLAUSES_BACK = 3  # clauses a list's answer may reach back over to its enumeration


@dataclass(frozen=True)
class Label:
    family: str  # one of LABEL_FAMILIES: which numbering it belongs to
    number: int
    start: int  # article offsets of the label's characters
    end: int


def numeral(value: str) -> int:
    """The value of 1-99 written in digits, Chinese numerals (十二) or circled (③)."""
    if value.isdigit() and value.isascii():
        return int(value)
    if len(value) == 1 and "①" <= value <= "⑳":
        return ord(value) - ord("①") + 1
    digits = {c: i + 1 for i, c in enumerate(CN_NUMERALS)}
    if value == "十":
        return 10
    if value.startswith("十"):
        return 10 + digits.get(value[1:], 0)
    if value.endswith("十"):
        return 10 * digits.get(value[0], 0)
    if "十" in value:
        tens, ones = value.split("十", 1)
        return 10 * digits.get(tens, 0) + digits.get(ones, 0)
    return digits.get(value, 0)


def label_at(text: str, position: int) -> Label | None:
    """The item number printed at ``position`` of the article text (white space skipped)."""
    while position < len(text) and text[position] in " \t\u3000":
        position += 1
    m = LABEL.match(text, position)
    return None if m is None else label_of(m)


def label_of(m: re.Match[str]) -> Label:
    """The item number a match of LABEL found."""
    family = next(f for f in LABEL_FAMILIES if m.group(f))
    return Label(family, numeral(m.group(f"{family}_n")), m.start(), m.end())


def paragraph_at(article: Article, offset: int) -> Paragraph | None:
    for paragraph in article.paragraphs:
        if paragraph.start <= offset < paragraph.end:
            return paragraph
    return None


def paragraph_bounds(article: Article, offset: int) -> tuple[int, int]:
    """The offsets of the paragraph holding ``offset`` (the whole text where none does)."""
    paragraph = paragraph_at(article, offset)
    return (paragraph.start, paragraph.end) if paragraph else (0, len(article.text))


def clause_start(text: str, lower: int, offset: int) -> int:
    """Where the clause holding ``offset`` begins (not before ``lower``)."""
    while offset > lower and text[offset - 1] not in CLAUSE_BREAKS and text[offset - 1] != "\n":
        offset -= 1
    return offset


def clause_end(text: str, offset: int, upper: int) -> int:
    """Where the clause holding ``offset`` ends (before its break), not after ``upper``."""
    while offset < upper and text[offset] not in CLAUSE_BREAKS and text[offset] != "\n":
        offset += 1
    return offset


def sentence_start(text: str, lower: int, offset: int) -> int:
    while offset > lower and text[offset - 1] not in SENTENCE_ENDS and text[offset - 1] != "\n":
        offset -= 1
    return offset


def sentence_end(text: str, offset: int, upper: int) -> int:
    """Where the sentence holding ``offset`` ends (its end mark and closing quotes kept)."""
    while offset < upper and text[offset] not in SENTENCE_ENDS and text[offset] != "\n":
        offset += 1
    while offset < upper and (text[offset] in SENTENCE_ENDS or text[offset] in _CLOSERS):
        offset += 1
    return offset


def stripped(text: str, start: int, end: int) -> tuple[int, int, Label | None]:
    """The extent without white space around it and without the item number it opens
    with, which is returned as its label."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    label = label_at(text, start)
    if label is not None and label.end < end:
        start = label.end
        while start < end and text[start] in " \t\u3000，,":
            start += 1
    return start, end, label


def explanation_extent(article: Article, start: int, end: int) -> tuple[int, int, Label | None]:
    """From the clause the span starts in to the end of the sentence it ends in, within
    its paragraph; the item number it opens with is taken off as its label. A short
    sentence that opens its paragraph (要以安全环保的理念夯实发展基石。) names a point that
    the next sentence explains: the answer goes on through that one."""
    lower, upper = paragraph_bounds(article, start)
    text = article.text
    first = clause_start(text, lower, start)
    last = sentence_end(text, max(end - 1, start), upper)
    opening = sentence_start(text, lower, start)
    if opening - lower <= 8 and last - opening <= SHORT_LEAD and last < upper:
        last = sentence_end(text, last, upper)
    return stripped(text, first, max(last, end))


def enumerates(text: str) -> bool:
    """Whether a clause lists things (甲、乙、丙)."""
    return text.count("、") >= 2


def list_extent(article: Article, start: int, end: int) -> tuple[int, int, Label | None]:
    """The explanation's extent, reaching back to the clause of the same sentence that holds
    the enumeration where the span's own clause holds none (加快构建情感上暖心、行动上贴心…的
    “五心三化”服务体系,持续擦亮…: the span in the last clause). Not the whole sentence: a
    policy's sentence often opens with a topic or a heading the answer does not include (on
    the tuning half, whole sentences scored ROUGE-L 40.7 against 43.0)."""
    first, last, label = explanation_extent(article, start, end)
    text = article.text
    if enumerates(text[first:last]):
        return first, last, label
    lower, _ = paragraph_bounds(article, start)
    opening = sentence_start(text, lower, first)
    clause_end = first
    for _ in range(MAX_CLAUSES_BACK):
        if clause_end <= opening:
            break
        clause_begin = clause_start(text, opening, clause_end - 1)
        if enumerates(text[clause_begin:clause_end]):
            begin, stop, found = stripped(text, clause_begin, last)
            return begin, stop, found or label
        clause_end = clause_begin
    return first, last, label


def sentence_extent(article: Article, start: int, end: int) -> tuple[int, int]:
    """The whole sentence(s) the span lies in, within its paragraph."""
    lower, upper = paragraph_bounds(article, start)
    first = sentence_start(article.text, lower, start)
    last = sentence_end(article.text, max(end - 1, start), upper)
    first, last, _ = stripped(article.text, first, max(last, end))
    return first, last
