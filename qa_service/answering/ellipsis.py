"""Follow-ups that cannot stand alone, restated in full from the question before them.

Chinese leaves out what the conversation already said, in two shapes a reader cannot
read alone: ``X呢？`` asks the previous question again about X (after
藁城区建成了多少个新时代文明实践站？, 志愿服务队呢？ means 藁城区建成了多少个志愿服务队？),
and a pronoun (它, 其, 该项目) points back at the previous question's subject. Read as
typed, the reader answers something near X with confidence (志愿服务队呢？ → 如今,身穿红马甲
0.56), so these shapes are restated before they are read. Which part of the previous
question X replaces cannot be told from the words alone (藁城区完成了多少户厕所改造？ then
美丽庭院呢？ or 新华区呢？), so every plausible restatement is offered and the reader keeps
the first it finds an answer for. The reader's has-answer head does not check names
(上海的市委书记是谁？ over a Shijiazhuang passage: 张超超), so where X is new to the
conversation, the answer's passage must name X: 北京冬奥会呢？ after a question about
toilets is not answered with the number of toilets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..index import tokenize
from .answer import question_terms
from .quoted import masked

_END = "？?。.！!"
# "X呢?" (also "那X呢?"): the whole follow-up is one phrase and the particle.
_AND_WHAT_ABOUT = re.compile(rf"^(?:那么?|那)?\s*(?P<topic>[^{_END}，,呢\s]{{2,30}}?)\s*呢\s*[{_END}]*$")
# Words that point back: a pronoun, or a demonstrative with the kind of thing it names.
# Plural pointers (这些, 它们) are left alone: they mostly mean the things counted before,
# not the subject.
_POINTER = re.compile(r"(?<!其)它(?!们)|(?:(?<!应)该|这个|那个|这一|此(?=[项次]))"
                      r"(?:项目|公司|企业|工程|活动|会议|大会|区|县|市|园区|政策|文件)?|^其(?![他它中次余实])")
# Where the previous question's subject ends: its question word, or the first word of
# its predicate (在, 是, 位于, 预计...).
_PREDICATE = re.compile(r"什么|多少|几|哪|谁|何|怎|如何|是否|有没有|是不是|为什么|在|是|位于|的|一共|"
                        r"今年|去年|预计|计划|已经")
# An amount asked for something: 多少个新时代文明实践站 -> the thing is 新时代文明实践站.
_AMOUNT_OF = re.compile(rf"(?:多少|几)(?P<unit>[^{_END}\s]?)(?P<thing>[^{_END}，,]{{2,}}?)\s*[{_END}]*$")


@dataclass(frozen=True)
class Restatement:
    """A follow-up asked in full, and the words it adds that its answer's passage must name."""

    text: str
    topic: str | None = None


def names(passage: str, topic: str) -> bool:
    """Whether ``passage`` names ``topic``: at least half of its terms (character pairs,
    Latin words: the lexical index's) occur in it, so 石家庄市 is named by 石家庄."""
    wanted = question_terms(topic)
    found = wanted & set(tokenize(passage))
    return bool(wanted) and len(found) * 2 >= len(wanted)


def subject_of(question: str) -> str | None:
    """The previous question's subject: the words before its predicate (藁城区生活垃圾资源化项目
    of 藁城区生活垃圾资源化项目什么时候投产？); None where too little precedes it."""
    found = _PREDICATE.search(question.strip(), 2)
    subject = question.strip()[: found.start()] if found else None
    return subject if subject and len(subject) >= 2 else None


def restatements(question: str, previous: str) -> list[Restatement]:
    """The follow-up ``question`` restated in full from ``previous``, most likely first;
    empty where it is not elliptical or ``previous`` gives nothing to restate it with."""
    question, previous = question.strip(), previous.strip()
    ask = previous.rstrip(_END) + "？"
    subject = subject_of(previous)
    found: list[Restatement] = []
    about = _AND_WHAT_ABOUT.match(question)
    if about:
        topic = about.group("topic").strip()
        amount = _AMOUNT_OF.search(ask)
        if amount:  # the thing counted: 多少个新时代文明实践站 -> 多少个志愿服务队
            found.append(Restatement(ask[: amount.start("thing")] + topic + "？", topic))
        if subject:  # the subject: 藁城区的总投资是多少 -> 新华区的总投资是多少
            found.append(Restatement(topic + ask[len(subject):], topic))
    elif subject:
        pointer = _POINTER.search(masked(question))  # 《藁城这一年》 points at nothing
        if pointer:
            # 其 and 它的 stand for "its": the subject takes 的 where the pronoun did.
            word = pointer.group()
            owner = subject + ("的" if word == "其" and not subject.endswith("的") else "")
            found.append(Restatement(question[: pointer.start()] + owner + question[pointer.end():]))
    return [f for f in dict.fromkeys(found) if f.text != question]
