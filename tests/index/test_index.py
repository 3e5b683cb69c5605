from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa_service.answering import QuestionError, Retriever
from qa_service.config import Settings
from qa_service.index import (
    BuildError,
    IndexMismatchError,
    IndexNotReadyError,
    build_index,
    generations,
    load_index,
)

from ..conftest import FakeEncoder


def test_build_writes_a_generation_with_manifest(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    summary = build_index(settings, fake_encoder)
    assert summary.generation == "gen-000001"
    assert (summary.files, summary.articles, summary.skipped_files) == (2, 3, [])
    loaded = load_index(settings.index_dir)
    manifest = loaded.manifest
    # With the reader (the default) only the chunks are embedded, each once; every
    # sentence is still stored, for citing the one that holds an answer.
    assert summary.chunks_total == fake_encoder.passages_encoded
    assert loaded.sentence_vectors is None and manifest["sentence_vectors"] is None
    assert manifest["counts"]["sentences"] > summary.chunks_total
    assert not summary.sentence_vectors and "no sentence vectors" in summary.describe()
    assert len(loaded.lexical) == summary.chunks_total
    assert manifest["model"] == {"name": "fake-bigram", "dimension": 256}
    assert manifest["counts"]["chunks"] == summary.chunks_total == len(loaded.vectors)
    assert set(manifest["corpus_files"]) == {"000_84a38a59f6898cf4.txt", "004_9a059b5030db942b.txt"}
    assert manifest["chunking"]["target_chars"] == 250


def test_answering_without_the_reader_gets_sentence_vectors_and_keeps_the_passage_ones(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    first = build_index(settings, fake_encoder)
    counter = FakeEncoder()
    # A service switched to QA_READER_WEIGHTS=none rebuilds: only the sentences are embedded.
    summary = build_index(replace(settings, reader_weights="none"), counter)
    loaded = load_index(settings.index_dir)
    sentences = loaded.manifest["counts"]["sentences"]
    assert summary.full_rebuild_reason is None and summary.chunks_embedded == 0
    assert summary.sentences_embedded == sentences == counter.passages_encoded
    assert loaded.sentence_vectors is not None and len(loaded.sentence_vectors) == sentences
    assert f"{sentences} sentences embedded" in summary.describe()
    # And back: the reader's build drops them again without embedding anything.
    again = FakeEncoder()
    back = build_index(replace(settings, sentence_vectors="no"), again)
    assert again.passages_encoded == 0 and back.chunks_total == first.chunks_total
    assert load_index(settings.index_dir).sentence_vectors is None


def test_a_wrong_sentence_vectors_setting_is_refused_before_any_work(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    with pytest.raises(BuildError, match="QA_SENTENCE_VECTORS is 'maybe'"):
        build_index(replace(settings, sentence_vectors="maybe"), fake_encoder)
    assert fake_encoder.passages_encoded == 0
    assert generations.current_generation(settings.index_dir) is None


def test_an_index_of_the_previous_format_is_served_and_its_vectors_reused(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    build_index(replace(settings, sentence_vectors="yes"), fake_encoder)
    path = load_index(settings.index_dir).path / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**manifest, "format_version": 2}), encoding="utf-8")
    assert load_index(settings.index_dir).sentence_vectors is not None
    counter = FakeEncoder()
    summary = build_index(settings, counter)
    assert summary.full_rebuild_reason is None and counter.passages_encoded == 0


def test_answers_carry_citations_that_point_into_the_article(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    build_index(settings, fake_encoder)
    loaded = load_index(settings.index_dir)
    result = Retriever(loaded, fake_encoder).ask("全区共完成厕所改造多少户?", top_k=3)
    assert [p["rank"] for p in result["passages"]] == [1, 2, 3]
    top = result["passages"][0]
    assert "14880户" in top["text"]
    article = loaded.store.get_article(top["article"]["id"])
    assert article is not None and article.title == top["article"]["title"] == "藁城这一年"
    assert article.text[top["char_start"] : top["char_end"]] == top["text"]
    para = article.paragraphs[top["paragraph"]]
    assert para.start <= top["char_start"] < para.end
    assert result["generation"] == "gen-000001"
    assert result["took_ms"] >= 0


def test_passages_are_never_near_copies_of_better_ones(settings: Settings, fake_encoder: FakeEncoder) -> None:
    summary = build_index(settings, fake_encoder)
    passages = Retriever(load_index(settings.index_dir), fake_encoder).ask("项目", top_k=1000)["passages"]
    assert 10 < len(passages) <= summary.chunks_total
    for i, later in enumerate(passages):
        covered = sum(
            max(0, min(later["char_end"], p["char_end"]) - max(later["char_start"], p["char_start"]))
            for p in passages[:i] if p["article"]["id"] == later["article"]["id"]
        )
        assert covered <= 0.5 * (later["char_end"] - later["char_start"])


def test_empty_question_is_rejected(settings: Settings, fake_encoder: FakeEncoder) -> None:
    build_index(settings, fake_encoder)
    retriever = Retriever(load_index(settings.index_dir), fake_encoder)
    with pytest.raises(QuestionError):
        retriever.ask(" \n\t ")


def test_rebuild_switches_generation_and_keeps_a_few(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    names = [build_index(settings, fake_encoder).generation for _ in range(5)]
    assert names == [f"gen-{i:06d}" for i in range(1, 6)]
    assert generations.current_generation(settings.index_dir) == "gen-000005"
    assert generations.list_generations(settings.index_dir) == ["gen-000003", "gen-000004", "gen-000005"]


def test_index_built_with_another_model_is_a_clear_error(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    build_index(settings, fake_encoder)
    other = FakeEncoder(name="other-model")
    with pytest.raises(IndexMismatchError, match=r"fake-bigram.*other-model"):
        Retriever(load_index(settings.index_dir), other)
    with pytest.raises(IndexMismatchError, match="dimension"):
        Retriever(load_index(settings.index_dir), FakeEncoder(dimension=32))


def test_missing_index_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(IndexNotReadyError, match="qa-service index"):
        load_index(tmp_path / "nothing-here")


@pytest.mark.parametrize("damage", ["truncate_vectors", "delete_store", "garbage_manifest", "old_format"])
def test_damaged_index_is_refused_with_the_fix(
    settings: Settings, fake_encoder: FakeEncoder, damage: str
) -> None:
    build_index(settings, fake_encoder)
    folder = load_index(settings.index_dir).path
    if damage == "truncate_vectors":
        data = (folder / "vectors.faiss").read_bytes()
        (folder / "vectors.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "delete_store":
        (folder / "chunks.sqlite").unlink()
    elif damage == "garbage_manifest":
        (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    else:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        manifest["format_version"] = 999
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexNotReadyError, match="qa-service index"):
        load_index(settings.index_dir)
    # A rebuild repairs it.
    build_index(settings, fake_encoder)
    assert load_index(settings.index_dir).generation == "gen-000002"


def test_missing_sentence_vectors_the_manifest_names_are_a_clear_error(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    build_index(replace(settings, sentence_vectors="yes"), fake_encoder)
    (load_index(settings.index_dir).path / "sentence_vectors.npy").unlink()
    with pytest.raises(IndexNotReadyError, match=r"sentence_vectors\.npy.*qa-service index"):
        load_index(settings.index_dir)


class ExplodingEncoder(FakeEncoder):
    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        show_progress: bool = False) -> np.ndarray:
        raise RuntimeError("simulated crash while embedding")


def test_failed_build_leaves_the_served_index_intact(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    build_index(settings, fake_encoder)
    (settings.corpus_dir / "new.txt").write_text("新文章\n\n新增内容一句话。", encoding="utf-8")
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_index(settings, ExplodingEncoder())
    loaded = load_index(settings.index_dir)
    assert loaded.generation == "gen-000001"
    assert not list((settings.index_dir / "generations").glob(".staging-*"))


def test_leftover_staging_from_a_killed_build_is_cleaned(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    build_index(settings, fake_encoder)
    leftover = generations.new_staging_dir(settings.index_dir)
    (leftover / "vectors.faiss").write_bytes(b"half written")
    build_index(settings, fake_encoder)
    assert not leftover.exists()
    assert load_index(settings.index_dir).generation == "gen-000002"


def test_second_concurrent_build_is_refused(settings: Settings, fake_encoder: FakeEncoder) -> None:
    with generations.build_lock(settings.index_dir), pytest.raises(
        generations.BuildLockedError, match="another build"
    ):
        build_index(settings, fake_encoder)


def test_corpus_without_usable_files_is_an_error(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "empty.txt").write_bytes(b"")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "idx")
    with pytest.raises(BuildError, match=r"empty\.txt: file is empty"):
        build_index(settings, fake_encoder)
    assert generations.current_generation(settings.index_dir) is None


def test_skipped_files_are_listed_in_the_summary(
    settings: Settings, fake_encoder: FakeEncoder
) -> None:
    (settings.corpus_dir / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    summary = build_index(replace(settings), fake_encoder)
    assert summary.skipped_files == [{"source": "broken.txt", "reason": "binary file (contains NUL bytes)"}]
    assert "broken.txt: binary file" in summary.describe()


def test_a_store_from_before_files_and_pages_were_recorded_still_serves(
        settings: Settings, fake_encoder: FakeEncoder) -> None:
    import sqlite3

    build_index(settings, fake_encoder)
    index = load_index(settings.index_dir)
    path = index.store.path
    with sqlite3.connect(path) as connection:  # as format 2 wrote it: no file, 3-item paragraphs
        rows = connection.execute("SELECT id, paragraphs FROM articles").fetchall()
        for article_id, paragraphs in rows:
            old = json.dumps([p[:3] for p in json.loads(paragraphs)])
            connection.execute("UPDATE articles SET paragraphs = ? WHERE id = ?", (old, article_id))
        connection.execute("ALTER TABLE articles DROP COLUMN file")
    manifest_path = path.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["file_sizes"][path.name] = path.stat().st_size  # what the old build recorded
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    old_index = load_index(settings.index_dir)
    listed = old_index.store.list_articles(0, 10)
    assert listed and all(a["file"] is None and a["pages"] is None for a in listed)
    article = old_index.store.get_article(listed[0]["id"])
    assert article is not None and article.file == "" and article.paragraphs[0].page is None
    result = Retriever(old_index, fake_encoder).ask("全区共完成厕所改造多少户?")
    assert result["passages"] and result["passages"][0]["page"] is None
