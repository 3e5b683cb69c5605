"""Build a new index generation from the corpus: read, chunk, embed what changed, publish.

Only new or changed articles are embedded; unchanged ones take their vectors from the
served generation (see reuse.py). The new generation is always complete on its own.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..corpus import (
    EXAMPLES_FILE,
    STATED_DATE_SOURCES,
    VOCABULARY_FILE,
    Article,
    ArticleNotes,
    Chunk,
    SkippedFile,
    chunk_article,
    embedding_text,
    notes_of,
    read_corpus,
    read_example_questions,
    read_vocabulary,
    sentence_units,
)
from ..models import Encoder, calibration_for, resolve_threads, use_threads
from . import generations
from .chunk_store import SentenceSpan, write_chunk_store
from .embedding import Embedder, EmbeddingError, LocalEmbedder, embed_planned, plan_vectors
from .embedding_cache import EmbeddingCache
from .lexical import LexicalIndex
from .manifest import CHUNKS, FORMAT_VERSION, LEXICAL, MANIFEST, SENTENCE_VECTORS, VECTORS
from .progress import Progress, log_progress, terminal_progress
from .ray_embedding import (
    ModelSpec,
    RayBuildError,
    RayEmbedder,
    RayPlan,
    check_cluster_address,
    ray_session,
)
from .ray_reading import RayFileReader
from .reuse import PreviousVectors, load_previous
from .vector_index import build_vector_index


class BuildError(RuntimeError):
    pass


@dataclass
class BuildSummary:
    generation: str = ""
    files: int = 0
    articles: int = 0
    articles_added: int = 0
    articles_changed: int = 0
    articles_removed: int = 0
    articles_reused: int = 0
    copies: int = 0  # republished copies of other articles: listed, not searched
    chunks_embedded: int = 0
    chunks_total: int = 0
    sentences_embedded: int = 0
    sentence_vectors: bool = False  # whether this generation has sentence vectors (no reader)
    vectors_resumed: int = 0  # taken from the cache of an unfinished earlier build
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    # Files read by OCR in this build (cached ones are not read again): pages, seconds, and
    # pages that gave no text at all.
    ocr_files: list[dict] = field(default_factory=list)
    full_rebuild_reason: str | None = None
    seconds: float = 0.0
    embed_seconds: float = 0.0
    notes_seconds: float = 0.0  # authors and summaries made (corpus/notes.py)
    notes_reused: int = 0  # articles whose notes an earlier build made
    torch_threads: int = 0  # the threads the encoder ran on (QA_TORCH_THREADS)
    niceness: int = 0  # the build thread's nice value (builds started by the server run at +10)
    ray_address: str = ""  # the Ray cluster that embedded (empty: this machine)
    ray_actors: int = 0  # its embedding actors at most

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        lines = [
            f"generation {self.generation}: {self.files} files, {self.articles} articles, "
            f"{self.chunks_total} chunks in {self.seconds:.1f}s (embedding {self.embed_seconds:.1f}s, "
            f"{self.torch_threads} torch thread(s))",
            f"articles: {self.articles_added} added, {self.articles_changed} changed, "
            f"{self.articles_removed} removed, {self.articles_reused} reused; "
            f"{self.chunks_embedded} chunks embedded"
            + (f", {self.sentences_embedded} sentences embedded" if self.sentence_vectors
               else " (no sentence vectors: the reader does not need them)")
            + (f"; {self.copies} republished copies listed, not searched" if self.copies else ""),
        ]
        if self.ray_address:
            lines.append(f"embedded on Ray ({self.ray_address}): up to {self.ray_actors} actor(s)")
        if self.vectors_resumed:
            lines.append(f"resumed: {self.vectors_resumed} vectors came from an unfinished earlier build")
        if self.full_rebuild_reason:
            lines.append(f"full rebuild: {self.full_rebuild_reason}")
        for ocr in self.ocr_files:
            pages = ", ".join(map(str, ocr["empty_pages"]))
            empty = f"; no text on page(s) {pages}" if pages else ""
            lines.append(f"OCR: {ocr['source']}: {len(ocr['ocr_pages'])} of {ocr['pages']} page(s) in "
                         f"{ocr['seconds']:.1f}s{empty}")
        if self.skipped_files:
            lines.append(f"skipped {len(self.skipped_files)} file(s):")
            lines += [f"  {s['source']}: {s['reason']}" for s in self.skipped_files]
        else:
            lines.append("skipped 0 files")
        return "\n".join(lines)


def _embeds_sentences(settings: Settings) -> bool:
    try:
        return settings.embeds_sentences
    except ValueError as exc:  # a wrong QA_SENTENCE_VECTORS
        raise BuildError(str(exc)) from exc


def check_build_settings(settings: Settings) -> None:
    """Refuse, before any model is loaded, settings a build cannot run with."""
    _embeds_sentences(settings)
    if settings.ray_address:
        try:
            check_cluster_address(settings.ray_address)
        except RayBuildError as exc:
            raise BuildError(str(exc)) from exc


@contextmanager
def cluster_for(settings: Settings) -> Iterator[Any | None]:
    """Connected to the Ray cluster ``settings.ray_address`` names for a build, or None."""
    if not settings.ray_address:
        yield None
        return
    try:
        with ray_session(_ray_plan(settings)) as ray:
            yield ray
    except RayBuildError as exc:
        raise BuildError(str(exc)) from exc


def _embedder(settings: Settings, encoder: Encoder, ray: Any | None) -> Embedder:
    if ray is None:
        return LocalEmbedder(encoder, settings.batch_size)
    spec = ModelSpec(settings.model, settings.model_cache, settings.precision)
    return RayEmbedder(ray, _ray_plan(settings), spec, settings.batch_size, encoder.dimension)


def _ray_plan(settings: Settings) -> RayPlan:
    return RayPlan(settings.ray_address, settings.ray_actors, settings.ray_actor_cpus)


def build_index(settings: Settings, encoder: Encoder, show_progress: bool = False,
                full: bool = False, progress: Progress | None = None) -> BuildSummary:
    """Build a generation from ``settings.corpus_dir`` and make it the served one."""
    started = time.perf_counter()
    index_dir = settings.index_dir
    embeds_sentences = _embeds_sentences(settings)
    # Set in this thread, the one that encodes: torch keeps the count per thread.
    threads = use_threads(resolve_threads(settings.torch_threads))
    if show_progress and progress is None:
        progress = terminal_progress() if sys.stderr.isatty() else log_progress()
    with generations.build_lock(index_dir), cluster_for(settings) as ray:
        generations.remove_stale_staging(index_dir)
        # Beside the generations: what OCR and the other readers extracted, by file hash.
        # On a cluster, the documents not extracted yet are read there first.
        corpus = read_corpus(settings.corpus_dir, index_dir / "extracted", settings.group_copies,
                             remote=RayFileReader(ray, settings.ray_actor_cpus) if ray else None)
        if progress:
            seen = len(corpus.files) + len(corpus.skipped)
            progress("files", seen, seen)
        if not corpus.articles:
            detail = "; ".join(f"{s.source}: {s.reason}" for s in corpus.skipped)
            detail = detail or "no .txt or .md files"
            raise BuildError(f"no usable articles in {settings.corpus_dir} ({detail})")

        chunking = settings.chunking.fingerprint()
        previous, reason = (None, "--full was asked for") if full else load_previous(
            index_dir, encoder.name, encoder.dimension, chunking)
        examples, problem = read_example_questions(settings.corpus_dir)
        if problem:
            corpus.skipped.append(SkippedFile(EXAMPLES_FILE, problem))
        vocabulary, problem = read_vocabulary(settings.corpus_dir)
        if problem:
            corpus.skipped.append(SkippedFile(VOCABULARY_FILE, problem))
        summary = BuildSummary(files=len(corpus.files), articles=len(corpus.articles),
                               skipped_files=[_skip(s) for s in corpus.skipped],
                               full_rebuild_reason=None if previous else reason,
                               ocr_files=[asdict(r) for r in corpus.ocr],
                               torch_threads=threads, niceness=os.nice(0))
        reusable = _count_articles(corpus.articles, previous, summary)

        titles = {a.id: a.title for a in corpus.articles}
        texts = {a.id: a.text for a in corpus.articles}
        # A republished copy is stored (listed, cited as 同文另见) but not searched: each
        # passage is found once, in its canonical article.
        searched = [a for a in corpus.articles if a.copy_of is None]
        summary.copies = len(corpus.articles) - len(searched)
        chunks: list[Chunk] = [c for a in searched for c in chunk_article(a, settings.chunking)]
        sentences = [
            SentenceSpan(i, article_id, paragraph, start, end)
            for i, (article_id, start, end, paragraph) in enumerate(
                (a.id, s, e, p) for a in searched
                for s, e, p in sentence_units(a, settings.chunking.max_chars))
        ]
        # Every sentence is stored (the reader's answer cites the one that holds it), but
        # only answering without the reader needs their vectors: about half of the
        # embedding work of a build.
        embedded_sentences = sentences if embeds_sentences else []

        def reused(kind: str) -> Callable:
            if previous is None:
                return lambda key: None
            lookup = previous.chunk_vector if kind == "chunks" else previous.sentence_vector
            return lambda key: lookup(key) if key[0] in reusable else None

        embed_started = time.perf_counter()
        cache = EmbeddingCache(index_dir, encoder.name, encoder.dimension)
        passage_texts = [embedding_text(titles[c.article_id], c.text) for c in chunks]
        chunk_plan = plan_vectors([(c.article_id, c.char_start, c.char_end) for c in chunks], passage_texts,
                                  reused("chunks"), encoder.dimension, "chunks", cache)
        sentence_plan = plan_vectors(
            [(s.article_id, s.char_start, s.char_end) for s in embedded_sentences],
            [texts[s.article_id][s.char_start : s.char_end] for s in embedded_sentences],
            reused("sentences"), encoder.dimension, "sentences", cache,
            # Stored as fp16 (see _write_generation): held so from the start, half the memory.
            dtype=np.float16)
        embedder = _embedder(settings, encoder, ray)
        if isinstance(embedder, RayEmbedder):
            summary.ray_address, summary.ray_actors = settings.ray_address, embedder.actors
        try:
            embed_planned([chunk_plan, sentence_plan], embedder, encoder, progress, cache)
        except (EmbeddingError, RayBuildError) as exc:
            raise BuildError(str(exc)) from exc
        vectors = chunk_plan.vectors
        sentence_vectors = sentence_plan.vectors if embeds_sentences else None
        summary.chunks_embedded = len(chunk_plan.missing)
        summary.sentences_embedded = len(sentence_plan.missing)
        summary.sentence_vectors = sentence_vectors is not None
        summary.vectors_resumed = chunk_plan.resumed + sentence_plan.resumed
        summary.embed_seconds = round(time.perf_counter() - embed_started, 3)
        summary.chunks_total = len(chunks)

        notes_started = time.perf_counter()
        # Authors and summaries: taken over where the article is unchanged, made otherwise.
        old_notes = previous.notes if previous else {}
        notes = {a.id: old_notes.get(a.content_hash) or notes_of(a) for a in corpus.articles}
        summary.notes_seconds = round(time.perf_counter() - notes_started, 3)
        summary.notes_reused = sum(a.content_hash in old_notes for a in corpus.articles)

        staging = generations.new_staging_dir(index_dir)
        summary.seconds = round(time.perf_counter() - started, 3)  # in the manifest; final below
        try:
            _write_generation(staging, settings, encoder, corpus.articles, chunks, vectors,
                              passage_texts, sentences, sentence_vectors, corpus.files, summary, examples,
                              vocabulary, notes)
            summary.generation = generations.publish(index_dir, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        cache.clear()  # everything it held is in the published generation now
        generations.prune(index_dir, settings.keep_generations)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _count_articles(articles: list[Article], previous: PreviousVectors | None,
                    summary: BuildSummary) -> set[str]:
    """Fill the added/changed/removed/reused counts; return the ids whose vectors carry over."""
    old = previous.article_hashes if previous else {}
    reusable = {a.id for a in articles if old.get(a.id) == a.content_hash}
    summary.articles_reused = len(reusable)
    summary.articles_changed = sum(1 for a in articles if a.id in old and a.id not in reusable)
    summary.articles_added = sum(1 for a in articles if a.id not in old)
    summary.articles_removed = len(set(old) - {a.id for a in articles})
    return reusable


def _write_generation(staging: Path, settings: Settings, encoder: Encoder, articles: list[Article],
                      chunks: list[Chunk], vectors: np.ndarray, passage_texts: list[str],
                      sentences: list[SentenceSpan], sentence_vectors: np.ndarray | None,
                      corpus_files: dict[str, str], summary: BuildSummary, examples: list[str],
                      vocabulary: dict, notes: dict[str, ArticleNotes]) -> None:
    ids = np.arange(len(chunks), dtype=np.int64)
    index = build_vector_index(ids, vectors, encoder.dimension, settings.exact_search_limit)
    index.save(staging / VECTORS)
    if sentence_vectors is not None:
        # fp16 halves the file; cosines between unit vectors lose nothing that matters.
        np.save(staging / SENTENCE_VECTORS, np.asarray(sentence_vectors, dtype=np.float16))
    LexicalIndex.build(ids, passage_texts).save(staging / LEXICAL)
    write_chunk_store(staging / CHUNKS, articles, list(zip(ids.tolist(), chunks, strict=True)), sentences,
                      notes)
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": {"name": encoder.name, "dimension": encoder.dimension},
        "vector_index": {"kind": index.kind, "file": VECTORS, **index.params},
        "lexical_index": {"kind": "bm25s", "dir": LEXICAL},
        "sentence_vectors": None if sentence_vectors is None else SENTENCE_VECTORS,
        "chunk_store": CHUNKS,
        "chunking": settings.chunking.fingerprint(),
        "calibration": calibration_for(encoder.name),
        "counts": {"files": summary.files, "articles": summary.articles, "chunks": len(chunks),
                   "copies": summary.copies,
                   "dated_articles": sum(a.date_source in STATED_DATE_SOURCES for a in articles),
                   "sentences": len(sentences), "skipped_files": len(summary.skipped_files)},
        "build": {k: v for k, v in summary.to_dict().items()
                  if k.startswith(("articles_", "chunks_", "notes_"))
                  or k in ("seconds", "embed_seconds", "copies")},
        "corpus_files": corpus_files,
        "skipped_files": summary.skipped_files,
        "ocr_files": summary.ocr_files,
        "examples": examples,  # the chat page's example questions (corpus/example_questions.json)
        "vocabulary": vocabulary,  # corpus/vocabulary.tsv: synonyms for search and reading
        "file_sizes": {name: (staging / name).stat().st_size for name in (VECTORS, CHUNKS, SENTENCE_VECTORS)
                       if (staging / name).exists()},
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # The manifest is written last: a folder without one is never a valid generation.
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _skip(skipped: SkippedFile) -> dict[str, str]:
    return {"source": skipped.source, "reason": skipped.reason}


