"""Reading documents on a Ray cluster: OCR and the other extractors, one task per file.

A build on Ray (``--ray``) sends every document whose extraction is not cached yet
(corpus/extraction.py) to the cluster as a task, with the file's bytes, so the corpus
need not be on the workers' disks. Each task runs the same sandboxed reader as a local
build (time and memory limits), so a hostile file costs one task. A task whose worker
dies is retried by Ray (``max_retries``); a file that cannot be read comes back as its
reason, and the build skips it with that reason, as a local build does.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..corpus import Extracted, SandboxedReader, UnreadableFile
from .ray_embedding import RayBuildError

TASK_RETRIES = 3  # a worker killed mid-file: the file is read again elsewhere


def read_document(name: str, data: bytes) -> Extracted | str:
    """On a worker: what the document gives, or why it gives nothing."""
    with tempfile.TemporaryDirectory(prefix="qa-read-") as folder:
        path = Path(folder) / Path(name).name  # the suffix picks the reader
        path.write_bytes(data)
        with SandboxedReader() as sandbox:
            try:
                return sandbox.read(path)
            except UnreadableFile as exc:
                return str(exc)


class RayFileReader:
    """corpus.RemoteReader on a Ray cluster."""

    def __init__(self, ray: Any, cpus_per_task: int = 1) -> None:
        self.ray = ray
        self.task = ray.remote(read_document).options(num_cpus=cpus_per_task, max_retries=TASK_RETRIES)

    def __call__(self, documents: list[tuple[str, bytes]]) -> list[Extracted | str]:
        futures = [self.task.remote(name, data) for name, data in documents]
        try:
            return list(self.ray.get(futures))
        except self.ray.exceptions.RayError as exc:
            raise RayBuildError(f"the Ray cluster failed to read the documents: {exc}") from exc
