"""Build a new index generation from the corpus: read, chunk, embed, store, publish."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import generations
from .chunk_store import write_chunk_store
from .chunking import Chunk, chunk_article, embedding_text
from .config import Settings
from .encoder import Encoder
from .ingest import SkippedFile, read_corpus
from .vector_index import create_vector_index

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
CHUNKS = "chunks.sqlite"


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
        embed_started = time.perf_counter()
        vectors = encoder.encode_passages(
            [embedding_text(titles[c.article_id], c.text) for c in chunks],
            batch_size=settings.batch_size, show_progress=show_progress,
        )
        embed_seconds = time.perf_counter() - embed_started
        if vectors.shape != (len(chunks), encoder.dimension) or not np.isfinite(vectors).all():
            raise BuildError(f"encoder {encoder.name} returned unusable vectors {vectors.shape}")

        staging = generations.new_staging_dir(index_dir)
        try:
            ids = np.arange(len(chunks), dtype=np.int64)
            index = create_vector_index("flat", encoder.dimension)
            index.add(ids, vectors)
            index.save(staging / VECTORS)
            numbered = list(zip(ids.tolist(), chunks, strict=True))
            write_chunk_store(staging / CHUNKS, corpus.articles, numbered)
            summary = BuildSummary(
                generation="", files=len(corpus.files), articles=len(corpus.articles),
                chunks=len(chunks), skipped_files=[_skip(s) for s in corpus.skipped],
                embed_seconds=round(embed_seconds, 3),
            )
            manifest = {
                "format_version": FORMAT_VERSION,
                "model": {"name": encoder.name, "dimension": encoder.dimension},
                "vector_index": {"kind": index.kind, "file": VECTORS},
                "chunk_store": CHUNKS,
                "chunking": settings.chunking.fingerprint(),
                "counts": {"files": summary.files, "articles": summary.articles,
                           "chunks": summary.chunks, "skipped_files": len(corpus.skipped)},
                "corpus_files": corpus.files,
                "skipped_files": summary.skipped_files,
                "file_sizes": {VECTORS: (staging / VECTORS).stat().st_size,
                               CHUNKS: (staging / CHUNKS).stat().st_size},
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


def _skip(skipped: SkippedFile) -> dict[str, str]:
    return {"source": skipped.source, "reason": skipped.reason}


def read_manifest(generation_dir: Path) -> dict:
    return json.loads((generation_dir / MANIFEST).read_text(encoding="utf-8"))
