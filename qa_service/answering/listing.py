"""The items of a list the text gives, gathered from where the reader's span stands.

A 哪些 / 哪几个方面 question wants every item, in text order, each cited. The text shows
its lists in a few ways; the first that fits the span's paragraph is used:

1. numbered items inside the paragraph: 一是…；二是…；三是… or （一）…（二）… run together;
2. paragraphs that open with numbers of one kind in sequence: （一） （二）, 1. 2., 一、 二、,
   ①②, 第一 第二; the span in one of them, or in the sentence that introduces them;
3. consecutive paragraphs that open alike: the same speaker (张超超强调, 张超超指出) or the
   same words before a comma (这一年, 这一年, 这一年). A paragraph between them that does not
   open so (a line the page broke off) is passed over, two are not.

An enumeration inside the span's own clause (、-separated) is no list of parts: the
clause is kept whole, even where its sentence is one item of a numbered list. Where
nothing fits, there is no list (None), and the answer is the explanation's extent. How
many items there are is said only where the text numbers them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..corpus import Article, Paragraph
from .extent import (
    LABEL,
    Label,
    clause_end,
    clause_start,
    enumerates,
    label_at,
    label_of,
    paragraph_at,
    paragraph_bounds,
    sentence_end,
    stripped,
)

MAX_GAP = 1  # paragraphs that do not open like the items, passed over between two items
MAX_ITEMS = 20
_SPEAKER = re.compile(r"(?P<who>[\u4e00-\u9fff]{2,4}?)(?:在[^，,。：:]{0,10}?中)?"
                      r"(?:强调|指出|要求|提出|表示|认为|说)[,，：:]")
_OPENING = re.compile(r"(?P<words>[^，,。；;：:！？!?\s]{2,6})[,，]")


@dataclass(frozen=True)
class ListItem:
    char_start: int  # article offsets of the item's text (its number not included)
    char_end: int
    paragraph: int
    label: str | None  # the number printed before it (一是, （二）), as printed


@dataclass(frozen=True)
class GatheredList:
    items: tuple[ListItem, ...]
    numbered: bool  # the text numbers the items: their count is stated by the text


def gather_list(article: Article, start: int, end: int) -> GatheredList | None:
    """The list the span at ``start``-``end`` belongs to or introduces, or None."""
    paragraph = paragraph_at(article, start)
    if paragraph is None:
        return None
    if enumerates(article.text[slice(*_clause_of(article, start, end))]):
        return None  # 撤销火车站、高速公路…等交通卡口: the list is inside the span's clause
    for gather in (_inline_items, _numbered_paragraphs, _alike_paragraphs):
        found = gather(article, paragraph)
        if found is not None and len(found.items) > 1 and _heads(article, found, paragraph, start):
            return found
    return None


def _clause_of(article: Article, start: int, end: int) -> tuple[int, int]:
    """The clause(s) the span stands in: from the clause break before it to the one after."""
    lower, upper = paragraph_bounds(article, start)
    return clause_start(article.text, lower, start), clause_end(article.text, end, upper)


def _heads(article: Article, found: GatheredList, paragraph: Paragraph, start: int) -> bool:
    """Whether the span stands where the list is named: in the sentence that introduces
    it, or in an item's first sentence. A span deep in one item's body answers from that
    item, not from the whole list (a policy's 10 measures for 哪些企业可以申请 one of them)."""
    first = found.items[0]
    if paragraph.index < first.paragraph or (paragraph.index == first.paragraph and start < first.char_start):
        return True  # the introduction
    for item in found.items:
        if item.paragraph == paragraph.index and start >= item.char_start - 8:
            lead_end = sentence_end(article.text, item.char_start, item.char_end)
            if start < lead_end:
                return True
    return False


def _inline_items(article: Article, paragraph: Paragraph) -> GatheredList | None:
    """一是…二是…三是… (or （一）…（二）…) within one paragraph: each from its number to the next."""
    text = article.text
    inline = ("shi", "paren", "circled", "di")
    labels = [lab for m in LABEL.finditer(text, paragraph.start, paragraph.end)
              if (lab := label_of(m)).family in inline]
    for family in inline:
        run = _numbered_run([lab for lab in labels if lab.family == family])
        if len(run) < 2:
            continue
        items = []
        for i, lab in enumerate(run):
            stop = run[i + 1].start if i + 1 < len(run) else sentence_end(text, lab.end, paragraph.end)
            first, last, _ = stripped(text, lab.end, stop)
            last = _without_trailing_punctuation(text, first, last)
            if last > first:
                items.append(ListItem(first, last, paragraph.index, text[lab.start : lab.end]))
        return GatheredList(tuple(items), numbered=True)
    return None


def _numbered_paragraphs(article: Article, paragraph: Paragraph) -> GatheredList | None:
    """Paragraphs opening with numbers of one kind in sequence, around or after the span's.
    A short numbered line reads as a heading (2.银行汇款) and still is an item; the
    unnumbered paragraphs after an item, up to the next, are its text (开户行：…)."""
    # Any paragraph but a byline: layout rules read a short numbered line as a heading
    # (2.银行汇款) or a caption (12条措施如下:), and it still is an item or an introduction.
    paragraphs = [p for p in article.paragraphs if p.kind != "byline"]
    position = next((i for i, p in enumerate(paragraphs) if p.index == paragraph.index), None)
    if position is None:
        return None
    text = article.text
    labels = [label_at(text, p.start) for p in paragraphs]
    anchor = labels[position]
    if anchor is None and position + 1 < len(paragraphs):
        # The span's paragraph introduces the list (…如下： / 主要有以下措施：).
        following = labels[position + 1]
        if following is not None and following.number == 1:
            position, anchor = position + 1, following
    if anchor is None:
        return None
    chosen = {position: anchor}
    for step in (-1, 1):
        expected, i, gap = anchor.number + step, position + step, 0
        while 0 <= i < len(paragraphs) and expected >= 1 and len(chosen) < MAX_ITEMS:
            lab = labels[i]
            if lab is not None and lab.family == anchor.family and lab.number == expected:
                chosen[i], expected, gap = lab, expected + step, 0
            elif lab is not None and lab.family == anchor.family:
                break  # another list of the same numbering
            else:
                gap += 1
                if gap > 3:  # an item may run on over a few paragraphs; a list does not stop
                    break
            i += step
    items = []
    order = sorted(chosen)
    for k, i in enumerate(order):
        p, lab = paragraphs[i], chosen[i]
        stop = order[k + 1] if k + 1 < len(order) else (i + 1 if p.kind == "body" else i + 1 + MAX_GAP)
        end = p.end
        for j in range(i + 1, min(stop, len(paragraphs))):
            if labels[j] is not None or paragraphs[j].kind == "heading":
                break
            end = paragraphs[j].end
        first, last, _ = stripped(text, lab.end, end)
        items.append(ListItem(first, last, p.index, text[lab.start : lab.end]))
    return GatheredList(tuple(items), numbered=True)


def _alike_paragraphs(article: Article, paragraph: Paragraph) -> GatheredList | None:
    """Consecutive paragraphs opening with the same speaker or the same words: the first
    sentence of each is an item."""
    text = article.text
    paragraphs = [p for p in article.paragraphs if p.kind == "body"]
    position = next((i for i, p in enumerate(paragraphs) if p.index == paragraph.index), None)
    if position is None:
        return None
    key = _opening(text, paragraphs[position])
    if key is None:
        return None
    chosen = [position]
    for step in (-1, 1):
        i, gap = position + step, 0
        while 0 <= i < len(paragraphs) and len(chosen) < MAX_ITEMS:
            if _opening(text, paragraphs[i]) == key:
                chosen.append(i)
                gap = 0
            else:
                gap += 1
                if gap > MAX_GAP:
                    break
            i += step
    items = []
    for i in sorted(chosen):
        p = paragraphs[i]
        first, last, _ = stripped(text, p.start, sentence_end(text, p.start, p.end))
        items.append(ListItem(first, _without_trailing_punctuation(text, first, last), p.index, None))
    return GatheredList(tuple(items), numbered=False)


def _opening(text: str, paragraph: Paragraph) -> tuple[str, str] | None:
    """What a paragraph opens with, as a key that its list's other items share."""
    speaker = _SPEAKER.match(text, paragraph.start, paragraph.end)
    if speaker:
        return ("speaker", speaker.group("who"))
    words = _OPENING.match(text, paragraph.start, paragraph.end)
    if words:
        return ("words", words.group("words"))
    return None


def _numbered_run(labels: list[Label]) -> list[Label]:
    """The labels numbered 1, 2, 3… in order (the first such run)."""
    run: list[Label] = []
    for lab in labels:
        if lab.number == len(run) + 1:
            run.append(lab)
        elif run and lab.number <= len(run):
            break
    return run


def _without_trailing_punctuation(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in "；;，,、。":
        end -= 1
    return end
