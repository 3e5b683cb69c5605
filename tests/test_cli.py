from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa_service import answering, cli, models
from qa_service.answering import ReaderSettings

from .conftest import FakeEncoder, FakeReader


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, corpus_dir: Path) -> CliRunner:
    fake = FakeEncoder(name="multilingual-e5-small")
    monkeypatch.setattr(models, "load_encoder", lambda config, questions=True: fake)
    monkeypatch.setattr(answering, "load_configured_reader",
                        lambda weights, cache, precision, threads=0: (FakeReader(), ReaderSettings()))
    monkeypatch.setenv("QA_CORPUS_DIR", str(corpus_dir))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "embeddings"))
    return CliRunner()


def test_index_prints_a_summary(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["index"])
    assert result.exit_code == 0, result.output
    assert "generation gen-000001: 2 files, 3 articles" in result.output
    assert "skipped 0 files" in result.output


def test_index_json_summary(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["index", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["generation"] == "gen-000001"
    assert summary["articles"] == 3 and summary["skipped_files"] == []


def test_build_threads_come_from_one_setting_and_are_recorded(runner: CliRunner,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    summary = json.loads(runner.invoke(cli.main, ["index", "--json"]).output)
    assert summary["torch_threads"] == len(os.sched_getaffinity(0)) and summary["niceness"] == os.nice(0)
    monkeypatch.setenv("QA_TORCH_THREADS", "1")
    assert json.loads(runner.invoke(cli.main, ["index", "--json", "--full"]).output)["torch_threads"] == 1
    assert json.loads(runner.invoke(cli.main, ["index", "--json", "--full", "--torch-threads", "3"])
                      .output)["torch_threads"] == 3
    result = runner.invoke(cli.main, ["index", "--torch-threads", "-2"])
    assert result.exit_code == 2 and "-2" in result.output


def test_the_thread_setting_caps_the_reader(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def loading(weights: str, cache: Path, precision: str, threads: int = 0) -> tuple:
        asked.append(threads)
        return FakeReader(), ReaderSettings()

    monkeypatch.setattr(answering, "load_configured_reader", loading)
    assert runner.invoke(cli.main, ["index"]).exit_code == 0
    assert runner.invoke(cli.main, ["ask", "藁城区完成了多少户厕所改造？"]).exit_code == 0
    monkeypatch.setenv("QA_TORCH_THREADS", "1")
    assert runner.invoke(cli.main, ["ask", "藁城区完成了多少户厕所改造？"]).exit_code == 0
    assert asked == [0, 1]  # 0: the idle cores


def test_ask_json_has_the_documented_shape(runner: CliRunner) -> None:
    assert runner.invoke(cli.main, ["index"]).exit_code == 0
    result = runner.invoke(cli.main, ["ask", "全区共完成厕所改造多少户?", "--json", "--top-k", "2"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["question"] == "全区共完成厕所改造多少户?"
    assert len(answer["passages"]) == 2
    passage = answer["passages"][0]
    assert set(passage) >= {"rank", "score", "text", "article", "paragraph", "char_start", "char_end"}
    assert set(passage["article"]) == {"id", "title", "source", "date", "date_source", "copies", "authors"}
    assert answer["answer"]["shape"] == "factoid" and answer["answer"]["parts"][0]["text"] == "14880户"
    assert "14880户" in passage["text"]


def test_ask_human_output_cites_title_source_and_paragraph(runner: CliRunner) -> None:
    runner.invoke(cli.main, ["index"])
    result = runner.invoke(cli.main, ["ask", "全区共完成厕所改造多少户?", "-k", "1"])
    assert result.exit_code == 0, result.output
    assert "《藁城这一年》 000_84a38a59f6898cf4.txt ¶" in result.output
    assert "14880户" in result.output


def test_ask_prints_a_summary_and_a_byline_as_numbered_cited_parts(runner: CliRunner) -> None:
    runner.invoke(cli.main, ["index"])
    result = runner.invoke(cli.main, ["ask", "总结一下《藁城这一年》这篇文章的主要内容。", "-k", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "概括 / summary: 《藁城这一年》:" in lines
    lead = next(line for line in lines if line.startswith("  1. 导语 今年以来"))
    assert "《藁城这一年》 ¶" in lead  # each part cited
    assert any(line.startswith("  2. 小标题 以项目支撑带动产业做大做强") for line in lines)
    byline = runner.invoke(cli.main, ["ask", "《藁城这一年》是谁写的？", "-k", "1"]).output
    assert "作者 / authors: 张建功、秦思、王凯凯、苏秋菊  《藁城这一年》 ¶" in byline


def test_ask_prints_a_verdict_before_its_evidence(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = FakeReader({"投产": "生活垃圾资源化项目正式投产"})
    monkeypatch.setattr(answering, "load_configured_reader",
                        lambda weights, cache, precision, threads=0: (reader, ReaderSettings()))
    runner.invoke(cli.main, ["index"])
    result = runner.invoke(cli.main, ["ask", "藁城区的生活垃圾资源化项目已经投产了吗？", "-k", "1"])
    lines = result.output.splitlines()
    assert lines[1] == "判断 / verdict: 是"
    assert lines[2].startswith("依据 / evidence: 11月14日,随着第一车垃圾顺利进场")
    assert "《藁城这一年》 ¶" in lines[2]


def test_ask_from_stdin_writes_one_json_line_per_question(runner: CliRunner) -> None:
    runner.invoke(cli.main, ["index"])
    questions = "全区共完成厕所改造多少户?\n\n总投资是多少亿元?\n"
    result = runner.invoke(cli.main, ["ask", "-", "-k", "1"], input=questions)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["question"] for line in lines] == ["全区共完成厕所改造多少户?", "", "总投资是多少亿元?"]
    assert lines[1]["error"] == "the question is empty" and lines[1]["passages"] == []
    assert len(lines[2]["passages"]) == 1


def test_ask_without_an_index_fails_with_one_line(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["ask", "问题"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("qa-service: no index in")
    assert "qa-service index" in result.output
    assert "Traceback" not in result.output


def test_empty_question_fails_cleanly(runner: CliRunner) -> None:
    runner.invoke(cli.main, ["index"])
    result = runner.invoke(cli.main, ["ask", "   "])
    assert result.exit_code == 1
    assert "qa-service: the question is empty" in result.output


def test_missing_corpus_folder_is_reported(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli.main, ["index", "--corpus", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "corpus folder not found" in result.output


def test_options_double_as_environment_variables(runner: CliRunner, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere"
    monkeypatch.setenv("QA_INDEX_DIR", str(other))
    assert runner.invoke(cli.main, ["index"]).exit_code == 0
    assert (other / "CURRENT").read_text().strip() == "gen-000001"


def test_precision_reaches_the_encoder_and_bad_values_are_refused(
        monkeypatch: pytest.MonkeyPatch, runner: CliRunner) -> None:
    asked: list[tuple[str, bool]] = []
    fake = FakeEncoder(name="multilingual-e5-small")

    def load(config: models.EncoderConfig, questions: bool = True) -> FakeEncoder:
        asked.append((config.precision, questions))
        return fake

    monkeypatch.setattr(models, "load_encoder", load)
    assert runner.invoke(cli.main, ["index", "--precision", "fp32"]).exit_code == 0
    monkeypatch.setenv("QA_PRECISION", "bf16")
    assert runner.invoke(cli.main, ["ask", "厕所改造多少户?"]).exit_code == 0
    # A build embeds passages only: it does not load the question encoder's graph.
    assert asked == [("fp32", False), ("bf16", True)]
    result = runner.invoke(cli.main, ["index", "--precision", "fp8"])
    assert result.exit_code == 2 and "fp8" in result.output


def test_auto_precision_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa_service.models import encoder

    # bf16 where this CPU multiplies it clearly faster; not where it is slower, though
    # the CPU reports native bf16 (an Intel Xeon here: 0.57x fp32's speed).
    for speedup, chosen in ((0.0, "fp32"), (0.57, "fp32"), (1.1, "fp32"), (1.8, "bf16")):
        monkeypatch.setattr(encoder, "bf16_speedup", lambda s=speedup: s)
        assert encoder.resolve_precision("auto") == chosen
    assert encoder.resolve_precision("fp32") == "fp32" and encoder.resolve_precision("bf16") == "bf16"
    with pytest.raises(encoder.EncoderError, match="unknown precision"):
        encoder.resolve_precision("int4")


def test_ask_prints_the_short_answer_then_its_sentence(runner: CliRunner) -> None:
    runner.invoke(cli.main, ["index"])
    result = runner.invoke(cli.main, ["ask", "藁城区完成了多少户厕所改造？", "-k", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == "答案 / answer: 14880户  [1]"
    assert lines[2].startswith("原句 / sentence: ") and "厕所改造14880户" in lines[2]


def test_missing_reader_weights_fail_with_one_line(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    from qa_service.answering import reading

    runner.invoke(cli.main, ["index"])
    monkeypatch.setattr(answering, "load_configured_reader", reading.load_configured_reader)
    monkeypatch.setenv("QA_READER_WEIGHTS", str(tmp_path / "gone.safetensors"))
    result = runner.invoke(cli.main, ["ask", "藁城区完成了多少户厕所改造？"])
    assert result.exit_code == 1
    assert result.output.startswith("qa-service: reader weights ") and "gone.safetensors" in result.output
    assert "Traceback" not in result.output


def test_the_bf16_speedup_is_measured_only_where_the_cpu_has_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa_service.models import encoder

    encoder.bf16_speedup.cache_clear()
    monkeypatch.setattr(encoder, "native_bf16", lambda: False)
    assert encoder.bf16_speedup() == 0.0
    encoder.bf16_speedup.cache_clear()
    monkeypatch.setattr(encoder, "native_bf16", lambda: True)
    import threading

    import torch

    before = torch.get_num_threads()
    assert encoder.bf16_speedup() > 0.0  # timed here, emulated or not: a real ratio
    encoder.bf16_speedup.cache_clear()
    # The probe runs on one thread of its own; threads started after it keep the count.
    later: list[int] = []
    thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert torch.get_num_threads() == before and later == [before]


def test_the_human_output_says_how_a_follow_up_was_read() -> None:
    result = {"question": "志愿服务队呢？", "took_ms": 12.0, "found": True, "passages": [],
              "understood_as": "藁城区建成了多少个志愿服务队？",
              "answer": {"text": "1141支", "passage_rank": 1, "sentence": {"text": "注册志愿服务队1141支"}}}
    shown = cli.format_answer(result).splitlines()
    assert shown[1] == "按上文理解为 / read as: 藁城区建成了多少个志愿服务队？"
    assert "read as" not in cli.format_answer({**result, "understood_as": None})


def test_the_human_output_says_where_a_date_came_from() -> None:
    def passage(date: str, date_source: str) -> dict:
        article = {"title": "藁城这一年", "source": "000.txt", "date": date, "date_source": date_source}
        return {"rank": 1, "score": 0.9, "text": "正文", "paragraph": 3, "char_start": 0, "char_end": 2,
                "article": article}

    result = {"question": "谁写的？", "took_ms": 5.0, "found": False, "message": "没有找到", "answer": None,
              "named_articles": [{"id": "a", "title": "藁城这一年"}]}
    shown = cli.format_answer({**result, "passages": [passage("2026-12-07", "file_mtime")]})
    assert "检索文章 / article: 《藁城这一年》" in shown
    assert "2026-12-07（文件日期 / file date）" in shown
    assert "2021-10-10（据正文 / from the text）" in cli.format_answer(
        {**result, "passages": [passage("2021-10-10", "text")]})
    stated = cli.format_answer({**result, "passages": [passage("2021-12-20", "front_matter")]})
    assert "2021-12-20" in stated and "2021-12-20（" not in stated
