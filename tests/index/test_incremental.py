from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from qa_service.answering import Retriever
from qa_service.config import Settings
from qa_service.corpus import ChunkingSettings
from qa_service.index import build_index, generations, load_index

from ..conftest import LIBRARY_ARTICLE, ROOT, FakeEncoder


def test_adding_an_article_embeds_only_that_article(settings: Settings, fake_encoder: FakeEncoder) -> None:
    first = build_index(settings, fake_encoder)
    assert first.articles_added == 3 and first.full_rebuild_reason == "no previous index"
    (settings.corpus_dir / "library.txt").write_text(LIBRARY_ARTICLE, encoding="utf-8")
    counter = FakeEncoder()
    second = build_index(settings, counter)
    assert (second.articles_added, second.articles_changed, second.articles_removed,
            second.articles_reused) == (1, 0, 0, 3)
    assert second.full_rebuild_reason is None
    assert second.chunks_embedded == 1 and second.chunks_total == first.chunks_total + 1
    assert counter.passages_encoded == second.chunks_embedded + second.sentences_embedded
    answer = Retriever(load_index(settings.index_dir), counter).ask("图书馆藏书多少册?")
    assert "十二万册" in answer["passages"][0]["text"]


def test_reused_vectors_equal_freshly_embedded_ones(settings: Settings, fake_encoder: FakeEncoder) -> None:
    settings = replace(settings, sentence_vectors="yes")
    build_index(settings, fake_encoder)
    (settings.corpus_dir / "library.txt").write_text(LIBRARY_ARTICLE, encoding="utf-8")
    build_index(settings, fake_encoder)
    incremental = load_index(settings.index_dir)
    build_index(settings, fake_encoder, full=True)
    full = load_index(settings.index_dir)
    ids_a, a = incremental.vectors.all_vectors()
    ids_b, b = full.vectors.all_vectors()
    assert np.array_equal(ids_a, ids_b) and np.allclose(a, b, atol=1e-6)
    assert incremental.sentence_vectors is not None and full.sentence_vectors is not None
    assert np.array_equal(np.asarray(incremental.sentence_vectors), np.asarray(full.sentence_vectors))


def test_changed_and_removed_articles_are_counted(settings: Settings, fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    path = settings.corpus_dir / "004_9a059b5030db942b.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("19个项目", "20个项目"), encoding="utf-8")
    (settings.corpus_dir / "000_84a38a59f6898cf4.txt").unlink()
    summary = build_index(settings, FakeEncoder())
    assert (summary.articles_added, summary.articles_changed, summary.articles_removed,
            summary.articles_reused) == (0, 1, 1, 1)
    store = load_index(settings.index_dir).store
    assert store.count_articles() == 2
    assert not any("14880户" in c.text for c in store.get_chunks(list(range(summary.chunks_total))).values())


def test_full_flag_and_changed_settings_force_a_full_rebuild(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    first = build_index(settings, fake_encoder)
    forced = build_index(settings, fake_encoder, full=True)
    assert forced.chunks_embedded == first.chunks_total
    assert forced.full_rebuild_reason == "--full was asked for"
    other_chunking = replace(settings, chunking=ChunkingSettings(target_chars=120))
    rechunked = build_index(other_chunking, fake_encoder)
    assert rechunked.full_rebuild_reason == "the chunking settings changed"
    assert rechunked.chunks_embedded == rechunked.chunks_total
    other_model = build_index(settings, FakeEncoder(name="another-model"))
    assert other_model.full_rebuild_reason == "the model changed from fake-bigram to another-model"
    assert other_model.articles_reused == 0


def test_rollback_switches_to_the_previous_generation(settings: Settings, fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    (settings.corpus_dir / "library.txt").write_text(LIBRARY_ARTICLE, encoding="utf-8")
    build_index(settings, fake_encoder)
    assert generations.rollback(settings.index_dir) == ("gen-000001", "gen-000002")
    assert load_index(settings.index_dir).store.count_articles() == 3
    with pytest.raises(FileNotFoundError, match="oldest"):
        generations.rollback(settings.index_dir)
    assert build_index(settings, fake_encoder).generation == "gen-000003"


class SlowEncoder(FakeEncoder):
    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        show_progress: bool = False) -> np.ndarray:
        time.sleep(0.5)
        return super().encode_passages(texts, batch_size, show_progress)


def test_concurrent_builds_do_not_corrupt_anything(settings: Settings, fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    (settings.corpus_dir / "library.txt").write_text(LIBRARY_ARTICLE, encoding="utf-8")
    outcomes: list[str] = []

    def run() -> None:
        try:
            outcomes.append(build_index(settings, SlowEncoder(), full=True).generation)
        except generations.BuildLockedError as exc:
            outcomes.append(f"locked: {exc}")

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    built = [o for o in outcomes if o.startswith("gen-")]
    assert len(built) == 1 and sum("another build is running" in o for o in outcomes) == 2
    loaded = load_index(settings.index_dir)
    assert loaded.generation == built[0] and loaded.store.count_articles() == 4


KILLED_BUILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from tests.conftest import FakeEncoder
    from qa_service.config import Settings
    from qa_service.index import build_index

    class Stalling(FakeEncoder):
        def encode_passages(self, texts, batch_size=32, show_progress=False):
            print("embedding", flush=True)
            time.sleep(60)

    build_index(Settings(corpus_dir=Path({corpus!r}), index_dir=Path({index!r})), Stalling(), full=True)
""")


def test_a_build_killed_with_sigkill_leaves_the_served_index_intact(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    build_index(settings, fake_encoder)
    (settings.corpus_dir / "library.txt").write_text(LIBRARY_ARTICLE, encoding="utf-8")
    script = KILLED_BUILD.format(root=str(ROOT), corpus=str(settings.corpus_dir),
                                 index=str(settings.index_dir))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "embedding"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    assert load_index(settings.index_dir).generation == "gen-000001"
    # The dead build's lock is gone with it; the next build works and cleans up.
    summary = build_index(settings, fake_encoder)
    assert summary.generation == "gen-000002" and summary.articles_added == 1
    assert not list((settings.index_dir / "generations").glob(".staging-*"))


def test_cli_index_json_reports_the_incremental_summary(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from qa_service import cli, models

    monkeypatch.setattr(models, "load_encoder", lambda config, questions=True: FakeEncoder())
    args = ["index", "--corpus", str(settings.corpus_dir), "--index-dir", str(settings.index_dir), "--json"]
    assert CliRunner().invoke(cli.main, args).exit_code == 0
    (settings.corpus_dir / "library.txt").write_text(LIBRARY_ARTICLE, encoding="utf-8")
    result = CliRunner().invoke(cli.main, args)
    import json

    summary = json.loads(result.output)
    for key in ("generation", "articles_added", "articles_changed", "articles_removed", "articles_reused",
                "chunks_embedded", "chunks_total", "skipped_files", "seconds"):
        assert key in summary
    assert summary["articles_added"] == 1 and summary["chunks_embedded"] == 1
    rolled = CliRunner().invoke(cli.main, ["index", "--index-dir", str(settings.index_dir), "--rollback"])
    assert rolled.exit_code == 0 and "now serving gen-000001 (was gen-000002)" in rolled.output
