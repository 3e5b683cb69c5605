"""Runs the format readers in a worker process with a time and a memory limit.

PDF, Word, HTML and image parsers are large C and Python libraries fed untrusted files: a
crafted file can loop for ever or inflate to gigabytes. In a separate process the build
can stop waiting, kill it, report the file and go on; the limit on address space turns a
decompression bomb into a failed read instead of a machine out of memory.
"""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .formats import Extracted, UnreadableFile, read_file

SECONDS_PER_FILE = 180.0  # a 100-page scanned PDF OCRs in about this long on two cores
MEMORY_BYTES = 4 * 1024**3  # address space: the OCR models and one rendered page fit well inside


def _serve(connection: Connection, memory_bytes: int) -> None:
    """The worker: read the files it is sent, one at a time, until the pipe closes."""
    if sys.platform.startswith("linux"):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            path = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", read_file(Path(path))))
        except UnreadableFile as exc:
            connection.send(("unreadable", str(exc)))
        except MemoryError:
            connection.send(("unreadable", f"needs more than {memory_bytes // 1024**2} MB of memory"))
        except Exception as exc:  # a library's own error on a malformed file
            connection.send(("unreadable", f"{type(exc).__name__}: {exc}"[:300]))


class SandboxedReader:
    """``read(path)`` in a worker process; started on first use, restarted after a kill."""

    def __init__(self, seconds: float = SECONDS_PER_FILE, memory_bytes: int = MEMORY_BYTES) -> None:
        self.seconds = seconds
        self.memory_bytes = memory_bytes
        self._process: Any = None
        self._connection: Connection | None = None

    def _start(self) -> Connection:
        # spawn, not fork: the build process may hold torch's threads, which fork does not copy safely.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, self.memory_bytes), daemon=True)
        self._process.start()
        theirs.close()
        self._connection = ours
        return ours

    def read(self, path: Path) -> Extracted:
        connection = self._connection or self._start()
        connection.send(str(path))
        if not connection.poll(self.seconds):
            self.close()
            raise UnreadableFile(f"reading took longer than {self.seconds:.0f} s; stopped")
        try:
            status, value = connection.recv()
        except (EOFError, ConnectionError) as exc:
            self.close()
            raise UnreadableFile("the reader process died on this file (out of memory?)") from exc
        if status != "ok":
            raise UnreadableFile(value)
        result: Extracted = value
        return result

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=10)
            self._process = None

    def __enter__(self) -> SandboxedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
