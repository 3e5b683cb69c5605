from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa_service.answering import Retriever
from qa_service.config import Settings
from qa_service.index import (
    build_index,
    build_vector_index,
    choose_kind,
    ivf_lists,
    load_index,
    load_vector_index,
)

from ..conftest import FakeEncoder


def clustered_vectors(count: int, dimension: int = 32, seed: int = 1) -> np.ndarray:
    """Unit vectors around a few hundred centres, like embeddings of related texts."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, dimension))
    vectors = centres[rng.integers(0, len(centres), count)] + 0.3 * rng.normal(size=(count, dimension))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_the_index_kind_follows_the_corpus_size() -> None:
    assert choose_kind(100_000) == "flat"
    assert choose_kind(100_001) == "ivf"
    assert choose_kind(5_000, exact_limit=1_000) == "ivf"
    assert ivf_lists(1_000_000) == 4000
    assert ivf_lists(100) == 2  # never more clusters than the data can train


@pytest.mark.parametrize("limit", [10_000, 1_000])
def test_saved_index_is_memory_mapped_and_finds_the_same_neighbours(tmp_path: Path, limit: int) -> None:
    vectors = clustered_vectors(4_000)
    ids = np.arange(10, 4_010, dtype=np.int64)  # ids are explicit, not row numbers
    index = build_vector_index(ids, vectors, 32, exact_limit=limit)
    index.save(tmp_path / "vectors.faiss")
    loaded = load_vector_index(index.kind, tmp_path / "vectors.faiss", index.params.get("nprobe"))

    assert loaded.kind == ("flat" if limit == 10_000 else "ivf") and len(loaded) == 4_000
    scores, found = loaded.search(vectors[:50], 10)
    assert (found[:, 0] == ids[:50]).all()  # every vector's nearest neighbour is itself
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4)
    exact = vectors[:50] @ vectors.T
    truth = ids[np.argsort(-exact, axis=1)[:, :10]]
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95


@pytest.mark.parametrize("limit", [10_000, 1_000])
def test_all_vectors_gives_back_what_was_added(tmp_path: Path, limit: int) -> None:
    vectors = clustered_vectors(3_000)
    ids = np.arange(3_000, dtype=np.int64)[::-1].copy()
    build_vector_index(ids, vectors, 32, exact_limit=limit).save(tmp_path / "v.faiss")
    loaded = load_vector_index("ivf" if limit == 1_000 else "flat", tmp_path / "v.faiss")
    got_ids, got = loaded.all_vectors()
    order = np.argsort(got_ids)
    assert (got_ids[order] == np.arange(3_000)).all()
    assert np.allclose(got[order], vectors[::-1], atol=1e-6)


def test_a_large_corpus_is_served_from_an_ivf_index(
        settings: Settings, corpus_dir: Path, fake_encoder: FakeEncoder) -> None:
    for n in range(60):
        (corpus_dir / f"note-{n}.md").write_text(
            f"---\ntitle: 第{n}号通知\n---\n第{n}号通知：本次共有{n * 7 + 3}户居民参加了第{n}期培训。\n",
            encoding="utf-8")
    settings = replace(settings, exact_search_limit=40)
    build_index(settings, fake_encoder)
    index = load_index(settings.index_dir)
    assert index.manifest["vector_index"]["kind"] == "ivf"
    assert index.manifest["vector_index"]["nlist"] >= 1
    result = Retriever(index, fake_encoder).ask("第17期培训有多少户居民参加？")
    assert result["passages"][0]["article"]["title"] == "第17号通知"

    # An incremental build over an IVF generation reuses its vectors.
    (corpus_dir / "note-60.md").write_text("第60号通知：新增一期培训。\n", encoding="utf-8")
    summary = build_index(settings, fake_encoder)
    assert summary.full_rebuild_reason is None and summary.articles_reused >= 60
    assert summary.chunks_embedded == 1
