"""The reader's mechanics: choosing a span from start/end scores, and its weights file
(saved, loaded, and refused with a clear error when missing, damaged or foreign)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from qa_service.models.reader import (
    Reader,
    ReaderError,
    answer_bounds,
    best_span,
    build_model,
    end_without_glued_particle,
    load_model,
    save_weights,
)
from qa_service.models.span_edges import SpanEdges, SpanEdgesError, load_span_edges

# Passage tokens 1..5 cover "藁城区完成了14880户" (question tokens and specials have no offsets).
OFFSETS = [None, (0, 3), (3, 5), (5, 6), (6, 11), (11, 12), None]


def test_best_span_is_the_highest_start_plus_end_within_the_passage() -> None:
    start = np.array([9.0, 0.0, 0.0, 0.0, 5.0, 0.0, 9.0])  # specials score high and must be ignored
    end = np.array([9.0, 0.0, 0.0, 0.0, 1.0, 4.0, 9.0])
    assert best_span(start, end, OFFSETS) == (6, 12, 9.0)


def test_best_span_never_ends_before_it_starts_nor_runs_too_long() -> None:
    start = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 8.0, 0.0])
    end = np.array([0.0, 7.0, 0.0, 0.0, 0.0, 1.0, 0.0])  # the best end lies before the best start
    assert best_span(start, end, OFFSETS) == (11, 12, 9.0)
    start = np.array([0.0, 8.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    end = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 8.0, 0.0])
    assert best_span(start, end, OFFSETS, max_tokens=2) == (0, 5, 9.0)  # 1..5 is too long; 1..2 wins


def test_a_window_without_passage_tokens_has_no_span() -> None:
    assert best_span(np.zeros(3), np.zeros(3), [None, None, None]) is None


def test_a_span_ending_in_a_glued_de_loses_it_and_nothing_else() -> None:
    passage = "他是波士顿凯尔特人的球员，的"
    # The tokenizer has 人的 as one token: the answer is 波士顿凯尔特人.
    assert passage[2 : end_without_glued_particle(passage, 2, 10)] == "波士顿凯尔特人"
    assert end_without_glued_particle(passage, 2, 9) == 9  # no 的 at the end: unchanged
    assert end_without_glued_particle(passage, 13, 14) == 14  # a span of 的 alone stays a span
    # Trailing punctuation does not hide the 的 (the answering step trims the comma later).
    listed = "他是凯尔特人的，球员"
    assert listed[2 : end_without_glued_particle(listed, 2, 8)] == "凯尔特人"
    assert end_without_glued_particle(listed, 6, 8) == 8  # 的， alone: nothing to keep before it


def test_span_edges_move_into_glued_tokens_and_never_empty_a_span() -> None:
    edges = SpanEdges(leading={"是中国": 1}, trailing={"年开始": 2})
    passage = "长江是中国最长的河流，2002年开始建设"
    # Tokens 是中国 (2-5) ... 河流 (8-10); 2002 (11-15), 年开始 (15-18).
    assert passage[slice(*edges.cut(passage, (2, 5), (8, 10)))] == "中国最长的河流"
    assert passage[slice(*edges.cut(passage, (11, 15), (15, 18)))] == "2002年"
    assert edges.cut(passage, (0, 2), (0, 2)) == (0, 2)  # a token not in the table stays whole
    alone = "是中国"
    assert edges.cut(alone, (0, 3), (0, 3)) == (1, 3)
    assert SpanEdges({"是中": 1}, {"是中": 1}).cut("是中", (0, 2), (0, 2)) == (1, 2)  # not to nothing


def test_an_answer_loses_glued_characters_by_the_table_and_a_final_de_by_the_rule() -> None:
    edges = SpanEdges(leading={"是中国": 1}, trailing={"年开始": 2})
    passage = "他说是中国最大的城市，2002年开始建设，是中国人的"
    assert passage[slice(*answer_bounds(passage, (2, 5), (15, 18), edges))] == "中国最大的城市，2002年"
    # 人的 is not in the table: the general rule drops the 的, the table still cuts the start.
    assert passage[slice(*answer_bounds(passage, (21, 24), (24, 26), edges))] == "中国人"


def test_the_shipped_span_edges_cut_what_training_answers_leave_out() -> None:
    edges = load_span_edges()
    assert edges.leading["是中国"] == 1 and edges.trailing["年开始"] == 2
    assert "是一种" not in edges.leading  # answers keep 是一种 whole more often than not


@pytest.mark.parametrize("content", [None, "{not json", '{"format": 1, "leading": {"是": 1}, "trailing": {}}',
                                     '{"format": 2, "leading": {}, "trailing": {}}'])
def test_missing_or_damaged_span_edges_are_a_clear_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "span_edges.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SpanEdgesError, match=r"span_edges\.json"):
        load_span_edges(path)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random BERT in the layout of the converted e5 folder."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


def test_weights_round_trip_and_only_trained_layers_are_stored(tiny_base: Path, tmp_path: Path) -> None:
    import torch

    model = build_model(tiny_base, trained_layers=2)
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trained and all(n.startswith(("bert.encoder.layer.2.", "bert.encoder.layer.3.", "span.",
                                         "has_answer.")) for n in trained)
    with torch.no_grad():
        model.span.weight.fill_(0.25)
    path = tmp_path / "reader.safetensors"
    save_weights(model, path, {"note": "test"})
    loaded, card = load_model(tiny_base, path)
    assert card == {"note": "test"}
    assert torch.equal(loaded.span.weight, model.span.weight)
    ids = torch.tensor([[0, 5, 6, 7, 2]])
    with torch.no_grad():
        start, end, has = loaded(ids, torch.ones_like(ids))
    assert start.shape == end.shape == (1, 5) and has.shape == (1,)


def test_missing_damaged_or_foreign_weights_are_a_clear_error(tiny_base: Path, tmp_path: Path) -> None:
    path = tmp_path / "reader.safetensors"
    with pytest.raises(ReaderError, match="missing"):
        load_model(tiny_base, path)
    save_weights(build_model(tiny_base, trained_layers=2), path, {})
    path.write_bytes(path.read_bytes()[:200])  # cut short, as by a failed copy
    with pytest.raises(ReaderError, match="cannot be read"):
        load_model(tiny_base, path)
    other = tmp_path / "other"
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(vocab_size=64, hidden_size=48, num_hidden_layers=4, num_attention_heads=2,
                         intermediate_size=64), add_pooling_layer=False).save_pretrained(other)
    save_weights(build_model(other, trained_layers=2), path, {})
    with pytest.raises(ReaderError, match="shape"):
        load_model(tiny_base, path)


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A character tokenizer over the tiny model's 64-token vocabulary."""
    from transformers import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"藁城区完成了多少户厕所改造？0123456789"]
    path = tmp_path_factory.mktemp("tiny-vocab") / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return BertTokenizerFast(vocab_file=str(path))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_reading_in_either_precision_gives_a_verbatim_span_of_each_passage(
        tiny_base: Path, tiny_tokenizer: object, precision: str) -> None:
    import torch

    reader = Reader(build_model(tiny_base, trained_layers=2), tiny_tokenizer, max_length=36, stride=8,
                    precision=precision)
    expected = torch.bfloat16 if precision == "bf16" else torch.float32
    assert reader.model.span.weight.dtype == expected
    passages = ["藁城区完成了14880户厕所改造", "改造" * 20]  # the second needs several windows
    spans = reader.read("藁城区完成了多少户厕所改造？", passages)
    assert [s.passage for s in spans if s] == [0, 1]
    for span, passage in zip(spans, passages, strict=True):
        assert span is not None and 0 <= span.char_start < span.char_end <= len(passage)
        assert 0.0 <= span.has_answer <= 1.0
        json.dumps(dataclasses.asdict(span))  # plain numbers, as the answer JSON needs


