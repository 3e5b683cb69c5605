"""Query speed in one process, step by step, and over HTTP with the production server.

The index is CMRC 2018 dev (the one benchmarks/retrieval.py builds, reused from
--index-cache) or, when there is none, one built here from --paragraphs of it. Questions
are CMRC dev questions.
With the reader QA_READER_WEIGHTS names (`make bench` runs it once with `none`, once
with the shipped reader: before and after). Measured:
- in process: p50 of each step (encode, dense, lexical, fusion, answer sentence, read) and of
  the whole `Retriever.ask`, with one math thread (as each server request thread has)
  and with all cores; CPU time per query;
- over HTTP, `qa-service serve` (gunicorn) on 127.0.0.1, one request at a time: p50 and
  p95, and the ratio to the in-process p50 under the same thread setting;
- throughput with wrk, 8 connections for --seconds, against cores / CPU time per query;
- saturation with 1, 4 and 16 clients: requests/s, p50 and p99, and whether the server's
  /metrics counted every request wrk sent.

    python benchmarks/serving.py [--index-cache DIR] [--questions 200] [--seconds 20] [--results FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch, faiss or scikit-learn load OpenMP (models/threads.py)

from benchmarks.corpora import cmrc_questions  # noqa: E402
from benchmarks.encoding import write_corpus  # noqa: E402
from benchmarks.live_server import call, running_server  # noqa: E402
from benchmarks.results import Results, median, memory_of, percentile  # noqa: E402
from qa_service.answering import Retriever, load_configured_reader, normalize_question  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.index import build_index, load_index  # noqa: E402
from qa_service.models import load_encoder  # noqa: E402

STEPS = ("encode", "dense", "lexical", "fusion", "answer", "read")


def in_process(retriever: Retriever, questions: list[str], threads: int) -> dict:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    for q in questions[:10]:
        retriever.ask(q)
    steps: dict[str, list[float]] = {s: [] for s in STEPS}
    totals = []
    cpu_started = time.process_time()
    for q in questions:
        started = time.perf_counter()
        retriever.ask(q)
        totals.append((time.perf_counter() - started) * 1000)
    cpu = (time.process_time() - cpu_started) * 1000 / len(questions)
    for q in questions:
        timings: dict[str, float] = {}
        retriever.run(normalize_question(q), timings=timings)
        for step in STEPS:
            steps[step].append(timings.get(step, 0.0) * 1000)
    torch.set_num_threads(before)
    return {"p50": median(totals), "p95": percentile(totals, 0.95), "cpu_ms": cpu,
            "steps": {s: median(v) for s, v in steps.items()}}


def wrk_script(questions: list[str], path: Path) -> None:
    bodies = ",\n".join(f"[==[{json.dumps({'question': q})}]==]" for q in questions)
    path.write_text(
        f"local bodies = {{\n{bodies}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        "  return wrk.format('POST', '/api/ask', {['Content-Type'] = 'application/json'}, "
        "bodies[(i % #bodies) + 1])\nend\n", encoding="utf-8")


def run_wrk(base: str, script: Path, connections: int, seconds: int) -> dict:
    # wrk needs at least one connection per thread.
    out = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "--timeout", "10s", "-s", str(script), base],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def percent(p: str) -> float | None:
        found = re.search(rf"{p}%\s+([\d.]+)(us|ms|s)", out)
        return round(float(found.group(1)) * scale[found.group(2)], 1) if found else None

    total = re.search(r"(\d+) requests in", out)
    return {"rps": rate, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(0) if errors else "",
            "requests": int(total.group(1)) if total else 0,
            "p50_ms": percent("50"), "p99_ms": percent("99")}


def asks_counted(base: str, token: str) -> float:
    """/api/ask requests the server's /metrics has counted, all workers and statuses."""
    request = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return sum(float(v) for v in re.findall(r'^qa_http_requests_total\{endpoint="/api/ask"[^}]*\} (\S+)$',
                                            text, re.M))


