from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qa_service.answering import QuestionError, Retriever, evidence_of, lexical_weight, normalize_question
from qa_service.config import Settings
from qa_service.index import build_index, load_index, tokenize

from ..conftest import FakeEncoder


@pytest.fixture
def retriever(settings: Settings, fake_encoder: FakeEncoder) -> Retriever:
    # Answering without the reader: its build embeds the sentences, as QA_READER_WEIGHTS=none does.
    build_index(replace(settings, reader_weights="none"), fake_encoder)
    return Retriever(load_index(settings.index_dir), fake_encoder)


def test_without_sentence_vectors_the_sentences_read_are_embedded_with_the_same_answer(
    retriever: Retriever, settings: Settings
) -> None:
    questions = ["全区共完成厕所改造多少户?", "第四季度观摩活动一共看了多少个项目?", "北京冬奥会哪天开幕?"]
    stored = [retriever.ask(q) for q in questions]
    build_index(replace(settings, sentence_vectors="no"), FakeEncoder())
    encoder = FakeEncoder()
    without = Retriever(load_index(settings.index_dir), encoder)
    assert without.index.sentence_vectors is None
    for question, expected in zip(questions, stored, strict=True):
        before = encoder.passages_encoded
        result = without.ask(question)
        assert encoder.passages_encoded > before  # the sentences of the passages read
        assert (result["found"], result["answer"]["text"]) == (expected["found"], expected["answer"]["text"])
        assert result["confidence"] == pytest.approx(expected["confidence"], abs=1e-3)


def test_tokens_are_normalised_chinese_bigrams_words_and_whole_numbers() -> None:
    tokens = tokenize("總投資204.95億元，ＡＢＣ Projects")
    assert {"总", "投资", "204.95", "亿元", "abc", "projects"} <= set(tokens)
    assert "204" not in tokens and "資" not in tokens


def test_questions_are_normalised_but_never_emptied_silently() -> None:
    assert normalize_question("  藁城區\t完成了 多少戶？ ") == "藁城区完成了多少户?"
    # Spaces stay where a Latin word or a number meets Chinese: only Chinese runs are joined.
    assert normalize_question("藁城区 GDP 是 多少 ?") == "藁城区 GDP 是多少 ?"
    assert normalize_question("How many 志愿 服务队?") == "How many 志愿服务队?"
    assert normalize_question("第４季度 ＡＢＣ") == "第4季度 ABC"
    for bad in ["", "   ", "\n\t"]:
        with pytest.raises(QuestionError):
            normalize_question(bad)
    assert normalize_question("\x00\x01") == ""
    assert normalize_question("？？！！") == "??!!"  # valid, answered as "nothing to search"


def test_lexical_weight_follows_the_share_of_chinese() -> None:
    assert lexical_weight("藁城区完成了多少户厕所改造？") == 1.0
    assert lexical_weight("How many households had their toilets renovated?") == 0.0
    assert 0.0 < lexical_weight("Gaocheng 厕所改造") < 1.0


def test_answer_is_a_verbatim_span_inside_its_passage(retriever: Retriever) -> None:
    result = retriever.ask("全区共完成厕所改造多少户?", top_k=3)
    answer = result["answer"]
    assert answer is not None and "14880户" in answer["text"]
    article = retriever.index.store.get_article(answer["article"]["id"])
    assert article is not None
    assert article.text[answer["char_start"] : answer["char_end"]] == answer["text"]
    passage = result["passages"][answer["passage_rank"] - 1]
    assert passage["char_start"] <= answer["char_start"] < answer["char_end"] <= passage["char_end"]
    for p in result["passages"]:
        start, end = p["highlight"]
        assert p["char_start"] <= start < end <= p["char_end"]


def test_weak_results_are_reported_as_not_found(retriever: Retriever) -> None:
    retriever.index.manifest["calibration"]["min_confidence"] = 2.0  # nothing can reach it
    result = retriever.ask("全区共完成厕所改造多少户?")
    assert result["found"] is False
    assert result["message"] and "没有" in result["message"]
    assert result["passages"] and all(p["weak"] for p in result["passages"])


def test_strong_results_are_found(retriever: Retriever) -> None:
    retriever.index.manifest["calibration"]["min_confidence"] = -1.0
    result = retriever.ask("全区共完成厕所改造多少户?")
    assert result["found"] is True and result["message"] is None
    assert not any(p["weak"] for p in result["passages"])


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_finds_the_passage(retriever: Retriever, mode: str) -> None:
    result = retriever.ask("全区共完成厕所改造多少户?", top_k=3, mode=mode)  # type: ignore[arg-type]
    assert any("14880户" in p["text"] for p in result["passages"])


def test_lexical_mode_with_nothing_in_common_returns_no_answer(retriever: Retriever) -> None:
    result = retriever.ask("zebra quantum", mode="lexical")
    assert result["passages"] == [] and result["answer"] is None and result["found"] is False


def test_history_is_tried_only_for_weak_questions(retriever: Retriever, fake_encoder: FakeEncoder) -> None:
    retriever.index.manifest["calibration"]["min_confidence"] = -1.0  # everything is strong
    before = fake_encoder.queries_encoded
    result = retriever.ask("全区共完成厕所改造多少户?", history=["石家庄第四季度项目观摩"])
    assert fake_encoder.queries_encoded - before == 1  # no second search with the history
    assert result["query"] == "全区共完成厕所改造多少户?"


def test_history_never_hijacks_a_question_that_stays_unanswered(retriever: Retriever) -> None:
    retriever.index.manifest["calibration"]["min_confidence"] = 2.0  # nothing is ever found
    result = retriever.ask("北京冬奥会哪天开幕?", history=["全区共完成厕所改造多少户?"])
    assert result["query"] == "北京冬奥会哪天开幕?"
    assert result["found"] is False
    assert not any("14880户" in p["text"] for p in result["passages"][:1])


