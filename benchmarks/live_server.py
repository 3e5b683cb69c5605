"""The production server for benchmarks: started on a free 127.0.0.1 port, stopped after."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

CLI = [sys.executable, "-m", "qa_service.cli"]


def call(url: str, body: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    """(status, JSON body) of a GET, or of a POST when ``body`` is given."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_ready(base: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, health = call(base + "/api/health", timeout=30)
            if status == 200:
                return health
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{base} did not become ready in {timeout:.0f}s")


@contextmanager
def running_server(env: dict[str, str], workers: int, threads: int,
                   log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`qa-service serve` with ``env``; yields (base URL, process) once it answers health."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stderr: IO[Any] | int = log.open("w") if log else subprocess.DEVNULL
    # Load from one address is the point of a benchmark: no rate limit unless one is given.
    env = {"QA_RATE_LIMIT": "1000000 per minute", **env}
    server = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", str(workers),
                               "--threads", str(threads)], env={**os.environ, **env},
                              stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, 180)
        yield base, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
