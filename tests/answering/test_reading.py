"""The reader's short answer in the answer JSON, with a fake reader (the real one: test_real_model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.answering import NOT_FOUND_MESSAGE, ReaderSettings, Retriever, load_configured_reader
from qa_service.answering.reading import (
    passage_similarities,
    reader_wording,
    trimmed,
    unshouted,
    with_asked_unit,
    with_question_mark,
    with_time_unit,
)
from qa_service.answering.search import Hit
from qa_service.config import Settings
from qa_service.index import build_index, load_index
from qa_service.models import ReaderError, Span

from ..conftest import FakeEncoder, FakeReader

TOILETS = "藁城区完成了多少户厕所改造？"


@pytest.fixture
def index_dir(settings: Settings, fake_encoder: FakeEncoder) -> Path:
    build_index(settings, fake_encoder)
    return settings.index_dir


def retriever_with(index_dir: Path, encoder: FakeEncoder, reader: object | None,
                   settings: ReaderSettings | None = None) -> Retriever:
    return Retriever(load_index(index_dir), encoder, reader=reader,  # type: ignore[arg-type]
                     reader_settings=settings)


def article_text(corpus_dir: Path, article_id: str) -> str:
    """The article as the index saw it: its file (one article per seed file)."""
    return (corpus_dir / article_id.split("#")[0]).read_text(encoding="utf-8")


def test_the_answer_is_the_exact_span_inside_its_verbatim_sentence(
        index_dir: Path, fake_encoder: FakeEncoder, corpus_dir: Path) -> None:
    result = retriever_with(index_dir, fake_encoder, FakeReader()).ask(TOILETS, top_k=3)
    assert result["found"] is True and result["message"] is None
    answer = result["answer"]
    assert answer["text"] == "14880户" and answer["kind"] == "span"
    sentence = answer["sentence"]
    assert sentence["char_start"] <= answer["char_start"] < answer["char_end"] <= sentence["char_end"]
    assert "14880户" in sentence["text"] and len(sentence["text"]) > len(answer["text"])
    # Both are article text at their offsets: the citation points at the words themselves.
    passage = result["passages"][answer["passage_rank"] - 1]
    offset = passage["char_start"]
    assert passage["text"][answer["char_start"] - offset : answer["char_end"] - offset] == "14880户"
    within = passage["text"][sentence["char_start"] - offset : sentence["char_end"] - offset]
    assert within == sentence["text"]
    assert passage["answer_span"] == [answer["char_start"], answer["char_end"]]
    assert passage["highlight"] == [sentence["char_start"], sentence["char_end"]]


def test_the_passage_holding_the_answer_comes_first(index_dir: Path, fake_encoder: FakeEncoder) -> None:
    question = "讲评总结大会由谁主持？"
    plain = retriever_with(index_dir, fake_encoder, None).ask(question, top_k=3)
    # Say the answer stands only in the passage search ranked third.
    third, others = plain["passages"][2]["text"], [p["text"] for p in plain["passages"][:2]]
    answer = next(third[i : i + 6] for i in range(len(third) - 6)
                  if third[i : i + 6].isalnum() and not any(third[i : i + 6] in o for o in others))
    result = retriever_with(index_dir, fake_encoder, FakeReader({"主持": answer})).ask(question, top_k=3)
    assert result["answer"]["text"] == answer and result["answer"]["passage_rank"] == 1
    assert result["passages"][0]["text"] == third
    assert [p["rank"] for p in result["passages"]] == [1, 2, 3]
    # The same passages, only reordered.
    assert sorted(p["text"] for p in result["passages"]) == sorted(p["text"] for p in plain["passages"])


def test_not_found_comes_from_the_has_answer_probability(index_dir: Path, fake_encoder: FakeEncoder) -> None:
    result = retriever_with(index_dir, fake_encoder, FakeReader()).ask("上海浦东新区今年的GDP是多少？")
    assert result["found"] is False and result["message"] == NOT_FOUND_MESSAGE
    assert result["confidence"] < 0.5
    assert all(p["weak"] for p in result["passages"])
    # A stricter calibration rejects even the fake's confident answer (0.95 = logit 2.94).
    strict = ReaderSettings(min_evidence=3.0)
    assert retriever_with(index_dir, fake_encoder, FakeReader(), strict).ask(TOILETS)["found"] is False


def test_a_passage_far_from_the_question_weakens_the_evidence(index_dir: Path,
                                                              fake_encoder: FakeEncoder) -> None:
    """With a cosine weight, the same has-answer counts less in a passage less like the question."""
    settings = ReaderSettings(min_evidence=1.0, dense_weight=20.0, dense_center=0.88)
    assert settings.accepts(0.9, TOILETS, similarity=0.9)
    assert not settings.accepts(0.9, TOILETS, similarity=0.75)
    assert not settings.accepts(0.5, TOILETS, similarity=0.9)
    # Unknown cosine: the has-answer alone.
    assert settings.accepts(0.9, TOILETS, similarity=None)
    assert settings.probability(0.9, TOILETS, 0.92) > settings.probability(0.9, TOILETS, 0.80)
    # In the service: the fake encoder's cosines are far below the center, so the fake
    # reader's confident answer is no longer found.
    result = retriever_with(index_dir, fake_encoder, FakeReader(), settings).ask(TOILETS)
    cosine = result["passages"][0]["score"]
    assert result["found"] is (settings.evidence(0.95, TOILETS, cosine) >= 1.0)
    loose = ReaderSettings(min_evidence=1.0, dense_weight=20.0, dense_center=cosine)
    assert retriever_with(index_dir, fake_encoder, FakeReader(), loose).ask(TOILETS)["found"] is True


def test_confidence_is_the_calibrated_probability() -> None:
    settings = ReaderSettings.from_calibration({"min_evidence": -0.8, "dense_weight": 0.0,
                                                "platt": [2.0, -1.0]})
    assert settings.min_evidence == -0.8
    assert settings.probability(0.5) == pytest.approx(1 / (1 + 2.718281828 ** 1.0), rel=1e-6)
    values = [settings.probability(p) for p in (0.01, 0.2, 0.5, 0.8, 0.99)]
    assert values == sorted(values) and values[0] > 0.0 and values[-1] < 1.0
    assert ReaderSettings.from_calibration(None) == ReaderSettings()


def test_english_questions_have_their_own_threshold_and_scaling() -> None:
    settings = ReaderSettings.from_calibration({
        "min_evidence": 0.0, "platt": [1.0, 0.0], "dense_weight": 0.0, "dense_center": 0.85,
        "latin": {"min_evidence": -2.0, "platt": [1.0, 1.0], "dense_weight": 10.0}})
    english = "How many households had their toilets renovated?"
    assert not settings.accepts(0.3, TOILETS, 0.80) and settings.accepts(0.3, english, 0.85)
    assert not settings.accepts(0.3, english, 0.70)  # only English questions weigh the cosine here
    assert settings.probability(0.5, "Who hosted the meeting?") > settings.probability(0.5, "谁主持了会议？")


def test_calibrations_from_before_the_cosine_keep_their_has_answer_threshold() -> None:
    old = ReaderSettings.from_calibration({"min_has_answer": 0.4, "platt": [1.0, 0.0]})
    assert old.dense_weight == 0.0 and old.latin_dense_weight == 0.0
    for question in (TOILETS, "Who hosted the meeting?"):
        assert old.accepts(0.41, question, 0.5) and not old.accepts(0.39, question, 0.99)


def test_later_passages_are_read_only_when_the_first_holds_no_answer(
        index_dir: Path, fake_encoder: FakeEncoder) -> None:
    reader = FakeReader()
    retriever = retriever_with(index_dir, fake_encoder, reader, ReaderSettings(passages=3))
    assert retriever.ask(TOILETS, top_k=5)["answer"]["text"] == "14880户"
    assert reader.passages_read == 1
    reader.passages_read = 0
    result = retriever.ask("上海浦东新区今年的GDP是多少？", top_k=5)
    assert reader.passages_read == 3 and len(result["passages"]) == 5


@pytest.mark.parametrize(("span", "expected"), [
    ("“巷长制", "巷长制"), ("\n11月14日", "11月14日"), ("14880户,", "14880户"), (" 马宇骏 ", "马宇骏"),
    ("《清代图书事业发展史》", "《清代图书事业发展史》"), ("“软服务”", "“软服务”"), ("，。", ""),
])
def test_spans_lose_stray_punctuation_at_their_edges_but_keep_pairs(span: str, expected: str) -> None:
    text = f"前文{span}后文"
    start, end = trimmed(text, 2, 2 + len(span))
    assert text[start:end] == expected


@pytest.mark.parametrize(("question", "text", "span", "expected"), [
    ("藁城区完成了多少户厕所改造？", "共完成厕所改造14880户,清理", "14880", "14880户"),
    ("第四季度观摩活动一共看了多少个项目？", "园区的19个项目进行了观摩", "19", "19个"),
    ("投资多少万元？", "总投资5万元,", "5", "5万元"),
    ("投资多少万元？", "总投资5万元,", "5万", "5万元"),  # the reader kept half the unit
    ("藁城区完成了多少户厕所改造？", "共完成厕所改造14880户,清理", "14880户", "14880户"),  # has it already
    ("清走了多少陈年垃圾？", "清理积存垃圾24万余立方米,", "24万余立方米", "24万余立方米"),  # no unit asked
    ("讲评总结大会由谁主持？多少户", "马宇骏主持", "马宇骏", "马宇骏"),  # not an amount
    ("完成了多少户？", "共完成14880人", "14880", "14880"),  # the passage counts something else
    ("小广告清掉了多少处？", "清理各类小广告30182余处,", "30182", "30182余处"),  # 余 before the unit
    ("清走了多少陈年垃圾？", "清理积存垃圾24万余立方米,", "24万", "24万余立方米"),  # the passage's unit
    ("全市人口有多少？", "常住人口1120万人,", "1120万", "1120万人"),
    ("How many households had their toilets renovated?", "共完成厕所改造14880户,", "14880", "14880户"),
    ("全市人口有多少？", "常住人口1120万,", "1120万", "1120万"),  # no unit to take
    ("哪一年建成的？", "2019年建成", "2019", "2019"),  # not an amount
])
def test_an_amount_keeps_the_unit_the_question_asks_in(question: str, text: str, span: str,
                                                       expected: str) -> None:
    start = text.index(span)
    assert text[start : with_asked_unit(question, text, start, start + len(span))] == expected


def test_when_the_reader_finds_nothing_the_nearest_sentence_is_shown_as_weak(
        index_dir: Path, fake_encoder: FakeEncoder) -> None:
    class Silent:
        def read(self, question: str, passages: list[str]) -> list[Span | None]:
            return [None] * len(passages)

        def read_pairs(self, questions: list[str], passages: list[str]) -> list[Span | None]:
            return [None] * len(passages)

    result = retriever_with(index_dir, fake_encoder, Silent()).ask(TOILETS)
    assert result["found"] is False and result["confidence"] == 0.0
    # The nearest sentence and passages are still shown, as weak.
    assert result["answer"]["kind"] == "sentence" and result["passages"][0]["weak"]


def test_without_a_reader_the_answer_is_the_best_sentence(index_dir: Path, fake_encoder: FakeEncoder) -> None:
    answer = retriever_with(index_dir, fake_encoder, None).ask(TOILETS)["answer"]
    assert answer["kind"] == "sentence" and "14880户" in answer["text"]
    assert answer["sentence"]["text"] == answer["text"]


def test_reader_setting_none_means_no_reader_and_missing_weights_fail_clearly(tmp_path: Path) -> None:
    assert load_configured_reader("none", tmp_path)[0] is None
    with pytest.raises(ReaderError, match=r"missing.*QA_READER_WEIGHTS=none"):
        load_configured_reader(str(tmp_path / "gone.safetensors"), tmp_path)


CAPTIONS = "\n\n".join(f"新区第{n}号工地施工现场，项目总投资50亿元，塔吊林立。 记者李四摄"
                       for n in "一二三四")
CAPTIONED = (CAPTIONS + "\n\n新区建设提速\n\n今年以来，新区重点项目完成投资50亿元，新建道路12条，"
             "建成公园3个，新区面貌焕然一新，群众获得感持续提升。新区还引进企业20家。\n")


def test_photo_captions_are_never_the_answer_or_a_source_when_a_body_passage_answers(
        tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    corpus = tmp_path / "captioned"
    corpus.mkdir()
    (corpus / "page.txt").write_text(CAPTIONED, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "captioned-index")
    build_index(settings, fake_encoder)
    index = load_index(settings.index_dir)
    chunks = index.store.get_chunks(list(range(index.store.count_chunks())))
    captions = {c.text for c in chunks.values() if index.store.is_caption(c)}
    assert len(captions) == 1 and "50亿元" in next(iter(captions))  # the block of captions alone

    reader = FakeReader({"投资": "50亿元"})
    result = retriever_with(settings.index_dir, fake_encoder, reader).ask("新区投资多少？", top_k=5)
    assert result["found"] and result["answer"]["text"] == "50亿元"
    assert result["passages"][0]["text"] not in captions
    assert not any(p["text"] in captions for p in result["passages"])
    # Unanswered, the nearest passages may include the captions (nothing better is known).
    unanswered = retriever_with(settings.index_dir, fake_encoder, FakeReader({})).ask("新区投资多少？")
    assert not unanswered["found"] and any(p["text"] in captions for p in unanswered["passages"])


def test_with_the_reader_the_conversation_is_tried_only_for_a_question_not_answered_alone(
        index_dir: Path, fake_encoder: FakeEncoder) -> None:
    retriever = retriever_with(index_dir, fake_encoder, FakeReader({"多少个": "19个"}))
    before = fake_encoder.queries_encoded
    answered = retriever.ask("第四季度观摩活动一共看了多少个项目?", history=["藁城区厕所改造"])
    assert answered["found"] and answered["understood_as"] is None
    assert fake_encoder.queries_encoded - before == 1  # answered alone: no second search
    # "一共多少个?" alone retrieves no passage that holds the answer; with the question
    # before it, it does, and the reader reads the follow-up itself there.
    if retriever.ask("一共多少个?")["found"]:
        pytest.fail("the fake encoder finds the answer to the bare follow-up")
    result = retriever.ask("一共多少个?", history=["第四季度项目观摩活动观摩了"])
    assert result["found"] and result["answer"]["text"] == "19个"
    assert result["understood_as"] == "第四季度项目观摩活动观摩了 一共多少个?"
    # A question that stays unanswered keeps its own search: never the earlier topic.
    unanswered = retriever.ask("北京冬奥会哪天开幕?", history=["第四季度项目观摩活动观摩了"])
    assert unanswered["found"] is False and unanswered["understood_as"] is None
    assert unanswered["query"] == "北京冬奥会哪天开幕?"


def test_an_elliptical_follow_up_is_read_restated_not_as_typed(
        index_dir: Path, fake_encoder: FakeEncoder) -> None:
    # Read as typed, "志愿服务队呢？" gets a confident answer about something else (the real
    # reader: 如今,身穿红马甲); restated from the question before it, the one asked.
    reader = FakeReader({"志愿服务队呢": "身穿红马甲", "多少个志愿服务队": "1141支", "多少户": "14880户"})
    retriever = retriever_with(index_dir, fake_encoder, reader)
    alone = retriever.ask("志愿服务队呢？")
    assert alone["found"] and alone["answer"]["text"] == "身穿红马甲"
    result = retriever.ask("志愿服务队呢？", history=["藁城区建成了多少个新时代文明实践站？"])
    assert result["found"] and result["answer"]["text"] == "1141支"
    assert result["understood_as"] == "藁城区建成了多少个志愿服务队？"
    # A new topic the passages do not name is not answered with the old topic's answer,
    # though the restated question (藁城区完成了多少户北京冬奥会？) gets one from the reader.
    other = retriever.ask("北京冬奥会呢？", history=[TOILETS])
    assert other["found"] is False and other["understood_as"] is None


def test_a_passage_only_lexical_search_found_gets_the_lowest_cosine_dense_search_saw() -> None:
    chunk = object()
    hits = [Hit(chunk, 1.0, 0.91), Hit(chunk, 0.8, None), Hit(chunk, 0.5, 0.86)]  # type: ignore[arg-type]
    assert passage_similarities(hits) == [0.91, 0.86, 0.86]
    assert passage_similarities([Hit(chunk, 1.0, None)]) == [None]  # type: ignore[arg-type]


@pytest.mark.parametrize(("question", "read_as"), [
    ("HOW many households had their toilets renovated", "How many households had their toilets renovated"),
    ("WHO HOSTED THE SUMMARY MEETING?", "Who hosted the summary meeting?"),
    ("What does the NFL play?", "What does the nfl play?"),
    ("Who hosted the summary meeting?", "Who hosted the summary meeting?"),
    ("石家庄市2021年的GDP是多少？", "石家庄市2021年的GDP是多少？"),  # Chinese passages write GDP
])
def test_english_questions_in_capitals_are_read_in_lower_case(question: str, read_as: str) -> None:
    assert unshouted(question) == read_as


@pytest.mark.parametrize(("question", "read_as"), [
    ("藁城区完成了多少户厕所改造", "藁城区完成了多少户厕所改造？"),
    ("藁城区完成了多少户厕所改造  ", "藁城区完成了多少户厕所改造？"),
    ("How many households had their toilets renovated", "How many households had their toilets renovated?"),
    ("藁城区完成了多少户厕所改造?", "藁城区完成了多少户厕所改造？"),
    ("How many households had their toilets renovated?", "How many households had their toilets renovated?"),
    # A full stop or an exclamation gives way to the mark: the reader read those as badly.
    ("藁城区完成了多少户厕所改造。", "藁城区完成了多少户厕所改造？"),
    ("Tell me the number of toilets renovated.", "Tell me the number of toilets renovated?"),
    ("厕所改造！！", "厕所改造？"),
    ("", ""),
    ("？", "？"),
])
def test_a_question_typed_without_a_question_mark_is_read_with_one(question: str, read_as: str) -> None:
    assert with_question_mark(question) == read_as


def test_the_reader_wording_lowers_capitals_and_adds_the_mark() -> None:
    assert reader_wording("HOW many households had their toilets renovated") == (
        "How many households had their toilets renovated?")


@pytest.mark.parametrize(("typed", "heard_as"), [
    ("HOW MANY TOILETS WERE RENOVATED?", "How many toilets were renovated?"),
    ("藁城区完成了多少户厕所改造", "藁城区完成了多少户厕所改造？"),
])
def test_the_reader_hears_a_carelessly_typed_question_as_written_properly(
        index_dir: Path, fake_encoder: FakeEncoder, typed: str, heard_as: str) -> None:
    heard: list[str] = []

    class Recording(FakeReader):
        def read(self, question: str, passages: list[str]) -> list:
            heard.append(question)
            return super().read(question, passages)

    retriever = retriever_with(index_dir, fake_encoder, Recording())
    result = retriever.ask(typed, top_k=3)
    assert heard and set(heard) == {heard_as}
    assert result["question"] == typed  # the user's words are shown as typed
    # Not a rewording the user is told about: that is for the official vocabulary.
    assert result["answer"]["read_as"] is None


@pytest.mark.parametrize(("text", "span", "shown"), [
    ("自2020年2月22日24时起撤销", "2020年2月22日24", "2020年2月22日24时"),
    ("于10月10日举行", "10月10", "10月10日"),
    ("共24时段", "24", "24"),  # no date around it: not a time
])
def test_a_date_or_time_keeps_its_unit(text: str, span: str, shown: str) -> None:
    start = text.index(span)
    assert text[start : with_time_unit(text, start, start + len(span))] == shown
