"""The shape of answer a question asks for, decided from its words.

A citizen asking 如何加快企业复工 wants the measures, not three words; 哪几个方面 wants every
item; 是否 wants 是 or 否 where the text says so; 总结一下 wants the article's lead and key
sentences; 谁写的 wants the byline. The shapes:

- ``factoid``: one fact (多少, 谁, 哪天, 在哪): the reader's span;
- ``list``: 哪些, 哪几, 包括, 有什么 (but 有什么要求 explains);
- ``explanation``: 如何, 怎样, 为什么, 什么措施, 什么要求, 有何政策;
- ``parts``: several questions in one (…多少个，总投资多少; 分别);
- ``yes_no``: 是否, …吗, 有没有;
- ``summary``: 总结, 概括, 主要内容, 讲了什么, 要点;
- ``about_article``: 作者, 谁写的, 记者, 哪天发表, 来源.

Rules, checked in the order above from the last (an article's byline before its
summary, a summary before a yes/no, several parts before one list): a question such as
《藁城这一年》讲了哪些内容 is a summary, not a list. A summary or the article itself is
asked of an article: the question says so (这篇文章, 本文, 该报道) or names one the index
holds by its title. Otherwise the same words ask about something the text tells:
《黄泉归来》的作者是谁 asks for a book's author, 收入来源 for a fact, 游戏的主要内容 for an
explanation. English questions are read by their opening words. Quoted words (titles,
names) are never read as cues.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .quoted import masked

Shape = Literal["factoid", "list", "explanation", "parts", "yes_no", "summary", "about_article"]
SHAPES: tuple[Shape, ...] = ("factoid", "list", "explanation", "parts", "yes_no", "summary", "about_article")


@dataclass(frozen=True)
class QuestionShape:
    kind: Shape
    cue: str | None = None  # the words that decided it (None: a factoid by default)
    parts: tuple[str, ...] = ()  # the questions of a several-part question, as written

    def to_json(self) -> dict:
        return {"kind": self.kind, "cue": self.cue, "parts": list(self.parts)}


_ABOUT_ARTICLE = re.compile(
    r"作者|谁写的|谁撰写|哪位记者|记者是谁|由谁撰稿|撰稿人|署名|通讯员是谁|"
    r"(?:哪天|哪一天|什么时候|何时|几月几日|哪年)(?:发表|发布|刊发|刊登|见报)|发表(?:于|在)?(?:哪天|何时|什么时候)|"
    r"发布时间|来源|出自哪|出处|哪家(?:媒体|报纸|报社|网站)|(?:刊登|发表)在哪")
# The question is about an article (not about something an article tells).
_ARTICLE = re.compile(r"(?:这|那|本|该|此)(?:篇|则|份)?(?:文章|报道|稿件|新闻|消息|通讯|文)|本文|该文|此文|"
                      r"文章|稿子|这篇|那篇|本篇|全文")
# 总结 asked for (总结一下, 请概括), not the 总结 of a name (讲评总结大会).
_SUMMARY_VERB = re.compile(r"^(?:请|帮我|麻烦你?)?(?:总结|概括|归纳)")
_SUMMARY = re.compile(_SUMMARY_VERB.pattern + r"|(?:总结|概括|归纳)(?:一下|下|这篇|本文|该文|文章|全文|其)|"
                      r"主要内容|讲了什么|讲的是什么|说了什么|写了什么|报道了什么|讲了哪些内容|"
                      r"要点(?:是什么|有哪些)|摘要|大意|主旨|核心内容|简要介绍|简单介绍一下")
_YES_NO = re.compile(r"是否|有没有|是不是|能不能|可不可以|会不会|有无|能否|可否|要不要|需不需要|算不算|已否")
# …吗 at the end, where no other question word asks something else (有哪些…吗 is a list).
_MA_END = re.compile(r"吗\s*[？?。!！]*\s*$")
_WH = re.compile(r"什么|多少|几[个项条点方年月日天次人种家所]|哪|谁|(?<!任)何|怎")
_EXPLANATION = re.compile(
    r"如何|怎样|怎么|为什么|为何|何以|什么(?:样的)?(?:措施|要求|政策|规定|办法|举措|作用|意义|目的|用途|安排|"
    r"支持|帮助|保障|服务|条件|标准|手续|原因)|有何|何种|作何|采取了?什么|做了什么|做出了?什么|"
    r"做了哪些工作|(?:政策|措施|要求|规定|办法|举措|作用|意义|目的|用途|安排)(?:是|有)什么")
_LIST = re.compile(r"哪些|哪几|包括|包含|有什么|有啥|列举|几个方面|几方面|几项|几类|几种|几点|"
                   # The steps or ways of doing something are listed: 处置流程是什么, 有什么渠道.
                   r"(?:流程|步骤|程序|途径|渠道|方式|栏目)(?:是|有)(?:什么|哪些)|什么(?:流程|步骤|途径|渠道|方式|栏目)")
_PARTS_WORD = re.compile(r"分别")
# Where a question's clauses meet: a comma or semicolon, 以及, 并且, 还有, 同时.
_CLAUSE = re.compile(r"[，,；;]\s*|(?:以及|并且|还有|同时)")
_ENGLISH = {
    "about_article": re.compile(r"^(who (wrote|reported|authored)|which (newspaper|paper|outlet)|"
                                r"when was .* (published|written))|\bauthor\b", re.I),
    "summary": re.compile(r"\bsummari[sz]e|\bsum up\b|\bmain (points|idea|content)|"
                          r"\bwhat is (this|the) (article|report) about", re.I),
    "yes_no": re.compile(r"^(is|are|was|were|does|do|did|has|have|had|can|could|will|would|should)\b", re.I),
    "explanation": re.compile(r"^(how|why)\b(?! (many|much|long|old|far|often|big|large)\b)|"
                              r"\bwhat (measures|steps|policies)\b", re.I),
    "list": re.compile(r"^(which|what) (\w+ ){0,2}\w+s (are|were|have|had|did|do)\b|^list\b", re.I),
}


def shape_of(question: str, names_an_article: bool = False) -> QuestionShape:
    """The shape the answer to ``question`` should take (see the module's note);
    ``names_an_article``: its 《title》 is an article the index holds."""
    text = masked(question.strip())
    if not re.search(r"[\u4e00-\u9fff]", text):
        return _english_shape(text)
    if re.match(r"[A-Za-z]", text):  # English around a Chinese name: Who wrote 藁城这一年?
        english = _english_shape(text)
        if english.kind != "factoid":
            return english
    if names_an_article or _ARTICLE.search(text):
        for kind, pattern in (("about_article", _ABOUT_ARTICLE), ("summary", _SUMMARY)):
            found = pattern.search(text)
            if found:
                return QuestionShape(kind, found.group())  # type: ignore[arg-type]
    elif verb := _SUMMARY_VERB.match(text):  # 总结一下… asks for a summary of whatever it names
        return QuestionShape("summary", verb.group())
    parts = _parts(question)
    if len(parts) > 1:
        return QuestionShape("parts", "，".join(parts), parts)
    word = _PARTS_WORD.search(text)
    if word:
        return QuestionShape("parts", word.group())
    explains = _EXPLANATION.search(text)
    # 是否 asks yes or no, unless asked how to tell (如何判断是否感染).
    found = _YES_NO.search(text)
    if found and not (explains and explains.start() < found.start()):
        return QuestionShape("yes_no", found.group())
    if _MA_END.search(text) and not _WH.search(text):
        return QuestionShape("yes_no", "吗")
    if explains:
        return QuestionShape("explanation", explains.group())
    found = _LIST.search(text)
    if found:
        return QuestionShape("list", found.group())
    return QuestionShape("factoid")


def _parts(question: str) -> tuple[str, ...]:
    """The clauses of ``question`` that each ask something (a question word of their own):
    “五个一批”项目一共有多少个，总投资多少？ is two. Quoted words are not split."""
    text = masked(question.strip())
    pieces, start = [], 0
    for m in _CLAUSE.finditer(text):
        pieces.append((start, m.start()))
        start = m.end()
    pieces.append((start, len(text)))
    asking = [question.strip()[a:b].strip(" ？?。") for a, b in pieces if _WH.search(text[a:b])]
    return tuple(p for p in asking if p) if len(asking) > 1 else ()


def _english_shape(text: str) -> QuestionShape:
    for kind, pattern in _ENGLISH.items():
        found = pattern.search(text)
        if found:
            return QuestionShape(kind, found.group())  # type: ignore[arg-type]
    return QuestionShape("factoid")
