"""Vectors of a build that has not finished yet, kept so a killed build resumes.

Embedding is nearly all of a build's time (about 16 passages/s on two cores: 100k
chunks take close to two hours), so a build that is killed, runs out of memory or
loses power must not start again from zero. Embedded slices are written to shards in
``<index dir>/build-cache/`` at most ``FLUSH_SECONDS`` after they were embedded (written
aside, then renamed, so a shard is whole or absent). The next build takes any text whose
hash is there instead of embedding it again; a published build deletes the cache.

Keys are hashes of the exact text embedded and of its kind (chunk or sentence), so an
edited article, a changed title or other chunking never picks up a stale vector. The
model is recorded too: a cache written by another model is discarded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

CACHE_DIR = "build-cache"
_KEY_BYTES = 20
# A kill loses at most this much embedding work; a fast encoder does not write (and fsync)
# a shard for every small slice.
FLUSH_SECONDS = 10.0
FLUSH_ROWS = 8192


def text_key(kind: str, text: str) -> bytes:
    return hashlib.sha1(f"{kind}\0{text}".encode()).digest()[:_KEY_BYTES]


class EmbeddingCache:
    def __init__(self, index_dir: Path, model: str, dimension: int) -> None:
        self.directory = index_dir / CACHE_DIR
        self.dimension = dimension
        self._identity = {"model": model, "dimension": dimension}
        self._rows: dict[bytes, np.ndarray] = {}  # what earlier builds left, read once
        self._next_shard = 0
        self._pending_keys: list[bytes] = []
        self._pending_vectors: list[np.ndarray] = []
        self._last_flush = time.monotonic()
        self._load()

    def _load(self) -> None:
        if not self.directory.exists():
            return
        try:
            identity = json.loads((self.directory / "model.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            identity = None
        if identity != self._identity:
            self.clear()
            return
        for shard in sorted(self.directory.glob("shard-*.npz")):
            self._next_shard = max(self._next_shard, int(shard.stem.split("-")[1]) + 1)
            try:
                with np.load(shard) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except (OSError, ValueError, KeyError):
                continue  # a damaged shard only costs its texts being embedded again
            if keys.shape == (len(vectors), _KEY_BYTES) and vectors.shape[1:] == (self.dimension,):
                self._rows.update(zip((k.tobytes() for k in keys), vectors, strict=True))

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: bytes) -> np.ndarray | None:
        return self._rows.get(key)

    def put(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Keep vectors for a later build; written within ``FLUSH_SECONDS``."""
        self._pending_keys += keys
        self._pending_vectors.append(np.asarray(vectors, dtype=np.float32))
        if (len(self._pending_keys) >= FLUSH_ROWS
                or time.monotonic() - self._last_flush >= FLUSH_SECONDS):
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._pending_keys:
            return
        keys, vectors = self._pending_keys, np.concatenate(self._pending_vectors)
        self._pending_keys, self._pending_vectors = [], []
        self.directory.mkdir(parents=True, exist_ok=True)
        identity = self.directory / "model.json"
        if not identity.exists():
            identity.write_text(json.dumps(self._identity), encoding="utf-8")
        final = self.directory / f"shard-{self._next_shard:06d}.npz"
        aside = final.with_name(f".{final.name}.tmp")
        with open(aside, "wb") as out:
            # Raw bytes, not numpy "S" strings: those drop a key's trailing NUL bytes.
            np.savez(out, keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, _KEY_BYTES),
                     vectors=np.asarray(vectors, dtype=np.float32))
            out.flush()
            os.fsync(out.fileno())
        os.replace(aside, final)
        self._next_shard += 1

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        self._rows.clear()
        self._pending_keys, self._pending_vectors = [], []
        self._next_shard = 0
