"""Builds on a Ray cluster: the same index as a local build, incremental, and surviving faults.

The cluster is a local one started by the tests (``ray.init(num_cpus=2)``); the actors
load the real model, so these are ``slow``. fp32 makes "the same vectors" testable to
1e-5: in bf16 the batches' padding differs between the two paths (cosine > 0.99999).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa_service.config import Settings
from qa_service.index import build_index, load_index, ray_embedding

from ..corpus.test_formats import chromium_page, text_image  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow

ACTOR_TITLE = "EmbeddingActor"  # Ray names an actor's process after its class


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[object]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def fp32_encoder(real_model_dir: Path):
    from qa_service.models import SentenceTransformerEncoder

    return SentenceTransformerEncoder("multilingual-e5-small", real_model_dir.parent, precision="fp32")


def _settings(tmp_path: Path, corpus_dir: Path, real_model_dir: Path, name: str, **ray: object) -> Settings:
    return Settings(corpus_dir=corpus_dir, index_dir=tmp_path / name, model_cache=real_model_dir.parent,
                    precision="fp32", **ray)  # type: ignore[arg-type]


def _vectors(index_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    loaded = load_index(index_dir)
    ids, vectors = loaded.vectors.all_vectors()
    order = np.argsort(ids)
    return ids[order], vectors[order], np.asarray(loaded.sentence_vectors, dtype=np.float32)


def _top_chunks(index_dir: Path, encoder, question: str) -> list[int]:
    _, hits = load_index(index_dir).vectors.search(encoder.encode_queries([question]), 5)
    return hits[0].tolist()


def _actor_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if ACTOR_TITLE.encode() in command:
                pids.append(int(entry))
    return pids


def test_a_ray_build_is_the_same_index_as_a_local_one(
        ray_cluster, fp32_encoder, tmp_path: Path, corpus_dir: Path, real_model_dir: Path) -> None:
    local = build_index(_settings(tmp_path, corpus_dir, real_model_dir, "local"), fp32_encoder)
    on_ray = build_index(_settings(tmp_path, corpus_dir, real_model_dir, "ray", ray_address="auto"),
                         fp32_encoder)
    assert on_ray.ray_actors == 2 and "embedded on Ray (auto)" in on_ray.describe()
    assert local.ray_actors == 0
    assert on_ray.chunks_embedded == local.chunks_embedded == on_ray.chunks_total > 0
    local_ids, local_vectors, local_sentences = _vectors(tmp_path / "local")
    ray_ids, ray_vectors, ray_sentences = _vectors(tmp_path / "ray")
    assert np.array_equal(local_ids, ray_ids)
    np.testing.assert_allclose(ray_vectors, local_vectors, atol=1e-5)
    np.testing.assert_allclose(ray_sentences, local_sentences, atol=2e-3)  # stored as fp16
    question = "藁城区完成了多少户厕所改造？"
    assert _top_chunks(tmp_path / "ray", fp32_encoder, question) == _top_chunks(
        tmp_path / "local", fp32_encoder, question)


def test_an_incremental_ray_build_sends_only_the_new_article(
        ray_cluster, fp32_encoder, tmp_path: Path, corpus_dir: Path, real_model_dir: Path) -> None:
    settings = _settings(tmp_path, corpus_dir, real_model_dir, "ray", ray_address="auto")
    build_index(settings, fp32_encoder)
    (corpus_dir / "new.md").write_text("---\ntitle: 新建图书馆开馆\n---\n新图书馆藏书十二万册，"
                                       "周一至周日开放。\n", encoding="utf-8")
    sent: list[int] = []

    def chunks_sent(phase: str, done: int, total: int) -> None:
        if phase == "chunks":
            sent.append(total)

    summary = build_index(settings, fp32_encoder, progress=chunks_sent)
    assert summary.articles_added == 1 and summary.articles_reused == 3
    assert summary.chunks_embedded == 1 and max(sent) == 1  # one chunk went to the cluster


def test_scanned_documents_are_read_on_the_cluster(
        ray_cluster, fp32_encoder, tmp_path: Path, corpus_dir: Path, real_model_dir: Path,
        chromium_page) -> None:  # noqa: F811  (the fixture imported above)
    (corpus_dir / "notice.png").write_bytes(text_image(chromium_page, "藁城区体育馆将于明年五月建成。"))
    (corpus_dir / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    settings = _settings(tmp_path, corpus_dir, real_model_dir, "ray", ray_address="auto")
    summary = build_index(settings, fp32_encoder)
    assert [o["source"] for o in summary.ocr_files] == ["notice.png"]
    assert [s["source"] for s in summary.skipped_files] == ["broken.pdf"]
    assert "not a readable PDF" in summary.skipped_files[0]["reason"]
    store = load_index(settings.index_dir).store
    notice = next(a for a in store.list_articles(0, 100) if a["file"] == "notice.png")
    article = store.get_article(notice["id"])
    assert article is not None and "体育馆将于明年五月建成" in article.text
    again = build_index(settings, fp32_encoder)
    assert again.ocr_files == []  # read on the cluster once, cached like a local read


def test_a_worker_killed_mid_build_does_not_fail_it(
        ray_cluster, fp32_encoder, tmp_path: Path, corpus_dir: Path, real_model_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_embedding, "RAY_BATCH_ROWS", 16)  # many batches: the kill lands mid-build
    killed: list[int] = []

    def kill_the_actor_once(phase: str, done: int, total: int) -> None:
        if phase != "files" and done and not killed:  # the first batch is back: the rest is not
            pids = _actor_pids()
            assert pids, "no embedding actor process found"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            killed.extend(pids)

    settings = _settings(tmp_path, corpus_dir, real_model_dir, "ray", ray_address="auto", ray_actors=1)
    summary = build_index(settings, fp32_encoder, progress=kill_the_actor_once)
    assert killed
    local = build_index(_settings(tmp_path, corpus_dir, real_model_dir, "local"), fp32_encoder)
    assert summary.chunks_total == local.chunks_total
    np.testing.assert_allclose(_vectors(tmp_path / "ray")[1], _vectors(tmp_path / "local")[1], atol=1e-5)


def test_a_driver_stopped_mid_build_resumes_from_what_the_cluster_sent(
        ray_cluster, fp32_encoder, tmp_path: Path, corpus_dir: Path, real_model_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_embedding, "RAY_BATCH_ROWS", 16)

    def stop_after_some(phase: str, done: int, total: int) -> None:
        if done >= 48:
            raise KeyboardInterrupt

    settings = _settings(tmp_path, corpus_dir, real_model_dir, "ray", ray_address="auto", ray_actors=1)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, fp32_encoder, progress=stop_after_some)
    assert not (settings.index_dir / "CURRENT").exists()
    summary = build_index(settings, fp32_encoder)
    assert summary.vectors_resumed >= 48


def test_a_rebuild_started_from_the_web_runs_on_the_cluster_named_by_qa_ray_address(
        ray_cluster, fp32_encoder, tmp_path: Path, corpus_dir: Path, real_model_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from qa_service.web import create_app

    from ..conftest import FakeReader
    from ..web.test_admin_api import AUTH, TOKEN, wait_for

    settings = _settings(tmp_path, corpus_dir, real_model_dir, "web")
    build_index(settings, fp32_encoder)
    monkeypatch.setenv("QA_RAY_ADDRESS", "auto")
    (corpus_dir / "new.md").write_text("---\ntitle: 新建图书馆开馆\n---\n新图书馆藏书十二万册。\n",
                                       encoding="utf-8")
    client = create_app({"INDEX_DIR": str(settings.index_dir), "CORPUS_DIR": str(corpus_dir),
                         "MODEL_CACHE": str(real_model_dir.parent), "PRECISION": "fp32",
                         "ENCODER": fp32_encoder, "READER": FakeReader(), "TESTING": True,
                         "RELOAD_SECONDS": 0, "ADMIN_TOKEN": TOKEN}).test_client()
    assert client.post("/api/index/rebuild", headers=AUTH).status_code == 202
    status = wait_for(lambda: (s := client.get("/api/index/status", headers=AUTH).get_json())["state"]
                      in ("succeeded", "failed") and s, timeout=120)
    assert status["state"] == "succeeded", status["error"]
    assert status["summary"]["ray_address"] == "auto" and status["summary"]["chunks_embedded"] == 1
