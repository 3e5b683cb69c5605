"""Load a built index generation and answer questions against it."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import generations
from .chunk_store import ChunkStore
from .encoder import Encoder
from .index_build import FORMAT_VERSION, MANIFEST, read_manifest
from .vector_index import FaissFlatIndex, load_vector_index

FIX_HINT = "run `qa-service index` (or `make index`) to build it"


class IndexNotReadyError(RuntimeError):
    """No usable index: missing, corrupt or from an incompatible version."""


class IndexMismatchError(RuntimeError):
    """The index was built with another model than the one configured."""


class QuestionError(ValueError):
    pass


@dataclass
class LoadedIndex:
    generation: str
    path: Path
    manifest: dict
    vectors: FaissFlatIndex
    store: ChunkStore


def load_index(index_dir: Path) -> LoadedIndex:
    name = generations.current_generation(index_dir)
    if name is None:
        raise IndexNotReadyError(f"no index in {index_dir}: {FIX_HINT}")
    path = generations.generation_path(index_dir, name)
    try:
        manifest = read_manifest(path)
    except (OSError, ValueError) as exc:
        raise IndexNotReadyError(
            f"index {path} has no readable {MANIFEST} ({exc}): {FIX_HINT}") from exc
    found = manifest.get("format_version") if isinstance(manifest, dict) else None
    if found != FORMAT_VERSION:
        raise IndexNotReadyError(
            f"index {path} has format {found}, this version reads {FORMAT_VERSION}: {FIX_HINT}")
    try:
        for file_name, size in manifest["file_sizes"].items():
            actual = (path / file_name).stat().st_size
            if actual != size:
                raise IndexNotReadyError(
                    f"index file {path / file_name} is {actual} bytes, expected {size} (damaged): {FIX_HINT}")
        vectors = load_vector_index(manifest["vector_index"]["kind"], path / manifest["vector_index"]["file"])
        store = ChunkStore(path / manifest["chunk_store"])
        expected = manifest["counts"]["chunks"]
    except IndexNotReadyError:
        raise
    except Exception as exc:  # FAISS raises RuntimeError, sqlite DatabaseError, KeyError...
        raise IndexNotReadyError(f"index {path} cannot be loaded ({exc}): {FIX_HINT}") from exc
    if len(vectors) != expected or store.count_chunks() != expected:
        raise IndexNotReadyError(
            f"index {path} is inconsistent ({len(vectors)} vectors, {store.count_chunks()} chunks, "
            f"manifest says {expected}): {FIX_HINT}")
    return LoadedIndex(name, path, manifest, vectors, store)


def check_model(index: LoadedIndex, encoder: Encoder) -> None:
    built = index.manifest["model"]
    if built["name"] != encoder.name or int(built["dimension"]) != encoder.dimension:
        raise IndexMismatchError(
            f"index {index.generation} was built with model {built['name']!r} "
            f"(dimension {built['dimension']}), but the configured model is {encoder.name!r} "
            f"(dimension {encoder.dimension}). Rebuild with `qa-service index --model {encoder.name}` "
            f"or set QA_MODEL={built['name']}.")


def normalize_question(question: str) -> str:
    cleaned = re.sub(r"\s+", " ", question.replace("\x00", " ")).strip()
    if not cleaned:
        raise QuestionError("the question is empty")
    return cleaned


class Retriever:
    """Dense retrieval over one loaded generation with one encoder."""

    def __init__(self, index: LoadedIndex, encoder: Encoder) -> None:
        check_model(index, encoder)
        self.index = index
        self.encoder = encoder

    def ask(self, question: str, top_k: int = 5) -> dict:
        started = time.perf_counter()
        text = normalize_question(question)
        query = self.encoder.encode_queries([text])
        scores, ids = self.index.vectors.search(np.asarray(query, dtype=np.float32), top_k)
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=False) if i >= 0]
        stored = self.index.store.get_chunks([i for i, _ in hits])
        passages = []
        for rank, (chunk_id, score) in enumerate(hits, start=1):
            chunk = stored[chunk_id]
            passages.append({
                "rank": rank,
                "score": round(score, 4),
                "text": chunk.text,
                "article": {"id": chunk.article_id, "title": chunk.title,
                            "source": chunk.source, "date": chunk.date},
                "paragraph": chunk.paragraph,
                "char_start": chunk.char_start,
                "char_end": chunk.char_end,
            })
        return {
            "question": question,
            "passages": passages,
            "generation": self.index.generation,
            "took_ms": round((time.perf_counter() - started) * 1000, 2),
        }
