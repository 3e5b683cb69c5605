"""A build that dies part-way resumes from what it had embedded; progress tells time left."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa_service.config import Settings
from qa_service.index import (
    CACHE_DIR,
    EmbeddingCache,
    PhaseClock,
    build_index,
    current_generation,
    embedding_cache,
    format_seconds,
    load_index,
    log_progress,
)
from qa_service.index import embedding as index_embedding

from ..conftest import FakeEncoder


class DyingEncoder(FakeEncoder):
    """Stops the build (as a kill or out-of-memory would) after a number of slices."""

    def __init__(self, slices: int) -> None:
        super().__init__()
        self.slices_left = slices

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        show_progress: bool = False) -> np.ndarray:
        if self.slices_left == 0:
            raise KeyboardInterrupt
        self.slices_left -= 1
        return super().encode_passages(texts, batch_size)


@pytest.fixture
def many_articles(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(index_embedding, "SLICE", 8)
    for n in range(12):
        (corpus_dir / f"report-{n}.md").write_text(
            f"---\ntitle: 第{n}期简报\n---\n第{n}期简报说，本月新建了{n + 3}座桥。"
            f"全年共有{n * 11}个村完成改造。\n", encoding="utf-8")
    return corpus_dir


def test_a_killed_build_resumes_instead_of_starting_again(
        settings: Settings, many_articles: Path) -> None:
    settings = replace(settings, sentence_vectors="yes")  # both kinds of vectors resume
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, DyingEncoder(slices=3))
    assert current_generation(settings.index_dir) is None
    cached = len(EmbeddingCache(settings.index_dir, "fake-bigram", 256))
    assert 3 * 8 - 2 <= cached <= 3 * 8  # three slices; a text seen twice is kept once

    again = FakeEncoder()
    summary = build_index(settings, again)
    assert summary.vectors_resumed >= cached
    total = summary.chunks_total + load_index(settings.index_dir).manifest["counts"]["sentences"]
    assert again.passages_encoded == total - summary.vectors_resumed
    assert not (settings.index_dir / CACHE_DIR).exists()  # a published build leaves no cache

    # The resumed generation holds exactly what a build from scratch would.
    resumed = load_index(settings.index_dir)
    fresh = build_index(settings, FakeEncoder(), full=True)
    assert fresh.vectors_resumed == 0
    rebuilt = load_index(settings.index_dir)
    ids_a, vectors_a = resumed.vectors.all_vectors()
    ids_b, vectors_b = rebuilt.vectors.all_vectors()
    assert (ids_a == ids_b).all() and np.allclose(vectors_a, vectors_b)
    assert np.array_equal(resumed.sentence_vectors, rebuilt.sentence_vectors)


def test_vectors_of_another_model_or_a_damaged_shard_are_not_reused(
        settings: Settings, many_articles: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding_cache, "FLUSH_ROWS", 1)  # a shard per slice
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, DyingEncoder(slices=2))
    shards = sorted((settings.index_dir / CACHE_DIR).glob("shard-*.npz"))
    assert len(shards) == 2
    shards[0].write_bytes(b"not a shard")
    kept = len(EmbeddingCache(settings.index_dir, "fake-bigram", 256))
    assert 6 <= kept <= 8  # only the whole shard counts
    summary = build_index(settings, FakeEncoder())
    assert summary.vectors_resumed >= kept

    with pytest.raises(KeyboardInterrupt):
        build_index(settings, DyingEncoder(slices=0), full=True)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, DyingEncoder(slices=2), full=True)
    other = FakeEncoder(name="another-model")
    summary = build_index(settings, other, full=True)
    assert summary.vectors_resumed == 0


def test_progress_reports_rate_and_time_left() -> None:
    now = [100.0]
    clock = PhaseClock(clock=lambda: now[0])
    assert clock.estimate("chunks", 0, 1000)["eta_seconds"] is None  # nothing measured yet
    now[0] = 110.0
    state = clock.estimate("chunks", 160, 1000)
    assert state["per_second"] == 16.0 and state["eta_seconds"] == 52.5
    assert clock.estimate("chunks", 1000, 1000)["eta_seconds"] == 0.0
    assert format_seconds(3 * 3600 + 125) == "3h02m" and format_seconds(75) == "1m15s"

    out = io.StringIO()
    report = log_progress(out, every=0.0)
    report("chunks", 0, 500)
    report("chunks", 500, 500)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("embedding chunks: 0/500 (0%)")
    assert lines[-1].startswith("embedding chunks: 500/500 (100%)")

    quiet = io.StringIO()
    report = log_progress(quiet, every=60.0)
    report("chunks", 0, 500)
    report("chunks", 500, 500)
    assert quiet.getvalue() == ""  # a build shorter than a minute says nothing
