"""A running gunicorn (2 workers, real model) picks up a rebuilt index with no failed request."""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
from pathlib import Path

import pytest

from qa_service.config import Settings
from qa_service.index import build_index

from ..conftest import LIBRARY_ARTICLE, SEED_CORPUS
from .test_server_e2e import free_port, http

pytestmark = pytest.mark.slow

QUESTIONS = ["藁城区新建的图书馆有多少藏书？", "藁城区完成了多少户厕所改造？"]


def served_copy_of_the_seed_corpus(real_encoder, real_model_dir: Path,
                                   tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    """A copy of the seed corpus, indexed, and the environment of servers that serve it."""
    corpus, index_dir = tmp_path / "corpus", tmp_path / "embeddings"
    shutil.copytree(SEED_CORPUS, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    build_index(settings, real_encoder)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_MODEL_CACHE": str(real_model_dir.parent),
           "QA_INDEX_DIR": str(index_dir), "QA_CORPUS_DIR": str(corpus), "QA_RELOAD_SECONDS": "1",
           "QA_RATE_LIMIT": "1000000 per minute"}  # a load test from one address
    return settings, env


def test_rebuild_switches_every_worker_without_failed_requests(real_encoder, real_model_dir: Path,
                                                               tmp_path: Path) -> None:
    settings, env = served_copy_of_the_seed_corpus(real_encoder, real_model_dir, tmp_path)
    corpus = settings.corpus_dir
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "qa_service.cli", "serve", "--port", str(port),
                               "--workers", "2", "--threads", "2"], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("w"))
    results: list[tuple[float, int, str]] = []  # (latency, status, top passage)
    stop = threading.Event()

    def client() -> None:
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status, body = http(base + "/api/ask", {"question": QUESTIONS[i % 2]})
                top = body["passages"][0]["text"] if status == 200 else str(body)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                status, top = 0, repr(exc)
            results.append((time.perf_counter() - started, status, top))
            i += 1

    try:
        deadline = time.monotonic() + 180
        pids: set[int] = set()
        while len(pids) < 2 and time.monotonic() < deadline:  # both workers up and serving
            try:
                status, health = http(base + "/api/health")
                if status == 200:
                    pids.add(health["pid"])
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert len(pids) == 2, (tmp_path / "server.log").read_text()[-2000:]

        threads = [threading.Thread(target=client) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(3)
        (corpus / "library.txt").write_text(LIBRARY_ARTICLE, encoding="utf-8")
        summary = build_index(settings, real_encoder)  # as `qa-service index` would, meanwhile
        assert summary.generation == "gen-000002" and summary.articles_added == 1
        switched: dict[int, str] = {}
        while time.monotonic() < deadline and (len(switched) < 2 or set(switched.values()) != {"gen-000002"}):
            status, health = http(base + "/api/health")
            switched[health["pid"]] = health["generation"]
            time.sleep(0.2)
        time.sleep(3)  # keep asking after the switch
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    assert switched == {pid: "gen-000002" for pid in pids}
    failed = [r for r in results if r[1] != 200]
    assert not failed, failed[:3]
    library_answers = [top for _, _, top in results[-10:] if "图书馆" in top]
    assert library_answers and all("十二万册" in top for top in library_answers)
    latencies = sorted(r[0] for r in results)
    median = statistics.median(latencies) * 1000
    print(f"\nlive rebuild: {len(results)} requests, 0 failed, median {median:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms")


def test_two_servers_over_one_index_folder_both_switch_without_failed_requests(
        real_encoder, real_model_dir: Path, tmp_path: Path) -> None:
    # Scale-out as the README describes it: N servers (here two, one worker each) behind a
    # load balancer, all reading one embeddings/ folder (shared storage) and its CURRENT.
    settings, env = served_copy_of_the_seed_corpus(real_encoder, real_model_dir, tmp_path)
    corpus = settings.corpus_dir
    ports = [free_port(), free_port()]
    servers = [subprocess.Popen([sys.executable, "-m", "qa_service.cli", "serve", "--port", str(port),
                                 "--workers", "1", "--threads", "2"], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=(tmp_path / f"server-{port}.log").open("w"))
               for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    results: list[tuple[str, int]] = []
    stop = threading.Event()

    def client() -> None:  # a round-robin load balancer's worth of traffic
        i = 0
        while not stop.is_set():
            try:
                status, _ = http(bases[i % 2] + "/api/ask", {"question": QUESTIONS[i % 2]})
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status = 0
            results.append((bases[i % 2], status))
            i += 1

    thread = threading.Thread(target=client)
    try:
        deadline = time.monotonic() + 180
        for base in bases:
            while time.monotonic() < deadline:
                try:
                    if http(base + "/api/health")[0] == 200:
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.5)
        thread.start()
        time.sleep(2)
        (corpus / "library.txt").write_text(LIBRARY_ARTICLE, encoding="utf-8")
        assert build_index(settings, real_encoder).generation == "gen-000002"
        served = {}
        while time.monotonic() < deadline and set(served.values()) != {"gen-000002"}:
            served = {base: http(base + "/api/health")[1]["generation"] for base in bases}
            time.sleep(0.2)
        time.sleep(2)
    finally:
        stop.set()
        thread.join(timeout=60)
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    assert served == {base: "gen-000002" for base in bases}
    assert {base for base, _ in results} == set(bases)
    assert [r for r in results if r[1] != 200] == []
