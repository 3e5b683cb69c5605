"""The evaluation sets stay apart from what the reader learns from."""

from __future__ import annotations

import json

from benchmarks.corpora import XQUAD, xquad_data


def question_ids(articles: list[dict]) -> set[str]:
    return {qa["id"] for item in articles for p in item["paragraphs"] for qa in p["qas"]}


def test_xquad_halves_split_every_question_once() -> None:
    # The reader trains on English questions of the train half; calibration and the
    # cross-lingual score use the test half, so no threshold is set on learnt questions.
    everything = json.loads((XQUAD / "xquad.en.part1.json").read_text(encoding="utf-8"))["data"]
    train, test = question_ids(xquad_data("en", "train")), question_ids(xquad_data("en", "test"))
    assert train and test
    assert not train & test
    assert train | test == question_ids(everything)
    # Both languages split the same articles, so a paragraph never lands in both halves.
    zh_train = {p["context"] for item in xquad_data("zh", "train") for p in item["paragraphs"]}
    zh_test = {p["context"] for item in xquad_data("zh", "test") for p in item["paragraphs"]}
    assert not zh_train & zh_test
    assert question_ids(xquad_data("zh", "test")) == test
