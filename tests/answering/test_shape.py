"""The shape of answer a question asks for, decided from its words."""

from __future__ import annotations

import pytest

from qa_service.answering import Retriever
from qa_service.answering.shape import shape_of
from qa_service.config import Settings
from qa_service.index import build_index, load_index

from ..conftest import FakeEncoder, FakeReader


@pytest.mark.parametrize(("question", "kind"), [
    # One fact: the reader's span.
    ("藁城区完成了多少户厕所改造？", "factoid"),
    ("讲评总结大会由谁主持？", "factoid"),  # 总结 of a meeting's name asks for no summary
    ("重庆市针对什么样的企业登记实行特事特办？", "factoid"),
    ("第三季度项目观摩活动是哪天举行的？", "factoid"),
    ("How many households had their toilets renovated?", "factoid"),
    # Every item.
    ("张超超在讲话中提出了哪几个方面的要求？", "list"),
    ("这次观摩活动看了哪些县区的项目？", "list"),
    ("有哪些县区参加了观摩吗？", "list"),  # 吗 after a question word asks for the items
    ("Which counties were visited?", "list"),
    ("APP有哪些功能？", "list"),  # Chinese after a Latin word is read as Chinese
    # The clauses that explain.
    ("漯河市如何加快企业复工，加快项目开工？", "explanation"),  # one question, two verbs
    ("上海市对菜场商超有何管理要求？", "explanation"),
    ("重庆给予的援企稳岗政策是什么？", "explanation"),
    ("如何判断是否感染？", "explanation"),  # how to tell whether: not a yes/no
    ("How did Gaocheng improve its business environment?", "explanation"),
    # Several questions in one.
    ("“五个一批”项目一共有多少个，总投资多少？", "parts"),
    ("藁城区和新华区分别完成了多少户？", "parts"),
    # Yes or no.
    ("藁城区的生活垃圾资源化项目已经投产了吗？", "yes_no"),
    ("返京人员是否需要隔离？", "yes_no"),
    ("Is the waste project in production?", "yes_no"),
    # The article's summary, and the article itself, asked of an article.
    ("总结一下《藁城这一年》这篇文章的主要内容。", "summary"),
    ("总结一下藁城区的项目建设", "summary"),
    ("Summarize the article.", "summary"),
    ("这篇文章是哪天发表的？", "about_article"),
    ("这篇报道的记者是谁？", "about_article"),
    ("Who wrote this article?", "about_article"),
    ("Who wrote 藁城这一年?", "about_article"),  # English around a Chinese title
    # The same words about something an article tells.
    ("《黄泉归来》的作者是谁？", "factoid"),
    ("黄花镇主要收入来源是什么？", "factoid"),
    ("伊朗国家电视台报道了什么？", "factoid"),
])
def test_each_question_gets_the_shape_its_words_ask_for(question: str, kind: str) -> None:
    assert shape_of(question).kind == kind


def test_a_title_the_index_holds_makes_the_question_about_that_article() -> None:
    assert shape_of("《藁城这一年》讲了什么？", names_an_article=True).kind == "summary"
    assert shape_of("《藁城这一年》是谁写的？", names_an_article=True).kind == "about_article"
    assert shape_of("《藁城这一年》是谁写的？").kind == "factoid"  # a book's, as far as we know


def test_several_parts_are_the_clauses_that_ask() -> None:
    shape = shape_of("“五个一批”项目一共有多少个，总投资多少？")
    assert shape.parts == ("“五个一批”项目一共有多少个", "总投资多少")
    # A clause without a question word of its own is part of the one question.
    assert shape_of("目前，上海临港“网上连线、逐个签约”总投资额为多少？").parts == ()


def test_quoted_words_are_never_cues() -> None:
    assert shape_of("《如何做好疫情防控》这篇文章是谁写的？").kind == "about_article"
    assert shape_of("《如何做好疫情防控》是谁写的？", names_an_article=True).kind == "about_article"
    assert shape_of("“是否”这个词在文中出现了几次？").kind == "factoid"


def test_the_answer_json_says_the_shape(settings: Settings, fake_encoder: FakeEncoder,
                                        fake_reader: FakeReader) -> None:
    build_index(settings, fake_encoder)
    retriever = Retriever(load_index(settings.index_dir), fake_encoder, reader=fake_reader)
    result = retriever.ask("藁城区农村人居环境整治取得了哪些成效？")
    assert result["shape"] == {"kind": "list", "cue": "哪些", "parts": []}
    nothing = retriever.ask("？？")  # nothing to search: the shape is still said
    assert nothing["passages"] == [] and nothing["shape"]["kind"] == "factoid"


def test_a_summary_is_not_answered_with_a_fragment(settings: Settings, fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    # A reader that finds "an answer" in any passage: read alone, a summary question gets one.
    reader = FakeReader({"藁城": "14880户"})
    retriever = Retriever(load_index(settings.index_dir), fake_encoder, reader=reader)
    result = retriever.ask("总结一下《藁城这一年》这篇文章的主要内容。")
    assert result["shape"]["kind"] == "summary" and result["found"] is True
    assert result["answer"]["shape"] == "summary" and result["answer"]["text"] != "14880户"
    assert result["named_articles"][0]["title"] == "藁城这一年"
    assert {p["article"]["title"] for p in result["passages"]} == {"藁城这一年"}
    pointed = retriever.ask("这篇关于厕所改造的文章讲了什么？")  # no title: the first passage's article
    assert pointed["shape"]["kind"] == "summary" and pointed["found"] is True
    assert pointed["answer"]["article"]["id"] == pointed["passages"][0]["article"]["id"]
    asked = retriever.ask("《藁城这一年》里完成了多少户厕所改造？")  # the same reader, a factoid
    assert asked["shape"]["kind"] == "factoid" and asked["found"] is True
