"""Index rebuilds started from the web, run in a background thread of one worker.

The job's state and progress live in ``<index dir>/build-status.json`` (written
atomically), so that every worker process can report it. The build lock, not this
module, guarantees one build at a time across processes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Settings
from ..index import BuildLockedError, PhaseClock, atomic_write_text, build_index, build_is_running
from ..models import load_encoder
from .service import ServiceState

log = logging.getLogger(__name__)
STATUS_FILE = "build-status.json"
WRITE_EVERY = 0.5  # seconds between progress writes
# A job writes "running" just before its thread takes the build lock; only a status
# that old without a lock means the process running it died.
STARTUP_GRACE = 5.0
# A rebuild's thread (and the OpenMP threads it starts) yields to the request threads:
# on Linux a nice value belongs to one thread, so the workers' answers keep priority.
BUILD_NICENESS = 10
REBUILD_THREAD_PREFIX = "rebuild-"  # a rebuild thread's name: this and the job id's start


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_status(index_dir: Path) -> dict[str, Any]:
    path = index_dir / STATUS_FILE
    try:
        status: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        age = time.time() - path.stat().st_mtime
    except (FileNotFoundError, ValueError):
        return {"state": "idle", "job_id": None}
    if (status.get("state") == "running" and age > STARTUP_GRACE
            and not build_is_running(index_dir)):
        # The process running it died (the lock died with it).
        status["state"] = "failed"
        status["error"] = "the build process stopped before finishing"
    return status


class RebuildJob:
    def __init__(self, state: ServiceState, settings: Settings) -> None:
        self.state = state
        self.settings = settings
        self.status: dict[str, Any] = {
            "job_id": uuid.uuid4().hex, "state": "running", "started_at": _now(),
            "finished_at": None, "progress": {}, "summary": None, "error": None, "seconds": None,
        }
        self._last_write = 0.0
        self._clock = PhaseClock()

    def _write(self, force: bool = False) -> None:
        if force or time.monotonic() - self._last_write >= WRITE_EVERY:
            self._last_write = time.monotonic()
            atomic_write_text(self.settings.index_dir / STATUS_FILE,
                                          json.dumps(self.status, ensure_ascii=False))

    def _progress(self, phase: str, done: int, total: int) -> None:
        self.status["progress"][phase] = self._clock.estimate(phase, done, total)
        self._write(force=done >= total)

    def run(self) -> None:
        started = time.perf_counter()
        try:
            os.nice(BUILD_NICENESS)
            encoder = self.state.encoder or load_encoder(self.settings)
            self.state.encoder = encoder
            summary = build_index(self.settings, encoder, progress=self._progress)
            self.status.update(state="succeeded", summary=summary.to_dict())
            self.state.refresh()  # this worker switches now; the others within seconds
        except Exception as exc:  # reported in the status, not lost in a thread
            log.exception("rebuild %s failed", self.status["job_id"])
            self.status.update(state="failed", error=str(exc))
        self.status.update(finished_at=_now(), seconds=round(time.perf_counter() - started, 2))
        self._write(force=True)


def start_rebuild(state: ServiceState, settings: Settings) -> dict[str, Any]:
    """Start a background rebuild; raises BuildLockedError if one is already running."""
    if build_is_running(settings.index_dir):
        raise BuildLockedError("a build is already running; see /api/index/status")
    job = RebuildJob(state, settings)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    job._write(force=True)
    name = f"{REBUILD_THREAD_PREFIX}{job.status['job_id'][:8]}"
    threading.Thread(target=job.run, name=name, daemon=True).start()
    return dict(job.status)
