"""The evaluation sets stay apart from what the reader learns from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.corpora import xquad_data, xquad_questions


def question_ids(articles: list[dict]) -> set[str]:
    return {qa["id"] for item in articles for p in item["paragraphs"] for qa in p["qas"]}


@pytest.fixture()
def xquad_folder(tmp_path: Path) -> Path:
    """A small XQuAD in both languages: 5 articles, the same ids and paragraphs in each."""
    for lang in ("zh", "en"):
        data = [{"title": f"article {a}", "paragraphs": [
            {"context": f"paragraph {a}.{k}",
             "qas": [{"id": f"{a}-{k}-{q}", "question": f"{lang} question {q}",
                      "answers": [{"text": "paragraph", "answer_start": 0}]} for q in range(3)]}
            for k in range(2)]} for a in range(5)]
        (tmp_path / f"xquad.{lang}.part1.json").write_text(json.dumps({"data": data}), encoding="utf-8")
    return tmp_path


def test_xquad_halves_split_every_question_once(xquad_folder: Path) -> None:
    # The reader trains on English questions of the train half; calibration and the
    # cross-lingual score use the test half, so no threshold is set on learnt questions.
    everything = json.loads((xquad_folder / "xquad.en.part1.json").read_text(encoding="utf-8"))["data"]
    train = question_ids(xquad_data("en", "train", xquad_folder))
    test = question_ids(xquad_data("en", "test", xquad_folder))
    assert train and test
    assert not train & test
    assert train | test == question_ids(everything)
    # Both languages split the same articles, so a paragraph never lands in both halves.
    zh_train = {p["context"] for item in xquad_data("zh", "train", xquad_folder) for p in item["paragraphs"]}
    zh_test = {p["context"] for item in xquad_data("zh", "test", xquad_folder) for p in item["paragraphs"]}
    assert not zh_train & zh_test
    assert question_ids(xquad_data("zh", "test", xquad_folder)) == test


def test_xquad_half_must_be_named() -> None:
    with pytest.raises(ValueError, match="no XQuAD half"):
        xquad_data("en", "dev", Path("/nonexistent"))


def test_xquad_questions_pair_each_chinese_question_with_its_english_twin(xquad_folder: Path) -> None:
    # Drop one English question: its Chinese twin stays, without English.
    en = xquad_folder / "xquad.en.part1.json"
    data = json.loads(en.read_text(encoding="utf-8"))
    data["data"][1]["paragraphs"][0]["qas"].pop(2)
    en.write_text(json.dumps(data), encoding="utf-8")
    questions = list(xquad_questions("test", xquad_folder))
    assert len(questions) == 2 * 2 * 3  # articles 1 and 3, two paragraphs, three questions
    first = questions[0]
    assert (first.article, first.title, first.paragraph) == (0, "article 1", 0)  # index within the half
    assert (first.context, first.qa["question"], first.english) == ("paragraph 1.0", "zh question 0",
                                                                    "en question 0")
    assert first.answers == ["paragraph"]
    assert [q.english for q in questions[:3]] == ["en question 0", "en question 1", None]
