"""Run the app under gunicorn (threads), configured in code so `qa-service serve` needs no file."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from .models import prefer_passive_waits

# One math thread per request thread: thread pools set in code do not reach gunicorn's
# request threads, and oversubscribed OpenMP pools made each search ten times slower.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TOKENIZERS_PARALLELISM")


class GunicornServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from .web import create_app

        return create_app()


def _announce(server: Any) -> None:
    host, port = server.cfg.bind[0].rsplit(":", 1)
    print(f"qa-service: open http://{host}:{port}/ in a browser (API: http://{host}:{port}/api/health)",
          file=sys.stderr, flush=True)


class ListeningAddress(logging.Filter):
    """Puts the address into gunicorn's "Listening at:" line.

    With ``reuse_port`` each worker binds the address itself, so gunicorn's master has no
    socket of its own and logs "Listening at:  (pid)" with the address missing.
    """

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def filter(self, record: logging.LogRecord) -> bool:
        if (str(record.msg).startswith("Listening at:") and isinstance(record.args, tuple)
                and record.args and not record.args[0]):
            record.args = (f"http://{self.address} (each worker binds it: SO_REUSEPORT)", *record.args[1:])
        return True


def _worker_exit(server: Any, worker: Any) -> None:
    # A dead worker's gauges leave the sums; its counters stay counted (prometheus_client).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def metrics_folder() -> str:
    """A fresh folder where the workers' metrics add up (prometheus_client's multiprocess
    mode), unless PROMETHEUS_MULTIPROC_DIR already names one."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):  # a previous server's counts
            stale.unlink(missing_ok=True)
    else:
        folder = tempfile.mkdtemp(prefix="qa-service-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


def serve(host: str, port: int, workers: int, threads: int) -> None:
    prefer_passive_waits()  # inherited by the workers, which load torch after the fork
    shared = metrics_folder()  # before the workers fork: each writes its metrics there
    # Rate-limit counts shared by the workers (web/ratelimit.py), unless a storage is named.
    os.environ.setdefault("QA_RATELIMIT_STORAGE_URI", f"sqlite://{shared}/ratelimit.sqlite3")
    for name in THREAD_ENV:
        os.environ.setdefault(name, "false" if name == "TOKENIZERS_PARALLELISM" else "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("gunicorn.error").addFilter(ListeningAddress(f"{host}:{port}"))
    GunicornServer({
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # Without it keep-alive clients all land on one worker.
        "reuse_port": True,
        # Loading the model takes seconds; a worker is not stuck while it does.
        "timeout": 120,
        "graceful_timeout": 30,
        "when_ready": _announce,
        "child_exit": _worker_exit,
        "loglevel": "info",
    }).run()
