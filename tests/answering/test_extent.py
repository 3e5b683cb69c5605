"""How far an answer reaches around the reader's span: explanations, lists, yes/no."""

from __future__ import annotations

import pytest

from qa_service.answering.extent import explanation_extent, label_at, list_extent, numeral
from qa_service.answering.listing import gather_list
from qa_service.answering.verdict import verdict_of
from qa_service.corpus import Article, parse_document

from ..corpus.test_notes import seed_articles


def article_of(text: str) -> Article:
    [article] = parse_document(text, "policy.txt")
    return article


def span_of(article: Article, words: str) -> tuple[int, int]:
    start = article.text.index(words)
    return start, start + len(words)


@pytest.fixture(scope="module")
def speech() -> Article:
    return next(a for t, a in seed_articles().items() if t.startswith("石市举行"))


def test_an_explanation_runs_from_the_spans_clause_to_its_sentences_end() -> None:
    article = article_of("标题\n\n6.对于暂停举办的展会项目，如年内继续在京举办的，"
                         "按照不超过场租50%的标准给予支持，补助金额不超过50万元。其他事项另行通知。\n")
    first, last, label = explanation_extent(article, *span_of(article, "不超过场租50%"))
    assert article.text[first:last] == "按照不超过场租50%的标准给予支持，补助金额不超过50万元。"
    assert label is None


def test_an_items_number_becomes_its_label_not_its_text() -> None:
    article = article_of("标题\n\n（九）暂缓安排老年人的年度体检工作，待疫情防控结束后逐步恢复。\n")
    first, last, label = explanation_extent(article, *span_of(article, "暂缓安排"))
    assert article.text[first:last] == "暂缓安排老年人的年度体检工作，待疫情防控结束后逐步恢复。"
    assert label is not None and article.text[label.start : label.end] == "（九）"


def test_a_short_point_opening_its_paragraph_goes_on_through_its_explanation(speech: Article) -> None:
    first, last, _ = explanation_extent(speech, *span_of(speech, "安全环保的理念"))
    shown = speech.text[first:last]
    assert shown.startswith("要以安全环保的理念夯实发展基石。要确保安全生产")
    assert shown.endswith("把各类风险隐患消除在萌芽状态。")


def test_a_list_answer_reaches_back_to_its_enumeration() -> None:
    enumeration = "加快构建情感上暖心、行动上贴心、措施上用心的服务体系,持续擦亮金字招牌。"
    article = article_of(f"标题\n\n该区坚持改革,{enumeration}\n")
    first, last, _ = list_extent(article, *span_of(article, "持续擦亮"))
    assert article.text[first:last] == enumeration


def test_paragraphs_opening_with_the_same_speaker_are_one_list(speech: Article) -> None:
    found = gather_list(speech, *span_of(speech, "常抓不懈的姿态推动项目建设"))
    assert found is not None and not found.numbered  # the text does not number them
    items = [speech.text[i.char_start : i.char_end] for i in found.items]
    assert items == ["张超超在讲话中指出,要以常抓不懈的姿态推动项目建设",
                     "张超超强调,要以紧张快干的劲头掀起建设高潮",
                     "张超超指出,要以精准务实的举措确保建设效果",
                     "张超超强调,要以优质高效的服务提供坚强保障",
                     "张超超指出,要以安全环保的理念夯实发展基石",
                     "张超超强调,要以扎实过硬的作风凝聚发展合力"]


def test_a_span_deep_in_one_items_body_is_not_the_whole_list(speech: Article) -> None:
    assert gather_list(speech, *span_of(speech, "开通绿色通道")) is None


def test_numbered_items_inside_a_paragraph_are_parts_with_their_labels() -> None:
    article = article_of("标题\n\n各地要做好三件事：一是加强监测；二是保障供应；三是稳定价格。\n")
    found = gather_list(article, *span_of(article, "做好三件事"))
    assert found is not None and found.numbered
    assert [(i.label, article.text[i.char_start : i.char_end]) for i in found.items] == [
        ("一是", "加强监测"), ("二是", "保障供应"), ("三是", "稳定价格")]


def test_numbered_paragraphs_after_their_introduction_are_gathered() -> None:
    article = article_of("标题\n\n现提出以下措施：\n\n（一）减免房租。对承租的中小企业减免一个月房租。\n\n"
                         "（二）延期缴纳社保。企业可延期缴纳。\n\n（三）加大信贷支持。\n\n其他事项另行通知。\n")
    found = gather_list(article, *span_of(article, "以下措施"))
    assert found is not None and [i.label for i in found.items] == ["（一）", "（二）", "（三）"]
    first = found.items[0]
    assert article.text[first.char_start : first.char_end] == "减免房租。对承租的中小企业减免一个月房租。"


def test_an_ordinal_inside_words_is_no_item_number() -> None:
    article = article_of("标题\n\n在第一阶段,观摩了项目;在第二个阶段,召开大会。\n")
    assert label_at(article.text, article.text.index("第一阶段")) is None
    assert gather_list(article, *span_of(article, "观摩了项目")) is None


@pytest.mark.parametrize(("written", "value"), [("3", 3), ("十", 10), ("十二", 12), ("二十", 20),
                                                ("二十三", 23), ("③", 3), ("七", 7)])
def test_item_numbers_are_read_in_any_writing(written: str, value: int) -> None:
    assert numeral(written) == value


@pytest.mark.parametrize(("question", "sentence", "verdict"), [
    ("藁城区的生活垃圾资源化项目已经投产了吗？", "11月14日,藁城区生活垃圾资源化项目正式投产运行。", "yes"),
    ("凯诺中星项目已经投产了吗？", "9个单体建筑已封顶,预计年底即可投产。", "unstated"),  # a plan
    ("企业是否可以复工？", "在疫情解除前企业不得复工。", "no"),
    ("张超超是否同意在环保上搞“一刀切”？", "严格落实正面清单制度,防止“一刀切”。", "no"),
    ("藁城区是否在全市率先推行了“巷长制”？", "在全市率先推行“巷长制”,村民参与逐渐形成。", "yes"),
    ("企业是否可以复工？", "员工每日测量体温。", "unstated"),  # says nothing of it
    ("项目是否不断推进？", "项目建设不断推进。", "yes"),  # 不断 negates nothing
    ("是否停止了公众聚集活动？", "各地立即停止公众聚集活动。", "yes"),  # 停止 is what is asked
])
def test_yes_or_no_only_where_the_sentence_says_so(question: str, sentence: str, verdict: str) -> None:
    assert verdict_of(question, sentence) == verdict
