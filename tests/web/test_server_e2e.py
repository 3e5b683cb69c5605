"""The real thing: gunicorn, the real model, the seed corpus, questions over HTTP."""

from __future__ import annotations

import json
import os
import re
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
           "QA_INDEX_DIR": str(tmp_path / "embeddings"), "QA_CORPUS_DIR": str(SEED_CORPUS),
           "QA_ADMIN_TOKEN": "secret", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    cli = [sys.executable, "-m", "qa_service.cli"]
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    # Started before the index exists: it must answer health (not ready) meanwhile.
    server = subprocess.Popen([*cli, "serve", "--port", str(port), "--workers", "2", "--threads", "2"],
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
        # Questions are encoded by ONNX Runtime, from the graph exported into the model cache.
        assert body["query_runtime"] == "onnxruntime"

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
        # Each request has an id, the client's own where it sent one.
        body = json.dumps({"question": "讲评总结大会由谁主持？"}).encode()
        asked = urllib.request.Request(base + "/api/ask", data=body, headers={
            "Content-Type": "application/json", "X-Request-Id": "trace-42"})
        with urllib.request.urlopen(asked, timeout=30) as response:
            assert response.headers["X-Request-Id"] == "trace-42"
        for _ in range(4):
            assert http(base + "/api/ask", {"question": "石家庄的市委书记是谁？"})[0] == 200
        # /metrics adds up both workers: 6 questions answered (one 400), whichever worker took them.
        scrape = urllib.request.Request(base + "/metrics", headers={"Authorization": "Bearer secret"})
        with urllib.request.urlopen(scrape, timeout=10) as response:
            metrics = response.read().decode()
        assert 'qa_http_requests_total{endpoint="/api/ask",method="POST",status="200"} 6.0' in metrics
        assert 'qa_http_requests_total{endpoint="/api/ask",method="POST",status="400"} 1.0' in metrics
        assert 'qa_answers_total{found="true"} 6.0' in metrics
        assert 'qa_ask_step_seconds_count{step="read"} 6.0' in metrics
        assert re.search(r"^qa_index_generation(\{[^}]*\})? 1\.0$", metrics, re.M)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/metrics", timeout=10)
        assert refused.value.code == 401
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    logged = (tmp_path / "server.log").read_text()
    assert "open http://127.0.0.1:" in logged
    assert f"Listening at: http://127.0.0.1:{port} " in logged  # not "Listening at:  (pid)"
    # One JSON line per request: its id, route, status and time; the question only if asked for.
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith('{"request_id"')]
    traced = next(line for line in lines if line["request_id"] == "trace-42")
    assert traced["route"] == "/api/ask" and traced["status"] == 200 and traced["found"] is True
    assert "question" not in traced and "讲评" not in logged
