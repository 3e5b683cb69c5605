"""What a build notes about each article: its authors (bylines) and its summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.corpus import Article, ArticleNotes, notes_of, parse_document
from qa_service.corpus.bylines import authors_of
from qa_service.corpus.notes import NOTES_VERSION
from qa_service.corpus.summaries import summarize

from ..conftest import SEED_CORPUS


def seed_articles() -> dict[str, Article]:
    articles = {}
    for path in sorted(Path(SEED_CORPUS).glob("*.txt")):
        for article in parse_document(path.read_text(encoding="utf-8"), path.name):
            articles[article.title] = article
    return articles


@pytest.fixture(scope="module")
def seed() -> dict[str, Article]:
    return seed_articles()


def test_the_three_printed_bylines_give_their_names(seed: dict[str, Article]) -> None:
    def names(title_start: str) -> list[str]:
        article = next(a for title, a in seed.items() if title.startswith(title_start))
        return [author.name for author in authors_of(article)]

    assert names("藁城这一年") == ["张建功", "秦思", "王凯凯", "苏秋菊"]  # closing (张建功、…)
    assert names("石市举行") == ["齐广君", "郭慧"]  # 本报讯(石家庄日报首席记者 齐广君 记者 郭慧)
    assert names("聚力项目") == ["吴温"]  # □石家庄日报首席记者 吴温


def test_an_author_is_cited_at_the_name_in_the_byline(seed: dict[str, Article]) -> None:
    article = seed["藁城这一年"]
    for author in authors_of(article):
        assert article.text[author.char_start : author.char_end] == author.name
        assert article.paragraphs[author.paragraph].kind == "byline"


def test_a_photo_credit_is_never_an_author() -> None:
    text = "风景\n\n公园一角。 王 朋摄\n\n今年以来,公园建设加快推进。\n\n(李立松)\n"
    [article] = parse_document(text, "x.txt")
    assert [a.name for a in authors_of(article)] == ["李立松"]


def test_brackets_that_hold_no_names_give_no_authors() -> None:
    [article] = parse_document("标题\n\n正文第一句。\n\n(市、区)\n", "x.txt")
    assert authors_of(article) == []


def test_a_summary_is_the_lead_the_section_headings_and_key_sentences(seed: dict[str, Article]) -> None:
    article = seed["藁城这一年"]
    parts = summarize(article)
    text = article.text
    shown = [(p.kind, text[p.char_start : p.char_end]) for p in parts]
    assert shown[0][0] == "lead" and shown[0][1].startswith("今年以来,面对年初新冠肺炎疫情")
    headings = [t for kind, t in shown if kind == "heading"]
    # Section headings open body text; the title before the body and the other articles'
    # headings printed at the page's foot (经济强区 一极四城) are not sections.
    assert headings == ["以项目支撑带动产业做大做强", "以品质提升打造宜居宜业家园",
                        "以作风转变持续优化营商环境"]
    keys = [t for kind, t in shown if kind == "key"]
    assert len(keys) == 3 and all(len(k) >= 15 for k in keys)
    assert [p.char_start for p in parts] == sorted(p.char_start for p in parts)  # text order


def test_a_summary_is_verbatim_and_the_same_every_time(seed: dict[str, Article]) -> None:
    for article in seed.values():
        first, again = summarize(article), summarize(article)
        assert first == again and first
        for part in first:
            assert article.paragraphs[part.paragraph].start <= part.char_start < part.char_end
            assert part.char_end <= article.paragraphs[part.paragraph].end


def test_an_article_without_body_text_has_no_summary() -> None:
    [article] = parse_document("只有标题\n", "x.txt")
    assert summarize(article) == []


def test_notes_survive_storage_and_another_version_is_made_again(seed: dict[str, Article]) -> None:
    notes = notes_of(seed["藁城这一年"])
    stored = notes.to_json()
    assert ArticleNotes.from_json(stored) == notes
    assert ArticleNotes.from_json(stored.replace(f'"version": "{NOTES_VERSION}"', '"version": "0"')) is None
    assert ArticleNotes.from_json("not json") is None


def test_a_notices_salutation_is_not_its_lead() -> None:
    text = ("关于恢复交通秩序的通告\n\n各县（市、区）疫情防控领导小组办公室：\n\n"
            "为加快恢复交通运输秩序，市疫情防控领导小组决定撤销所有交通卡口，现就有关事项通知如下：\n\n"
            "一、自2月22日24时起撤销交通卡口。\n")
    [article] = parse_document(text, "x.txt")
    lead = [p for p in summarize(article) if p.kind == "lead"]
    assert article.text[lead[0].char_start : lead[0].char_end].startswith("为加快恢复交通运输秩序")
