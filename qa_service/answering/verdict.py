"""是 or 否, only where the evidence sentence says so.

A yes/no question asks whether something holds: 藁城区的生活垃圾资源化项目已经投产了吗？
The evidence sentence answers 是 when it states the question's predicate (the longest
run of the question's words it repeats, at least two characters: 投产), 否 when it states
it negated (未投产, 不得复工, 尚未…); a predicate hedged as a plan or a guess (预计年底即可投产,
将于…, 计划…) is not stated, and neither is one the sentence does not repeat. Those are
文中没有明确说明, with the sentence shown as the evidence: never a guess.
"""

from __future__ import annotations

import re
from typing import Literal

from .quoted import masked

Verdict = Literal["yes", "no", "unstated"]
VERDICT_WORDS = {"yes": "是", "no": "否", "unstated": "文中没有明确说明"}

_CUE = re.compile(r"是否|有没有|是不是|能不能|可不可以|会不会|有无|能否|可否|要不要|需不需要|算不算")
_ENDING = re.compile(r"(?:了|过|呢)?吗?[\s？?。!！]*$")
_NEGATION = re.compile(r"未|没有|没|不|无|非|禁止|严禁|停止|暂停|取消|防止|杜绝")
# Words with 不 or 无 in them that negate nothing: 不断推进, 不少项目, 无论.
_NOT_NEGATION = re.compile(r"不断|不仅|不少|不久|不同|不光|无论|并非只|非常")
NEGATION_REACH = 6  # characters before the predicate where a negation applies to it
_HEDGE = re.compile(r"预计|计划|拟|将于|将要|即将|有望|争取|力争|可望|准备|打算")
MIN_PREDICATE = 2


def predicate_of(question: str) -> str:
    """What the question asks to hold: the words after its cue (是否…), or its body
    without the final 吗 (…已经投产了吗)."""
    question = question.strip()
    cue = _CUE.search(masked(question))  # a cue inside quotes is part of a name
    body = question[cue.end():] if cue else question
    return _ENDING.sub("", body)


def verdict_of(question: str, sentence: str) -> Verdict:
    """是 / 否 / not stated, by what ``sentence`` says of the question's predicate."""
    predicate = predicate_of(question)
    match = _longest_shared(predicate, sentence)
    if match is None:
        return "unstated"
    start = match
    clause_start = max(sentence.rfind(c, 0, start) for c in "，,；;。") + 1
    before = sentence[clause_start:start]
    if _HEDGE.search(before):
        return "unstated"
    # A negating word the question asks about itself (是否停止了…) is its predicate, not a 否.
    negations = [m.group() for m in _NEGATION.finditer(_NOT_NEGATION.sub("", before[-NEGATION_REACH:]))]
    if any(word not in predicate for word in negations):
        return "no"
    return "yes"


def _longest_shared(predicate: str, sentence: str) -> int | None:
    """Where in ``sentence`` the longest ending of ``predicate`` stands that it holds:
    the predicate's last words are its verb or object (已经投产 → 投产), its first ones the
    subject, which says nothing of whether the predicate holds."""
    predicate = predicate.rstrip("的了着过")
    for first in range(len(predicate) - MIN_PREDICATE + 1):
        piece = predicate[first:]
        if not re.search(r"[\u4e00-\u9fffA-Za-z0-9]{2}", piece):
            continue
        found = sentence.find(piece)
        if found >= 0:
            return found
    return None