def worker_memory(server_pid: int) -> list[dict[str, float]]:
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return [memory_of(int(pid)) for pid in children]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-cache", type=Path, default=None)
    parser.add_argument("--paragraphs", type=int, default=200, help="when no cached dev index exists")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: `sudo apt-get install wrk` (make bench-deps)")
    questions = cmrc_questions("dev", args.questions)
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory() as tmp:
        cached = args.index_cache / "dev-index" if args.index_cache else None
        if cached and (cached / "CURRENT").exists():
            index_dir, where = cached, "CMRC 2018 dev (all paragraphs)"
        else:
            index_dir, where = Path(tmp) / "index", f"CMRC 2018 dev, first {args.paragraphs} paragraphs"
            write_corpus(Path(tmp) / "corpus", args.paragraphs)
            settings = Settings.from_env(corpus_dir=Path(tmp) / "corpus", index_dir=index_dir)
            build_index(settings, load_encoder(settings))
        settings = Settings.from_env(index_dir=index_dir)
        encoder = load_encoder(settings)
        index = load_index(index_dir)
        # As the server answers: with the reader QA_READER_WEIGHTS names (builtin by default).
        reader, reader_settings = load_configured_reader(settings.reader_weights, settings.model_cache,
                                                         settings.precision)
        retriever = Retriever(index, encoder, reader=reader, reader_settings=reader_settings)
        chunks = index.manifest["counts"]["chunks"]
        one = in_process(retriever, questions, threads=1)
        every = in_process(retriever, questions, threads=cores)

        token = uuid.uuid4().hex
        env = {"QA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1", "QA_ADMIN_TOKEN": token}
        with running_server(env, args.workers, args.threads) as (base, server):
            for q in questions[: 4 * args.workers]:
                call(base + "/api/ask", {"question": q})
            over_http = []
            for q in questions:
                started = time.perf_counter()
                status, _ = call(base + "/api/ask", {"question": q})
                over_http.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise RuntimeError(f"/api/ask answered {status}")
            script = Path(tmp) / "ask.lua"
            wrk_script(questions, script)
            load = run_wrk(base, script, 8, args.seconds)
            # Saturation at 1, 4 and 16 clients; /metrics must count what wrk sent.
            by_clients = {}
            time.sleep(2)  # the 8-connection run's last requests finish before counting starts
            for clients in (1, 4, 16):
                before = asks_counted(base, token)
                by_clients[clients] = run_wrk(base, script, clients, args.seconds)
                time.sleep(1)  # requests wrk gave up on finish and are counted
                by_clients[clients]["counted"] = asks_counted(base, token) - before
            memory = worker_memory(server.pid)

    http_p50 = median(over_http)
    ceiling = cores / (one["cpu_ms"] / 1000)
    print(f"## query speed: {where}, {chunks} chunks, {len(questions)} questions, "
          f"reader {settings.reader_weights}")
    steps = " | ".join(f"{s} p50 ms" for s in STEPS)
    print(f"| in process | p50 ms | p95 ms | CPU ms/query | {steps} |")
    print("|---|---|---|---|" + "---|" * len(STEPS))
    for label, r in (("1 thread (as a server request thread)", one), (f"{cores} threads", every)):
        print(f"| {label} | {r['p50']:.1f} | {r['p95']:.1f} | {r['cpu_ms']:.1f} | "
              + " | ".join(f"{r['steps'][s]:.2f}" for s in STEPS) + " |")
    print(f"\nover HTTP, gunicorn {args.workers} workers x {args.threads} threads, one request at a time: "
          f"p50 {http_p50:.1f} ms, p95 {percentile(over_http, 0.95):.1f} ms; "
          f"ratio to in-process p50 (1 thread) {http_p50 / one['p50']:.2f}, "
          f"({cores} threads) {http_p50 / every['p50']:.2f}")
    print(f"wrk, 8 connections, {args.seconds} s: {load['rps']:.1f} requests/s, p50 {load['p50_ms']} ms, "
          f"non-2xx {load['non_2xx']} {load['socket_errors']}; "
          f"ceiling cores / CPU per query = {ceiling:.1f}/s, "
          f"ratio {load['rps'] / ceiling:.2f}")
    print("\n| clients | requests/s | p50 ms | p99 ms | non-2xx | wrk requests | counted by /metrics |")
    print("|---|---|---|---|---|---|---|")
    for clients, r in by_clients.items():
        print(f"| {clients} | {r['rps']:.1f} | {r['p50_ms']} | {r['p99_ms']} | {r['non_2xx']} | "
              f"{r['requests']} | {r['counted']:.0f} |")
    for n, m in enumerate(memory):
        print(f"worker {n}: RSS {m['VmRSS']:.0f} MB (private {m['RssAnon']:.0f}, shared file pages "
              f"{m['RssFile']:.0f}), peak {m['VmHWM']:.0f} MB")

    section = f"query ({chunks} chunks, reader {settings.reader_weights})"
    results.add(section, "in-process p50, 1 thread", one["p50"], "ms")
    results.add(section, f"in-process p50, {cores} threads", every["p50"], "ms")
    for step in STEPS:
        results.add(section, f"step p50, 1 thread: {step}", one["steps"][step], "ms",
                    note=f"{100 * one['steps'][step] / sum(one['steps'].values()):.0f}% of the steps")
    results.add(section, "CPU time per query (1 thread)", one["cpu_ms"], "ms")
    results.add(section, "HTTP p50, one request at a time", http_p50, "ms")
    ratio = http_p50 / one["p50"]
    results.add(section, "HTTP p50 / in-process p50 (same threads)", ratio, "", "<= 1.3", ratio <= 1.3)
    results.add(section, f"HTTP p50 / in-process p50 ({cores} threads in process)",
                http_p50 / every["p50"], "")
    share = load["rps"] / ceiling
    results.add(section, "throughput, wrk 8 connections", load["rps"], "req/s",
                note=f"non-2xx {load['non_2xx']}, p50 {load['p50_ms']} ms")
    results.add(section, "throughput / (cores / CPU per query)", share, "", ">= 0.80", share >= 0.8,
                note=f"ceiling {ceiling:.1f} req/s")
    for clients, r in by_clients.items():
        results.add(section, f"wrk {clients} clients: requests/s, p50 / p99 ms", f"{r['rps']:.1f}",
                    note=f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, non-2xx {r['non_2xx']}")
        # wrk counts the requests answered within its run; those still in flight at its end
        # (at most one per client) are answered and counted by the server after it.
        extra = r["counted"] - r["requests"]
        results.add(section, f"wrk {clients} clients: /metrics counted / wrk answered",
                    f"{r['counted']:.0f} / {r['requests']}", "", "0 to clients more",
                    0 <= extra <= clients)
    for n, m in enumerate(memory):
        results.add("memory", f"server worker {n} RSS after load, {chunks} chunks", m["VmRSS"], "MB",
                    note=f"private {m['RssAnon']:.0f} MB, shared file pages {m['RssFile']:.0f} MB")


if __name__ == "__main__":
    main()
