"""Dense vector search behind one narrow interface (add / search / save / load).

Vectors are L2-normalised, so inner product is cosine similarity. Ids are explicit
(the chunk ids of the chunk store), never FAISS's implicit row numbers, so that a
backend may reorder or drop rows without breaking citations.

Two backends, chosen by corpus size (benchmarks/scale.py measures both):
- ``flat``: exact search. A query scans every vector, about 6 ms per 100k on one core,
  so it is used up to ``exact_limit`` vectors.
- ``ivf``: an inverted file of exact (Flat) vectors in ``nlist`` clusters; a query scans
  the ``nprobe`` nearest clusters only. Recall@10 against exact search is measured on
  real embeddings in the benchmark.
Both are memory-mapped on load, so the workers of one server share one copy in the
page cache and a large index starts in milliseconds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("flat", "ivf")
DEFAULT_EXACT_LIMIT = 100_000
DEFAULT_NPROBE = 32
# k-means needs a few dozen points per cluster; more only slows training down.
_TRAIN_POINTS_PER_LIST = 64


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def choose_kind(count: int, exact_limit: int = DEFAULT_EXACT_LIMIT) -> str:
    return "flat" if count <= exact_limit else "ivf"


def ivf_lists(count: int) -> int:
    """Clusters for ``count`` vectors: about 4·√n, with enough points to train each."""
    return max(1, min(int(4 * math.sqrt(count)), count // 39))


class FaissVectorIndex:
    def __init__(self, kind: str, dimension: int, index: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown vector index kind {kind!r} (known: {', '.join(KINDS)})")
        self.kind = kind
        self.dimension = dimension
        self._index = index

    @property
    def params(self) -> dict[str, int]:
        """What the manifest records to describe this index."""
        if self.kind == "ivf":
            import faiss

            ivf = faiss.extract_index_ivf(self._index)
            return {"nlist": int(ivf.nlist), "nprobe": int(ivf.nprobe)}
        return {}

    def set_nprobe(self, nprobe: int) -> None:
        if self.kind == "ivf":
            import faiss

            faiss.extract_index_ivf(self._index).nprobe = max(1, int(nprobe))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors have shape {vectors.shape}, index has dimension {self.dimension}")
        vectors = normalize(vectors)
        if not self._index.is_trained:
            self._train(vectors)
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def _train(self, vectors: np.ndarray) -> None:
        import faiss

        nlist = faiss.extract_index_ivf(self._index).nlist
        sample = min(len(vectors), nlist * _TRAIN_POINTS_PER_LIST)
        # A fixed seed: the same corpus gives the same clusters, build after build.
        rows = np.random.default_rng(0).choice(len(vectors), size=sample, replace=False)
        self._index.train(vectors[np.sort(rows)])

    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` (scores, ids) per query; with ``allowed``, among those ids only (a
        filter by date or source: FAISS skips the others while scanning, so the k best
        of the allowed come back however few they are)."""
        if len(self) == 0:
            empty = np.empty((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        k = max(1, min(k, len(self)))
        if allowed is None:
            return self._index.search(normalize(queries), k)
        import faiss

        selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        # faiss's type stubs do not know these keyword arguments.
        make: Any = faiss.SearchParameters if self.kind == "flat" else faiss.SearchParametersIVF
        extra = {} if self.kind == "flat" else {"nprobe": faiss.extract_index_ivf(self._index).nprobe}
        params = make(sel=selector, **extra)
        return self._index.search(normalize(queries), k, params=params)

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored: what an incremental build reuses."""
        import faiss

        if len(self) == 0:
            return np.empty(0, dtype=np.int64), np.empty((0, self.dimension), dtype=np.float32)
        if self.kind == "flat":
            inner = faiss.downcast_index(self._index.index)
            ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            return ids, np.asarray(inner.reconstruct_n(0, len(self)), dtype=np.float32)
        invlists: Any = faiss.extract_index_ivf(self._index).invlists
        id_parts, vector_parts = [], []
        for lst in range(invlists.nlist):
            size = invlists.list_size(lst)
            if size == 0:
                continue
            id_parts.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
            codes = faiss.rev_swig_ptr(invlists.get_codes(lst), size * invlists.code_size)
            vector_parts.append(np.frombuffer(codes.tobytes(), dtype=np.float32).reshape(size, -1))
        return np.concatenate(id_parts).astype(np.int64), np.concatenate(vector_parts)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    def __len__(self) -> int:
        return int(self._index.ntotal)


def create_vector_index(kind: str, dimension: int, count: int = 0) -> FaissVectorIndex:
    """An empty index of ``kind`` sized for about ``count`` vectors."""
    import faiss

    if kind == "flat":
        return FaissVectorIndex(kind, dimension, faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))
    if kind == "ivf":
        nlist = ivf_lists(max(count, 1))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = min(DEFAULT_NPROBE, nlist)
        return FaissVectorIndex(kind, dimension, index)
    raise ValueError(f"unknown vector index kind {kind!r} (known: {', '.join(KINDS)})")


def build_vector_index(ids: np.ndarray, vectors: np.ndarray, dimension: int,
                       exact_limit: int = DEFAULT_EXACT_LIMIT) -> FaissVectorIndex:
    index = create_vector_index(choose_kind(len(ids), exact_limit), dimension, len(ids))
    if len(ids):
        index.add(ids, vectors)
    return index


def load_vector_index(kind: str, path: Path, nprobe: int | None = None) -> FaissVectorIndex:
    """Memory-map the index file: it is never written again once published."""
    import faiss

    if kind not in KINDS:
        raise ValueError(f"unknown vector index kind {kind!r} (known: {', '.join(KINDS)})")
    flags = faiss.IO_FLAG_MMAP_IFC if kind == "flat" else faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
    index = FaissVectorIndex(kind, 0, faiss.read_index(str(path), flags))
    index.dimension = int(index._index.d)
    if nprobe is not None:
        index.set_nprobe(nprobe)
    return index