def test_a_question_in_another_language_is_never_read_as_a_follow_up(
        retriever: Retriever, fake_encoder: FakeEncoder) -> None:
    retriever.index.manifest["calibration"]["min_confidence"] = 2.0  # every question is weak
    before = fake_encoder.queries_encoded
    result = retriever.ask("How much was invested?", history=["第四季度观摩活动一共看了多少个项目?"])
    assert fake_encoder.queries_encoded - before == 1  # searched alone, never glued to the Chinese one
    assert result["query"] == "How much was invested?" and result["understood_as"] is None


def test_a_follow_up_that_is_rewritten_says_how_it_was_read(retriever: Retriever) -> None:
    # Weak alone, found together with the previous question: the rewrite is shown.
    calibration = retriever.index.manifest["calibration"]
    alone = retriever.run(normalize_question("多少户?"))
    together = retriever.run(normalize_question("藁城区厕所改造 多少户?"))
    calibration["min_confidence"] = (alone.confidence + together.confidence) / 2
    retriever.followup_margin = 0.0
    if not alone.confidence < calibration["min_confidence"] < together.confidence:
        pytest.fail("the fake encoder no longer separates the two questions")
    result = retriever.ask("多少户?", history=["藁城区厕所改造"])
    assert result["understood_as"] == "藁城区厕所改造 多少户?"
    assert retriever.ask("多少户?")["understood_as"] is None


def test_found_follows_how_far_the_answer_stands_out_when_calibrated(retriever: Retriever) -> None:
    calibration = retriever.index.manifest["calibration"]
    outcome = retriever.run(normalize_question("全区共完成厕所改造多少户?"))
    dense = sorted((h.dense for h in outcome.hits if h.dense is not None), reverse=True)
    assert len(dense) >= 10
    assert outcome.background == pytest.approx(sum(dense[5:30]) / len(dense[5:30]))
    assert outcome.evidence == pytest.approx(outcome.confidence - outcome.background)
    calibration.update(min_confidence=2.0, min_evidence=outcome.evidence - 0.001)
    result = retriever.ask("全区共完成厕所改造多少户?")
    assert result["found"] is True  # absolute level ignored
    assert result["evidence"] == pytest.approx(outcome.evidence, abs=1e-4)  # what found was decided on
    calibration.update(min_confidence=-1.0, min_evidence=outcome.evidence + 0.001)
    assert retriever.ask("全区共完成厕所改造多少户?")["found"] is False


def test_a_corpus_too_small_for_a_background_uses_the_absolute_threshold(
        tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = "图书馆开放\n\n藁城区新建的图书馆今天开放,共有藏书十二万册。\n"
    (corpus / "one.txt").write_text(article, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", model_cache=tmp_path / "models")
    build_index(settings, fake_encoder)
    retriever = Retriever(load_index(settings.index_dir), fake_encoder)
    outcome = retriever.run(normalize_question("图书馆有多少藏书?"))
    assert outcome.answer is not None and outcome.background is None and outcome.evidence is None
    retriever.index.manifest["calibration"].update(min_evidence=5.0, min_confidence=-1.0)
    result = retriever.ask("图书馆有多少藏书?")
    assert result["found"] is True and result["evidence"] is None
    retriever.index.manifest["calibration"]["min_confidence"] = 2.0
    assert retriever.ask("图书馆有多少藏书?")["found"] is False


def test_calibrated_evidence_adds_the_hybrid_ranking_terms(retriever: Retriever) -> None:
    calibration = retriever.index.manifest["calibration"]
    calibration["evidence_weights"] = {"top_score": 0.05, "top_lead": 0.2}
    outcome = retriever.run(normalize_question("全区共完成厕所改造多少户?"))
    assert outcome.margin is not None and outcome.top_score is not None and outcome.top_lead is not None
    assert outcome.top_score == outcome.hits[0].score
    assert outcome.top_lead == pytest.approx(outcome.hits[0].score - outcome.hits[1].score)
    expected = outcome.margin + 0.05 * outcome.top_score + 0.2 * outcome.top_lead
    assert outcome.evidence == pytest.approx(expected)
    calibration.update(min_confidence=2.0, min_evidence=expected - 0.001)
    assert retriever.ask("全区共完成厕所改造多少户?")["found"] is True
    calibration["min_evidence"] = expected + 0.001
    assert retriever.ask("全区共完成厕所改造多少户?")["found"] is False
    # Dense mode has no fused scores the weights were fitted on: the cosine decides.
    dense = retriever.run(normalize_question("全区共完成厕所改造多少户?"), mode="dense")
    assert dense.evidence is None and dense.top_score is None
    calibration["min_confidence"] = -1.0
    assert retriever.ask("全区共完成厕所改造多少户?", mode="dense")["found"] is True


def test_evidence_without_weights_is_the_cosine_margin() -> None:
    assert evidence_of(0.03, 0.9, 0.1, {}) == 0.03
    assert evidence_of(None, 0.9, 0.1, {"top_score": 0.1}) is None
    assert evidence_of(0.03, None, None, {"top_score": 0.1}) is None
    assert evidence_of(0.03, 0.5, 0.2, {"top_score": 0.1, "top_lead": 0.5}) == pytest.approx(0.18)


def test_excluded_chunks_are_searched_as_if_absent(retriever: Retriever) -> None:
    query = normalize_question("全区共完成厕所改造多少户?")
    full = retriever.run(query)
    top = full.hits[0].chunk.id
    without = retriever.run(query, exclude=[top])
    assert top not in {h.chunk.id for h in without.hits}
    assert "14880户" in full.hits[0].chunk.text and not (without.answer and "14880户" in without.answer.text)
