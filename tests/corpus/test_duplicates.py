"""Republished copies: found despite new headlines, bylines and edits; one canonical each."""

from __future__ import annotations

from pathlib import Path

from qa_service.answering import Filters, Retriever
from qa_service.config import Settings
from qa_service.corpus import read_corpus
from qa_service.corpus.duplicates import Candidate, copy_groups
from qa_service.index import build_index, load_index

from ..conftest import FakeEncoder

BODY = ("藁城区今年以来开工重点项目99个，总投资204.95亿元，投资额和项目数均居石家庄市前列。"
        "全区共完成厕所改造14880户，清理积存垃圾24万余立方米，清理各类小广告30182处，"
        "修建小菜园、小花园571个，75个村庄接入污水处理厂或建成小型污水处理设施。")
OTHER = ("石家庄今年春季植树造林十万亩，新建城市公园十二个，绿化道路三百公里，"
         "全市森林覆盖率提高到百分之三十六，空气质量优良天数比去年增加二十天。")


def edited(text: str) -> str:
    return text.replace("99个", "九十九个").replace("石家庄市", "石家庄").replace("，", ",", 2)


def test_a_reprint_with_a_few_characters_changed_is_a_copy_of_the_earliest() -> None:
    groups = copy_groups([
        Candidate("late", edited(BODY), "2021-12-22", False, "b.md"),
        Candidate("first", BODY, "2021-12-20", False, "a.md"),
        Candidate("other", OTHER, "2021-12-21", False, "c.md"),
        Candidate("undated", BODY, None, False, "0.md"),
    ])
    assert groups == {"late": "first", "undated": "first"}


def test_an_official_copy_is_canonical_whatever_its_date() -> None:
    groups = copy_groups([Candidate("paper", BODY, "2021-12-20", False, "a.md"),
                          Candidate("gov", edited(BODY), "2021-12-25", True, "b.md")])
    assert groups == {"paper": "gov"}


def test_different_articles_on_one_topic_and_short_texts_are_not_copies() -> None:
    half = BODY[: len(BODY) // 2] + OTHER[: len(OTHER) // 2]
    assert copy_groups([Candidate("a", BODY, None, False, "a"), Candidate("b", half, None, False, "b")]) == {}
    assert copy_groups([Candidate("a", "通知：明天停水。", None, False, "a"),
                        Candidate("b", "通知：明天停水。", None, False, "b")]) == {}


def _write(corpus: Path, name: str, title: str, body: str, day: str, source: str, byline: str = "") -> None:
    lines = ["---", f"title: {title}", f"date: {day}", f"source: {source}", "---", title, ""]
    lines += [byline, ""] if byline else []
    corpus.joinpath(name).write_text("\n".join([*lines, body, ""]), encoding="utf-8")


def test_copies_are_listed_not_searched_and_regrouped_when_one_goes(tmp_path: Path,
                                                                    fake_encoder: FakeEncoder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write(corpus, "gov.md", "藁城这一年", BODY, "2021-12-20", "藁城区政府")
    _write(corpus, "paper.md", "藁城区项目建设成效显著", edited(BODY), "2021-12-22", "河北日报",
           byline="本报记者 张三")
    _write(corpus, "trees.md", "石家庄植树", OTHER, "2021-03-02", "石家庄日报")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "ix", model_cache=tmp_path / "m")
    summary = build_index(settings, fake_encoder)
    assert summary.copies == 1
    index = load_index(settings.index_dir)
    result = Retriever(index, fake_encoder).ask("藁城区完成了多少户厕所改造？", top_k=5)
    cited = [p["article"] for p in result["passages"]]
    assert [a["source"] for a in cited].count("河北日报") == 0  # never two copies of one passage
    gov = next(a for a in cited if a["source"] == "藁城区政府")
    assert [(c["source"], c["date"]) for c in gov["copies"]] == [("河北日报", "2021-12-22")]
    # A source filter naming the reprint's outlet finds the text, cited by its canonical copy.
    paper = Retriever(index, fake_encoder).ask("厕所改造", filters=Filters(source="河北日报"))
    assert {p["article"]["source"] for p in paper["passages"]} == {"藁城区政府"}
    # The canonical copy is deleted: the reprint is searched in its place at the next build.
    (corpus / "gov.md").unlink()
    summary = build_index(settings, fake_encoder)
    assert summary.copies == 0 and summary.articles_changed == 0
    result = Retriever(load_index(settings.index_dir), fake_encoder).ask("藁城区完成了多少户厕所改造？")
    assert result["passages"][0]["article"]["source"] == "河北日报"
    assert result["passages"][0]["article"]["copies"] == []


def test_copies_can_be_kept_apart_by_setting(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write(corpus, "a.md", "一", BODY, "2021-12-20", "甲")
    _write(corpus, "b.md", "二", BODY, "2021-12-21", "乙")
    assert [a.copy_of for a in read_corpus(corpus).articles].count(None) == 1
    assert [a.copy_of for a in read_corpus(corpus, group_copies=False).articles] == [None, None]
