"""Every article has a date, and says where it came from."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from qa_service.corpus import date_range, normalise_date, parse_document, read_corpus, record_edit
from qa_service.corpus.dates import date_from_text


@pytest.mark.parametrize(("written", "iso"), [
    ("2021-12-20", "2021-12-20"), ("2021/12/20", "2021-12-20"), ("2021年12月20日", "2021-12-20"),
    ("2021-12-20T08:00:00+08:00", "2021-12-20"), ("二〇二一年十二月二十日", "2021-12-20"),
    ("2021-12", "2021-12"), ("2021", "2021"), ("2021-02-30", None), ("next week", None), ("", None),
])
def test_written_dates_become_iso_strings_of_their_precision(written: str, iso: str | None) -> None:
    assert normalise_date(written) == iso


def test_front_matter_wins_over_the_text_and_metadata() -> None:
    text = "---\ntitle: 藁城这一年\ndate: 2021/12/20\n---\n藁城这一年\n\n2020年3月5日，藁城区开工建设。\n"
    [article] = parse_document(text, "a.md", {"date": "2019-01-01"})
    assert (article.date, article.date_source) == ("2021-12-20", "front_matter")
    [article] = parse_document("标题\n\n2020年3月5日，藁城区开工建设。\n", "b.html", {"date": "2019-01-01"})
    assert (article.date, article.date_source) == ("2019-01-01", "metadata")


def test_a_dateline_gives_the_date_before_other_dates_in_the_text() -> None:
    paragraphs = ["本报讯（记者 李四）2021年12月20日，藁城区召开大会。",
                  "会议回顾了2022年1月1日起施行的条例。"]
    assert date_from_text("藁城区召开大会", paragraphs) == "2021-12-20"


def test_without_a_dateline_the_newest_full_date_is_taken() -> None:
    paragraphs = ["项目于2020年3月5日开工，2021年6月1日竣工。", "试运行始于二〇二一年五月一日。"]
    assert date_from_text("标题", paragraphs) == "2021-06-01"


def test_a_month_and_day_take_the_one_year_the_article_names() -> None:
    # The seed bulletin: the year once in the headline, the event as 10月10日.
    title = "石市举行 2021 年第四季度项目观摩活动并召开讲评总结大会"
    body = ["10月10日,石市利用一天时间举行观摩活动。", "预计2022年11月投产。"]
    assert date_from_text(title, body) == "2021-10-10"
    assert date_from_text("全年工作", ["2021年，全区开工项目99个。"]) == "2021"
    # Two years named as often: no year is guessed, and so no date.
    assert date_from_text("对比", ["2020年和2021年。", "10月10日开会。"]) is None
    assert date_from_text("今年以来", ["今年以来，藁城区开工项目。"]) is None


def test_an_article_without_any_date_takes_its_file_time(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("标题\n\n今年以来，全区开工项目。\n", encoding="utf-8")
    os.utime(corpus / "a.txt", (1_600_000_000, 1_600_000_000))  # 2020-09-13
    [article] = read_corpus(corpus).articles
    assert (article.date, article.date_source) == ("2020-09-13", "file_mtime")


def test_an_edited_date_is_normalised_and_marked_as_an_edit(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("标题\n\n今年以来，全区开工项目。\n", encoding="utf-8")
    [article] = read_corpus(corpus).articles
    record_edit(corpus, article.id, {"date": "2021年12月1日"})
    [edited] = read_corpus(corpus).articles
    assert (edited.date, edited.date_source) == ("2021-12-01", "edit")


def test_date_ranges_cover_the_days_of_each_precision() -> None:
    assert date_range("2021-10-10") == (date(2021, 10, 10), date(2021, 10, 10))
    assert date_range("2021-02") == (date(2021, 2, 1), date(2021, 2, 28))
    assert date_range("2021") == (date(2021, 1, 1), date(2021, 12, 31))
    assert date_range("明天") is None and date_range(None) is None
