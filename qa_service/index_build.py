"""Build a new index generation from the corpus: read, chunk, embed, store, publish."""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import generations
from .chunk_store import SentenceSpan, write_chunk_store
from .chunking import Chunk, chunk_article, embedding_text, sentence_units
from .config import Settings
from .encoder import Encoder
from .ingest import SkippedFile, read_corpus
from .lexical import LexicalIndex
from .vector_index import create_vector_index

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
CHUNKS = "chunks.sqlite"
LEXICAL = "lexical"
SENTENCE_VECTORS = "sentence_vectors.npy"
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


class BuildError(RuntimeError):
    pass


@dataclass
class BuildSummary:
    generation: str
    files: int
    articles: int
    chunks: int
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        lines = [
            f"generation {self.generation}: {self.files} files, {self.articles} articles, "
            f"{self.chunks} chunks in {self.seconds:.1f}s (embedding {self.embed_seconds:.1f}s)",
        ]
        if self.skipped_files:
            lines.append(f"skipped {len(self.skipped_files)} file(s):")
            lines += [f"  {s['source']}: {s['reason']}" for s in self.skipped_files]
        else:
            lines.append("skipped 0 files")
        return "\n".join(lines)


def build_index(settings: Settings, encoder: Encoder, show_progress: bool = False) -> BuildSummary:
    """Build a generation from ``settings.corpus_dir`` and make it the served one."""
    started = time.perf_counter()
    index_dir = settings.index_dir
    with generations.build_lock(index_dir):
        generations.remove_stale_staging(index_dir)
        corpus = read_corpus(settings.corpus_dir)
        if not corpus.articles:
            detail = "; ".join(f"{s.source}: {s.reason}" for s in corpus.skipped)
            detail = detail or "no .txt or .md files"
            raise BuildError(f"no usable articles in {settings.corpus_dir} ({detail})")

        titles = {a.id: a.title for a in corpus.articles}
        chunks: list[Chunk] = [c for a in corpus.articles for c in chunk_article(a, settings.chunking)]
        sentences = [
            SentenceSpan(0, a.id, paragraph, start, end)
            for a in corpus.articles
            for start, end, paragraph in sentence_units(a, settings.chunking.max_chars)
        ]
        sentences = [replace(s, id=i) for i, s in enumerate(sentences)]
        texts_by_article = {a.id: a.text for a in corpus.articles}
        embed_started = time.perf_counter()
        passage_texts = [embedding_text(titles[c.article_id], c.text) for c in chunks]
        vectors = _encode(encoder, passage_texts, settings, show_progress, "chunks")
        sentence_vectors = _encode(
            encoder, [texts_by_article[s.article_id][s.char_start : s.char_end] for s in sentences],
            settings, show_progress, "sentences")
        embed_seconds = time.perf_counter() - embed_started

        staging = generations.new_staging_dir(index_dir)
        try:
            ids = np.arange(len(chunks), dtype=np.int64)
            index = create_vector_index("flat", encoder.dimension)
            index.add(ids, vectors)
            index.save(staging / VECTORS)
            # fp16 halves the file; cosines between unit vectors lose nothing that matters.
            np.save(staging / SENTENCE_VECTORS, sentence_vectors.astype(np.float16))
            LexicalIndex.build(ids, passage_texts).save(staging / LEXICAL)
            numbered = list(zip(ids.tolist(), chunks, strict=True))
            write_chunk_store(staging / CHUNKS, corpus.articles, numbered, sentences)
            summary = BuildSummary(
                generation="", files=len(corpus.files), articles=len(corpus.articles),
                chunks=len(chunks), skipped_files=[_skip(s) for s in corpus.skipped],
                embed_seconds=round(embed_seconds, 3),
            )
            manifest = {
                "format_version": FORMAT_VERSION,
                "model": {"name": encoder.name, "dimension": encoder.dimension},
                "vector_index": {"kind": index.kind, "file": VECTORS},
                "lexical_index": {"kind": "bm25s", "dir": LEXICAL},
                "sentence_vectors": SENTENCE_VECTORS,
                "chunk_store": CHUNKS,
                "chunking": settings.chunking.fingerprint(),
                "calibration": calibration_for(encoder.name),
                "counts": {"files": summary.files, "articles": summary.articles,
                           "chunks": summary.chunks, "sentences": len(sentences),
                           "skipped_files": len(corpus.skipped)},
                "corpus_files": corpus.files,
                "skipped_files": summary.skipped_files,
                "file_sizes": {name: (staging / name).stat().st_size
                               for name in (VECTORS, CHUNKS, SENTENCE_VECTORS)},
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            # The manifest is written last: a folder without one is never a valid generation.
            (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                            encoding="utf-8")
            summary.generation = generations.publish(index_dir, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        generations.prune(index_dir, settings.keep_generations)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _encode(encoder: Encoder, texts: list[str], settings: Settings, show_progress: bool,
            what: str) -> np.ndarray:
    if show_progress:
        print(f"embedding {len(texts)} {what}", file=sys.stderr)
    vectors = encoder.encode_passages(texts, batch_size=settings.batch_size, show_progress=show_progress)
    if vectors.shape != (len(texts), encoder.dimension) or not np.isfinite(vectors).all():
        raise BuildError(f"encoder {encoder.name} returned unusable vectors {vectors.shape} for {what}")
    return vectors


def calibration_for(model: str) -> dict:
    """The not-found threshold measured for ``model`` (benchmarks/retrieval.py), if any."""
    table = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    return dict(table.get(model) or table["default"])


def _skip(skipped: SkippedFile) -> dict[str, str]:
    return {"source": skipped.source, "reason": skipped.reason}


def read_manifest(generation_dir: Path) -> dict:
    return json.loads((generation_dir / MANIFEST).read_text(encoding="utf-8"))
