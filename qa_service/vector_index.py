"""Dense vector search behind one narrow interface (add / search / save / load).

Vectors are L2-normalised, so inner product is cosine similarity. Ids are explicit
(the chunk ids of the chunk store), never FAISS's implicit row numbers, so that a
backend may reorder or drop rows without breaking citations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np


class VectorIndex(Protocol):
    kind: str
    dimension: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, path: Path) -> None: ...

    def __len__(self) -> int: ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class FaissFlatIndex:
    """Exact inner-product search; the right choice until the corpus is very large."""

    kind = "flat"

    def __init__(self, dimension: int, index: Any = None) -> None:
        import faiss

        self.dimension = dimension
        self._index: Any = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors have dimension {vectors.shape[1]}, index has {self.dimension}")
        self._index.add_with_ids(normalize(vectors), np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, len(self)))
        if len(self) == 0:
            empty = np.empty((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        scores, ids = self._index.search(normalize(queries), k)
        return scores, ids

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored, in insertion order."""
        import faiss

        inner = faiss.downcast_index(self._index.index)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        vectors = inner.reconstruct_n(0, len(self)) if len(self) else np.empty((0, self.dimension))
        return ids, np.asarray(vectors, dtype=np.float32)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    def __len__(self) -> int:
        return int(self._index.ntotal)


def create_vector_index(kind: str, dimension: int) -> FaissFlatIndex:
    if kind == "flat":
        return FaissFlatIndex(dimension)
    raise ValueError(f"unknown vector index kind {kind!r} (known: flat)")


def load_vector_index(kind: str, path: Path) -> FaissFlatIndex:
    import faiss

    if kind != "flat":
        raise ValueError(f"unknown vector index kind {kind!r} (known: flat)")
    index = faiss.read_index(str(path))
    return FaissFlatIndex(index.d, index)
