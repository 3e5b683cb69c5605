"""Load a built index generation and verify it before it serves a single question."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..corpus import Vocabulary, vocabulary_of
from ..models import Encoder
from . import generations
from .chunk_store import ChunkStore
from .lexical import LexicalIndex
from .manifest import MANIFEST, READABLE_FORMATS, read_manifest
from .vector_index import FaissVectorIndex, load_vector_index

FIX_HINT = "run `qa-service index` (or `make index`) to build it"


class IndexNotReadyError(RuntimeError):
    """No usable index: missing, corrupt or from an incompatible version."""


class IndexMismatchError(RuntimeError):
    """The index was built with another model than the one configured."""


@dataclass
class LoadedIndex:
    generation: str
    path: Path
    manifest: dict
    vectors: FaissVectorIndex
    lexical: LexicalIndex
    # Memory-mapped, one row per sentence id; None where the build made none (the reader
    # does not need them: config.Settings.sentence_vectors).
    sentence_vectors: np.ndarray | None
    store: ChunkStore
    vocabulary: Vocabulary = field(default_factory=Vocabulary)  # corpus/vocabulary.tsv at build time

    @property
    def min_confidence(self) -> float:
        return float(self.manifest["calibration"]["min_confidence"])

    @property
    def has_dates(self) -> bool:
        """Whether some article states its date (indexes built before dates were read: no)."""
        return int(self.manifest["counts"].get("dated_articles", 0)) > 0

    @property
    def min_evidence(self) -> float | None:
        value = self.manifest["calibration"].get("min_evidence")
        return None if value is None else float(value)

    @property
    def evidence_weights(self) -> dict[str, float]:
        """Weights of the fused-ranking terms in the evidence (none: the cosine margin alone)."""
        return {k: float(v) for k, v in self.manifest["calibration"].get("evidence_weights", {}).items()}


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
    if found not in READABLE_FORMATS:
        raise IndexNotReadyError(
            f"index {path} has format {found}, this version reads formats "
            f"{', '.join(map(str, READABLE_FORMATS))}: {FIX_HINT}")
    try:
        for file_name, size in manifest["file_sizes"].items():
            actual = (path / file_name).stat().st_size
            if actual != size:
                raise IndexNotReadyError(
                    f"index file {path / file_name} is {actual} bytes, expected {size} (damaged): {FIX_HINT}")
        described = manifest["vector_index"]
        vectors = load_vector_index(described["kind"], path / described["file"], described.get("nprobe"))
        store = ChunkStore(path / manifest["chunk_store"])
        lexical = LexicalIndex.load(path / manifest["lexical_index"]["dir"])
        sentence_file = manifest["sentence_vectors"]
        sentence_vectors = None if sentence_file is None else np.load(path / sentence_file, mmap_mode="r")
        expected = manifest["counts"]["chunks"]
        if len(lexical) != expected or (sentence_vectors is not None
                                        and len(sentence_vectors) != manifest["counts"]["sentences"]):
            raise IndexNotReadyError(f"index {path} has inconsistent lexical or sentence data: {FIX_HINT}")
    except IndexNotReadyError:
        raise
    except Exception as exc:  # FAISS raises RuntimeError, sqlite DatabaseError, KeyError...
        raise IndexNotReadyError(f"index {path} cannot be loaded ({exc}): {FIX_HINT}") from exc
    stored_chunks = store.count_chunks()
    if len(vectors) != expected or stored_chunks != expected:
        raise IndexNotReadyError(
            f"index {path} is inconsistent ({len(vectors)} vectors, {stored_chunks} chunks, "
            f"manifest says {expected}): {FIX_HINT}")
    return LoadedIndex(name, path, manifest, vectors, lexical, sentence_vectors, store,
                       vocabulary_of(manifest.get("vocabulary")))


def check_model(index: LoadedIndex, encoder: Encoder) -> None:
    built = index.manifest["model"]
    if built["name"] != encoder.name or int(built["dimension"]) != encoder.dimension:
        raise IndexMismatchError(
            f"index {index.generation} was built with model {built['name']!r} "
            f"(dimension {built['dimension']}), but the configured model is {encoder.name!r} "
            f"(dimension {encoder.dimension}). Rebuild with `qa-service index --model {encoder.name}` "
            f"or set QA_MODEL={built['name']}.")
