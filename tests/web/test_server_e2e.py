"""The real thing: gunicorn, the real model, the seed corpus, questions over HTTP."""

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
from pathlib import Path

import pytest

from ..conftest import SEED_CORPUS

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_gunicorn_serves_answers_with_the_real_model(real_model_dir: Path, tmp_path: Path) -> None:
    inherited = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}  # serve sets it
    env = {**inherited, "HF_HUB_OFFLINE": "1", "QA_MODEL_CACHE": str(real_model_dir.parent),
           "QA_INDEX_DIR": str(tmp_path / "embeddings"), "QA_CORPUS_DIR": str(SEED_CORPUS)}
    cli = [sys.executable, "-m", "qa_service.cli"]
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    # Started before the index exists: it must answer health (not ready) meanwhile.
    server = subprocess.Popen([*cli, "serve", "--port", str(port), "--workers", "1", "--threads", "2"],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            try:
                status, body = http(base + "/api/health")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status == 503 and body["ready"] is False and "qa-service index" in body["fix"]

        built = subprocess.run([*cli, "index"], env=env, capture_output=True, text=True, timeout=600)
        assert built.returncode == 0, built.stderr
        while time.monotonic() < deadline:
            status, body = http(base + "/api/health")
            if status == 200:
                break
            time.sleep(1)
        assert body["ready"] and body["generation"] == "gen-000001"
        # The workers loaded torch with OpenMP threads that sleep, not spin, when idle.
        assert body["threads"]["omp_wait_policy"] == "PASSIVE"

        status, answer = http(base + "/api/ask", {"question": "藁城区完成了多少户厕所改造？"})
        assert status == 200
        assert "14880户" in answer["passages"][0]["text"]
        assert answer["found"] and "14880户" in answer["answer"]["text"]
        # The shipped reader answers: the short span, inside its sentence.
        assert answer["answer"]["kind"] == "span" and len(answer["answer"]["text"]) <= 8
        assert answer["answer"]["text"] in answer["answer"]["sentence"]["text"]
        status, error = http(base + "/api/ask", {"question": ""})
        assert status == 400 and error["error"]["code"] == "empty_question"
        page = urllib.request.urlopen(base + "/", timeout=10)
        assert "公报问答" in page.read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    logged = (tmp_path / "server.log").read_text()
    assert "open http://127.0.0.1:" in logged
    assert f"Listening at: http://127.0.0.1:{port} " in logged  # not "Listening at:  (pid)"