def test_a_read_alone_runs_on_the_idle_cores_and_one_beside_another_on_one(
        tiny_base: Path, tiny_tokenizer: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    import torch

    from qa_service.models import reader as reader_module

    idle = 2
    monkeypatch.setattr(reader_module, "idle_cores", lambda: idle)
    reader = Reader(build_model(tiny_base, trained_layers=2), tiny_tokenizer, max_length=36, stride=8,
                    threads=2)
    model = reader.model
    seen: list[int] = []
    both_reading = threading.Barrier(2, timeout=30)
    overlap = False

    def recording(*args: object) -> object:
        seen.append(torch.get_num_threads())
        if overlap:  # hold this read until the other one is in flight too
            both_reading.wait()
        return model(*args)

    reader.model = recording
    own_count = torch.get_num_threads()
    torch.set_num_threads(1)
    reader.read("藁城区完成了多少户厕所改造？", ["藁城区完成了14880户厕所改造"])
    assert seen == [2]
    assert torch.get_num_threads() == 1  # the caller's own count comes back
    idle = 1  # another process holds a core
    reader.read("藁城区完成了多少户厕所改造？", ["藁城区完成了14880户厕所改造"])
    assert seen == [2, 1]
    idle, reader.threads = 2, 1  # QA_TORCH_THREADS=1: never more, idle cores or not
    reader.read("藁城区完成了多少户厕所改造？", ["藁城区完成了14880户厕所改造"])
    assert seen == [2, 1, 1]
    reader.threads = 2

    seen.clear()
    idle, overlap = 2, True
    # The second read starts while the first waits inside the model for it.
    first = threading.Thread(target=reader.read,
                             args=("藁城区完成了多少户厕所改造？", ["藁城区完成了14880户厕所改造"]))
    first.start()
    deadline = time.monotonic() + 30
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    reader.read("改造了多少户？", ["藁城区完成了14880户厕所改造"])
    first.join(30)
    assert seen == [2, 1]
    torch.set_num_threads(own_count)
