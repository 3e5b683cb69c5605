"""Answers shaped like their questions, through the Retriever: every part verbatim article
text at its offsets, each cited; today's fields kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.answering import Retriever
from qa_service.config import Settings
from qa_service.index import build_index, load_index

from ..conftest import FakeEncoder, FakeReader

# What the fake reader points at, by words of the question (conftest.FakeReader).
ANSWERS = {"哪几个方面": "常抓不懈的姿态推动项目建设", "厕所": "14880户",
           "投产": "生活垃圾资源化项目正式投产", "一共有多少个": "181个", "总投资多少": "953.59亿元",
           "总结": "14880户", "谁写的": "王 朋摄"}


@pytest.fixture
def retriever(settings: Settings, fake_encoder: FakeEncoder) -> Retriever:
    build_index(settings, fake_encoder)
    return Retriever(load_index(settings.index_dir), fake_encoder, reader=FakeReader(ANSWERS))


def assert_verbatim(retriever: Retriever, parts: list[dict]) -> None:
    """Each part is its article's text at its offsets, in the paragraph it cites."""
    store = retriever.index.store
    for part in parts:
        article = store.get_article(part["article"]["id"])
        assert article is not None
        assert article.text[part["char_start"] : part["char_end"]] == part["text"]
        paragraph = article.paragraphs[part["paragraph"]]
        assert paragraph.start <= part["char_start"] < paragraph.end


def test_a_factoid_keeps_its_short_span(retriever: Retriever) -> None:
    result = retriever.ask("藁城区完成了多少户厕所改造？")
    answer = result["answer"]
    assert answer["shape"] == "factoid" and answer["text"] == "14880户" and answer["kind"] == "span"
    assert [(p["text"], p["char_start"]) for p in answer["parts"]] == [("14880户", answer["char_start"])]
    assert "14880户" in answer["sentence"]["text"]  # today's fields stay


def test_a_list_question_gets_every_item_in_text_order(retriever: Retriever) -> None:
    result = retriever.ask("张超超在讲话中提出了哪几个方面的要求？")
    answer = result["answer"]
    assert result["found"] and answer["shape"] == "list"
    texts = [p["text"] for p in answer["parts"]]
    assert len(texts) == 6 and texts[0].endswith("要以常抓不懈的姿态推动项目建设")
    assert texts[-1] == "张超超强调,要以扎实过硬的作风凝聚发展合力"
    assert answer["text"] == "\n".join(texts)
    assert answer["count"] is None  # the text does not number them
    assert [p["char_start"] for p in answer["parts"]] == sorted(p["char_start"] for p in answer["parts"])
    assert_verbatim(retriever, answer["parts"])
    # The cards mark the items they hold.
    marked = [span for p in result["passages"] for span in p.get("answer_parts", [])]
    cited = [[p["char_start"], p["char_end"]] for p in answer["parts"]]
    assert marked and all(span in cited for span in marked)


def test_a_yes_no_question_says_yes_only_with_the_sentence_that_says_so(retriever: Retriever) -> None:
    answer = retriever.ask("藁城区的生活垃圾资源化项目已经投产了吗？")["answer"]
    assert answer["shape"] == "yes_no" and answer["verdict"] == "yes" and answer["verdict_label"] == "是"
    [evidence] = answer["parts"]
    assert evidence["text"] == "11月14日,随着第一车垃圾顺利进场,藁城区生活垃圾资源化项目正式投产运行。"
    assert_verbatim(retriever, answer["parts"])


def test_each_part_of_a_several_part_question_is_answered_and_cited(retriever: Retriever) -> None:
    result = retriever.ask("“五个一批”项目一共有多少个，总投资多少？")
    answer = result["answer"]
    assert result["shape"]["parts"] == ["“五个一批”项目一共有多少个", "总投资多少"]
    assert [(p["label"], p["text"]) for p in answer["parts"]] == [
        ("“五个一批”项目一共有多少个", "181个"), ("总投资多少", "953.59亿元")]
    assert_verbatim(retriever, answer["parts"])


def test_a_summary_is_the_named_articles_stored_summary(retriever: Retriever) -> None:
    result = retriever.ask("总结一下《藁城这一年》这篇文章的主要内容。")
    answer = result["answer"]
    assert result["found"] and answer["shape"] == "summary" and answer["article"]["title"] == "藁城这一年"
    assert answer["passage_rank"] is None  # from the article's notes, not a passage
    labels = [p["label"] for p in answer["parts"]]
    assert labels[0] == "导语" and "小标题" in labels and "要点" in labels
    assert "14880户" not in [p["text"] for p in answer["parts"]]  # never the reader's fragment
    assert_verbatim(retriever, answer["parts"])
    # The passages do not mark the reader's span as the answer.
    assert all(p["answer_span"] is None for p in result["passages"])


def test_who_wrote_it_is_answered_from_the_byline_never_a_photo_credit(retriever: Retriever) -> None:
    result = retriever.ask("《藁城这一年》是谁写的？")
    answer = result["answer"]
    assert result["found"] and answer["shape"] == "about_article" and answer["about"] == "authors"
    assert [p["text"] for p in answer["parts"]] == ["张建功", "秦思", "王凯凯", "苏秋菊"]
    assert all(p["label"] == "作者" for p in answer["parts"])
    assert answer["article"]["authors"] == ["张建功", "秦思", "王凯凯", "苏秋菊"]  # article.authors
    cards = {p["article"]["title"]: p["article"]["authors"] for p in result["passages"]}
    assert cards["藁城这一年"] == ["张建功", "秦思", "王凯凯", "苏秋菊"]
    assert_verbatim(retriever, answer["parts"])
    dated = retriever.ask("《石市举行2021年第四季度项目观摩活动并召开讲评总结大会》是哪天发表的？")
    assert dated["found"] and dated["answer"]["about"] == "date" and dated["answer"]["parts"] == []
    assert dated["answer"]["article"]["date"] == "2021-10-10"


def test_an_article_without_a_byline_has_no_author(settings: Settings, fake_encoder: FakeEncoder) -> None:
    Path(settings.corpus_dir, "notice.txt").write_text(
        "防疫通知\n\n各单位要做好疫情防控工作,加强人员管理。\n", encoding="utf-8")
    build_index(settings, fake_encoder)
    retriever = Retriever(load_index(settings.index_dir), fake_encoder, reader=FakeReader(ANSWERS))
    result = retriever.ask("《防疫通知》是谁写的？")
    assert result["found"] is False and result["answer"] is None
    assert result["message"].startswith("这篇文章没有署名")


def test_a_part_no_passage_answers_is_said_to_be_unanswered(settings: Settings,
                                                            fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    retriever = Retriever(load_index(settings.index_dir), fake_encoder,
                          reader=FakeReader({"一共有多少个": "181个"}))
    answer = retriever.ask("“五个一批”项目一共有多少个，总投资多少？")["answer"]
    assert [p["text"] for p in answer["parts"]] == ["181个"]
    assert answer["unanswered"] == ["总投资多少"]


def test_a_factoid_asking_an_amount_shows_the_first_amount_only(settings: Settings,
                                                                 fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    retriever = Retriever(load_index(settings.index_dir), fake_encoder,
                          reader=FakeReader({"美丽庭院": "2.5万户、精品庭院6473户"}))
    result = retriever.ask("藁城区创建了多少户美丽庭院？")
    answer = result["answer"]
    assert answer["text"] == "2.5万户" and [p["text"] for p in answer["parts"]] == ["2.5万户"]
    assert result["passages"][0]["answer_span"] == [answer["char_start"], answer["char_end"]]
    assert_verbatim(retriever, answer["parts"])
