"""What the readers of PDF, Word, web pages and images extracted, kept by file hash, and
read ahead on many machines where a build has a cluster.

Extraction (OCR above all: seconds per scanned page) is the slow part of reading a
corpus. Its results are cached in ``<index dir>/extracted/<sha256>.json``, so a rebuild
never reads an unchanged file again. A build on a Ray cluster first sends every document
not cached yet to the cluster (``RemoteReader``, index/ray_reading.py) and stores what
comes back; the corpus is then read as usual, from the cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import atomic_write_text
from .formats import Extracted, UnreadableFile

# (file name, bytes) of each document -> what it gave, or why it could not be read, in order.
RemoteReader = Callable[[list[tuple[str, bytes]]], list[Extracted | str]]


def cached_extract(cache_dir: Path | None, digest: str) -> Extracted | None:
    if cache_dir is None:
        return None
    try:
        return Extracted(**json.loads((cache_dir / f"{digest}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def store_extract(cache_dir: Path | None, digest: str, extracted: Extracted) -> None:
    if cache_dir is None:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(cache_dir / f"{digest}.json", json.dumps(asdict(extracted), ensure_ascii=False))


@dataclass
class ReadAhead:
    """What a cluster read ahead: each document's content hash (so it is not read and
    hashed again), and by hash what it gave or why it gave nothing."""

    digests: dict[Path, str] = field(default_factory=dict)
    results: dict[str, Extracted | str] = field(default_factory=dict)

    def extracted(self, digest: str) -> Extracted | None:
        """What the document gave on the cluster (None: not read there); UnreadableFile
        with the cluster's reason for one that gave nothing."""
        result = self.results.get(digest)
        if isinstance(result, str):
            raise UnreadableFile(result)
        return result


def read_ahead(documents: list[Path], cache_dir: Path | None, remote: RemoteReader) -> ReadAhead:
    """Extract every document not cached yet on the cluster; cache what it gave."""
    ahead = ReadAhead()
    pending: dict[str, tuple[str, bytes]] = {}
    for path in documents:
        try:
            data = path.read_bytes()
        except OSError:
            continue  # the corpus reader reports it
        digest = ahead.digests[path] = hashlib.sha256(data).hexdigest()
        if digest not in pending and cached_extract(cache_dir, digest) is None:
            pending[digest] = (path.name, data)
    if pending:
        ahead.results = dict(zip(pending, remote(list(pending.values())), strict=True))
    for digest, extracted in ahead.results.items():
        if isinstance(extracted, Extracted):
            store_extract(cache_dir, digest, extracted)
    return ahead
