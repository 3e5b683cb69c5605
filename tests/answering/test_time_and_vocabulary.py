"""Time in questions, date and source filters, and the official vocabulary, end to end over
a fake encoder and reader (the time parser is the real one: jionlp, offline)."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from qa_service.answering import Filters, Retriever, TimeParser
from qa_service.config import Settings
from qa_service.index import build_index, load_index

from ..conftest import FakeEncoder, FakeReader

# The same question answered differently in two years' reports, and one from another outlet.
DATED = {
    "2019.md": ("2019-06-01", "区政府", "藁城区重点项目",
                "今年以来，藁城区开工重点项目50个，总投资80亿元。"),
    "2021.md": ("2021-12-20", "区政府", "藁城区重点项目进展",
                "今年以来，藁城区开工重点项目99个，总投资204亿元。"),
    "paper.md": ("2021-03-02", "河北日报", "石家庄植树", "石家庄今年春季植树造林十万亩。"),
}


@pytest.fixture
def dated_retriever(tmp_path: Path, fake_encoder: FakeEncoder) -> Retriever:
    corpus = tmp_path / "dated"
    corpus.mkdir()
    for name, (day, source, title, body) in DATED.items():
        front = f"---\ntitle: {title}\ndate: {day}\nsource: {source}\n---\n"
        (corpus / name).write_text(f"{front}{title}\n\n{body}\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "ix", model_cache=tmp_path / "m")
    build_index(settings, fake_encoder)
    reader = FakeReader({"重点项目": "个"})  # points at the count's unit in whichever passage
    return Retriever(load_index(settings.index_dir), fake_encoder, reader=reader)


@pytest.mark.parametrize(("question", "start", "end"), [
    ("今年藁城区开工了多少个重点项目？", "2026-01-01", "2026-12-31"),
    ("去年的投资是多少？", "2025-01-01", "2025-12-31"),
    ("上个月举行了什么活动？", "2026-10-01", "2026-10-31"),
    ("本月有什么新闻？", "2026-11-01", "2026-11-30"),
    ("本季度开工了多少项目？", "2026-10-01", "2026-12-31"),
    ("10月10日石家庄举行了什么活动？", "2026-10-10", "2026-10-10"),
    ("2021年第四季度观摩了多少个项目？", "2021-10-01", "2021-12-31"),
    ("近三个月的新闻", "2026-08-25", "2026-11-24"),
])
def test_time_words_become_ranges_of_days(question: str, start: str, end: str) -> None:
    found = TimeParser().find(question, date(2026, 11, 24))
    assert found is not None
    assert (found.start.isoformat(), found.end.isoformat()) == (start, end)


def test_questions_without_time_words_have_no_range() -> None:
    parser = TimeParser()
    assert parser.find("藁城区完成了多少户厕所改造？", date(2026, 11, 24)) is None
    assert parser.find("", date(2026, 11, 24)) is None
    # 后年 inside 投产后年产值 is not "the year after next".
    assert parser.find("投产后年产值能达到多少？", date(2026, 11, 24)) is None
    assert parser.find("后年开工多少项目？", date(2026, 11, 24)) is not None


@pytest.mark.parametrize("question", [
    "总结一下《藁城这一年》这篇文章的主要内容。",
    "“七一”重要讲话精神是什么？",
    "「今年以来」这一段说了什么？",
])
def test_quoted_words_are_names_not_times(question: str) -> None:
    assert TimeParser().find(question, date(2026, 11, 24)) is None


def test_a_time_outside_the_quotes_is_still_read() -> None:
    found = TimeParser().find("《藁城这一年》里说去年完成了什么？", date(2026, 11, 24))
    assert found is not None and found.text == "去年" and found.start == date(2025, 1, 1)


def test_a_question_the_parser_chokes_on_leaves_no_traceback_in_the_log(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert TimeParser().find("该频道每日以播放什么剧为主？", date(2026, 11, 24)) is None
    assert not [r for r in caplog.records if "jionlp" in r.pathname]


def test_the_question_s_year_picks_the_article_of_that_year(dated_retriever: Retriever) -> None:
    question = "今年藁城区开工了多少个重点项目？"
    in_2021 = dated_retriever.ask(question, today=date(2021, 12, 28))
    assert in_2021["passages"][0]["article"]["date"] == "2021-12-20"
    assert in_2021["time_range"] == {"text": "今年", "start": "2021-01-01", "end": "2021-12-31",
                                     "basis": "asked", "base": "2021-12-28", "matched": True}
    in_2019 = dated_retriever.ask(question, today=date(2019, 7, 1))
    assert in_2019["passages"][0]["article"]["date"] == "2019-06-01"
    assert in_2019["answer"]["article"]["date"] == "2019-06-01"


def test_a_relative_time_with_no_article_of_its_own_is_read_as_the_article_s(
        dated_retriever: Retriever) -> None:
    result = dated_retriever.ask("今年藁城区开工了多少个重点项目？", today=date(2026, 11, 24))
    when = result["time_range"]
    assert when["basis"] == "article" and when["matched"] is True
    top = result["passages"][0]["article"]["date"]
    assert when["base"] == top and when["start"] == f"{top[:4]}-01-01"


def test_a_time_still_to_come_is_not_read_as_an_article_s(dated_retriever: Retriever) -> None:
    result = dated_retriever.ask("明年藁城区要开工多少个重点项目？", today=date(2026, 11, 24))
    assert result["time_range"]["basis"] == "asked" and result["time_range"]["start"] == "2027-01-01"
    assert result["time_range"]["matched"] is False


def test_an_absolute_time_with_no_article_says_it_matched_none(dated_retriever: Retriever) -> None:
    result = dated_retriever.ask("2024年藁城区开工了多少个重点项目？")
    assert result["time_range"]["basis"] == "asked" and result["time_range"]["matched"] is False
    assert result["passages"]  # the nearest passages are still shown


def test_date_and_source_filters_keep_only_their_articles(dated_retriever: Retriever) -> None:
    question = "藁城区开工了多少个重点项目？"
    only_2021 = dated_retriever.ask(question, filters=Filters(date_from=date(2021, 1, 1)))
    assert {p["article"]["date"][:4] for p in only_2021["passages"]} == {"2021"}
    assert only_2021["filters"] == {"date_from": "2021-01-01", "date_to": None, "source": None}
    up_to_2020 = dated_retriever.ask(question, filters=Filters(date_to=date(2020, 12, 31)))
    assert {p["article"]["date"] for p in up_to_2020["passages"]} == {"2019-06-01"}
    paper = dated_retriever.ask(question, filters=Filters(source="河北日报"))
    assert {p["article"]["source"] for p in paper["passages"]} == {"河北日报"}
    none = dated_retriever.ask(question, filters=Filters(date_from=date(2030, 1, 1)))
    assert none["passages"] == [] and none["found"] is False and "筛选" in none["message"]


def test_an_article_named_by_its_title_is_the_one_searched(dated_retriever: Retriever) -> None:
    # Without the title both reports answer; named, only the 2019 one is searched.
    result = dated_retriever.ask("《藁城区重点项目》说开工了多少个重点项目？")
    assert {p["article"]["title"] for p in result["passages"]} == {"藁城区重点项目"}
    assert result["named_articles"] == [{"id": result["passages"][0]["article"]["id"],
                                         "title": "藁城区重点项目"}]
    assert result["time_range"] is None
    # A part of a longer title names it too, punctuation and spaces aside.
    shortened = dated_retriever.ask("《重点项目 进展》说开工了多少个重点项目？")
    assert [a["title"] for a in shortened["named_articles"]] == ["藁城区重点项目进展"]
    assert {p["article"]["date"] for p in shortened["passages"]} == {"2021-12-20"}


def test_a_title_no_article_has_searches_everything(dated_retriever: Retriever) -> None:
    # A law or a book the articles cite is found by its words, as without the marks.
    result = dated_retriever.ask("《中华人民共和国森林法》对植树有什么规定？")
    assert result["named_articles"] is None and result["passages"]
    # Filters still hold: a named article outside them is not searched.
    filtered = dated_retriever.ask("《藁城区重点项目》说开工了多少个重点项目？",
                                   filters=Filters(date_from=date(2021, 1, 1)))
    assert filtered["named_articles"] is None
    assert {p["article"]["date"][:4] for p in filtered["passages"]} == {"2021"}


def test_an_official_title_finds_the_office_holder(settings: Settings, fake_encoder: FakeEncoder) -> None:
    # The seed corpus writes 市委书记张超超; the question says 市委一把手 (corpus/vocabulary.tsv).
    # Lexical mode: the fake encoder's dense side knows no synonyms (the real model is
    # measured on the bulletin questions by benchmarks/answers.py).
    build_index(settings, fake_encoder)
    index = load_index(settings.index_dir)
    result = Retriever(index, fake_encoder, reader=FakeReader()).ask("市委一把手是谁？", mode="lexical")
    assert result["found"] is True and result["answer"]["text"] == "张超超"
    assert "市委书记张超超" in result["passages"][0]["text"]
    assert result["answer"]["read_as"] == "市委书记是谁？"  # the user's own question, reworded
    (settings.corpus_dir / "vocabulary.tsv").unlink()  # without the table: not found
    build_index(settings, fake_encoder)
    result = Retriever(load_index(settings.index_dir), fake_encoder,
                       reader=FakeReader()).ask("市委一把手是谁？", mode="lexical")
    assert result["found"] is False


class CountReader:
    """Points at the count (digits and 个) in each passage: every report answers."""

    def read_pairs(self, questions: list[str], passages: list[str]) -> list:
        return [self.read(q, [p])[0] for q, p in zip(questions, passages, strict=True)]

    def read(self, question: str, passages: list[str]) -> list:
        import re

        from qa_service.models import Span

        spans = []
        for i, passage in enumerate(passages):
            m = re.search(r"\d+个", passage)
            spans.append(Span(i, m.start(), m.end(), 10.0, 0.95) if m else Span(i, 0, 1, 1.0, 0.05))
        return spans


def test_the_newest_report_answers_and_an_older_one_that_differs_is_named(
        dated_retriever: Retriever) -> None:
    retriever = Retriever(dated_retriever.index, dated_retriever.encoder, reader=CountReader())
    result = retriever.ask("藁城区开工了多少个重点项目？")
    answer = result["answer"]
    assert result["found"] and answer["text"] == "99个" and answer["article"]["date"] == "2021-12-20"
    assert result["passages"][0]["article"]["date"] == "2021-12-20"  # the newest first
    assert [(o["text"], o["article"]["date"]) for o in answer["older"]] == [("50个", "2019-06-01")]
    # Asked of 2019, the 2019 report answers; the newer one is not an "older" answer.
    in_2019 = retriever.ask("今年藁城区开工了多少个重点项目？", today=date(2019, 7, 1))
    assert in_2019["answer"]["text"] == "50个"
