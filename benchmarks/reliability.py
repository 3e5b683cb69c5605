"""Prove it holds: fuzzing, load during a rebuild, injected faults, memory drift.

Runs against the real production server (gunicorn, 2 workers, the real model) on a copy
of the seed corpus, on 127.0.0.1 only, with bounded runs:

1. schemathesis: requests generated from the OpenAPI spec (tests/web/test_fuzz_api.py with
   more examples); counts cases and 5xx.
2. Load: 16 concurrent clients for --seconds asking the bulletin questions while an
   article is added and an incremental rebuild switches generations; 0 failures expected,
   p50/p99 and the workers' memory at start and end reported.
3. Faults: the served generation is replaced by a corrupt one (truncated FAISS file,
   deleted chunk store, garbage manifest); the workers must refuse it and keep
   answering, and a build must repair it.
4. A worker is killed with SIGKILL under load; gunicorn restarts it; failures counted.

    python benchmarks/reliability.py [--seconds 60] [--fuzz-examples 300]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch, faiss or scikit-learn load OpenMP (models/threads.py)

from benchmarks.live_server import CLI, call, running_server  # noqa: E402

QUESTION_FILE = ROOT / "benchmarks" / "bulletin_questions.jsonl"
QUESTIONS = [json.loads(line)["question"]
             for line in QUESTION_FILE.read_text(encoding="utf-8").splitlines() if line]
NEW_ARTICLE = (
    "新建图书馆开放\n\n本报讯(记者 李四)\n\n"
    "藁城区新建的图书馆今天开放,共有藏书十二万册,每天接待读者八百人次。\n"
)
NEW_QUESTION = "藁城区新建的图书馆有多少藏书？"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


class Load:
    """Clients asking in a loop; every outcome recorded with its time."""

    def __init__(self, base: str, clients: int) -> None:
        self.base, self.clients = base, clients
        self.results: list[tuple[float, float, int, str, str]] = []  # (start, latency, status, top, question)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, offset: int) -> None:
        i = offset
        while not self.stop.is_set():
            question = NEW_QUESTION if i % 5 == 0 else QUESTIONS[i % len(QUESTIONS)]
            started = time.perf_counter()
            try:
                status, body = call(self.base + "/api/ask", {"question": question})
                top = body["passages"][0]["text"] if status == 200 and body.get("passages") else ""
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as exc:
                status, top = 0, repr(exc)
            self.results.append((started, time.perf_counter() - started, status, top, question))
            i += self.clients

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)


def fuzz(examples: int) -> tuple[int, int, bool]:
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as counts:
        path = counts.name
    env = {**os.environ, "QA_FUZZ_EXAMPLES": str(examples), "QA_FUZZ_COUNT_FILE": path}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(ROOT / "tests" / "web" / "test_fuzz_api.py")], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    statuses = [int(s) for s in Path(path).read_text().split()]
    os.unlink(path)
    return len(statuses), sum(s >= 500 for s in statuses), run.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--fuzz-examples", type=int, default=300)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []

    cases, server_errors, fuzz_ok = fuzz(args.fuzz_examples)
    rows += [("schemathesis cases generated", str(cases)), ("5xx seen in fuzzing", str(server_errors)),
             ("responses conforming to the spec", "all" if fuzz_ok else "NO (see pytest output)")]

    tmp = Path(tempfile.mkdtemp(prefix="qa-reliability-"))
    corpus, index_dir = tmp / "corpus", tmp / "embeddings"
    shutil.copytree(ROOT / "corpus", corpus)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index_dir),
           "QA_RELOAD_SECONDS": "1"}
    subprocess.run([*CLI, "index"], env=env, check=True, capture_output=True)
    with running_server(env, 2, 4, log=tmp / "server.log") as (base, server):
        with Load(base, args.clients):  # warm every request thread of both workers
            time.sleep(10)
        workers = worker_pids(server.pid)
        rss_start = {pid: rss_kb(pid) for pid in workers}

        # 2. Sustained load with an incremental rebuild and switch in the middle.
        with Load(base, args.clients) as load:
            time.sleep(args.seconds / 3)
            (corpus / "library.txt").write_text(NEW_ARTICLE, encoding="utf-8")
            rebuild_at = time.perf_counter()
            subprocess.run([*CLI, "index"], env=env, check=True, capture_output=True)
            time.sleep(args.seconds * 2 / 3)
        rss_end = {pid: rss_kb(pid) for pid in workers}
        results = load.results
        failed = [r for r in results if r[2] != 200]
        latencies = sorted(r[1] * 1000 for r in results)
        # Questions about the new article asked once the rebuild has surely been switched to.
        asked_after = [r for r in results if r[4] == NEW_QUESTION and r[0] > rebuild_at + 15]
        answered_from_it = [r for r in asked_after if "十二万册" in r[3]]
        rows += [
            (f"load: {args.clients} clients x {args.seconds}s, rebuild + switch in the middle",
             f"{len(results)} requests, {len(failed)} failed"),
            ("latency p50 / p99 / max (ms)",
             f"{statistics.median(latencies):.0f} / {latencies[int(0.99 * (len(latencies) - 1))]:.0f} / "
             f"{latencies[-1]:.0f}"),
            ("questions about the new article after the switch answered from it",
             f"{len(answered_from_it)} of {len(asked_after)}"),
        ]
        for pid in workers:
            start, end = rss_start[pid] / 1024, rss_end[pid] / 1024
            rows.append((f"worker {pid} RSS start -> end",
                         f"{start:.0f} -> {end:.0f} MB ({end - start:+.0f} MB)"))

        # 3. Corrupt generations: refused, old one keeps serving, a build repairs it.
        survived = 0
        for damage in ("truncate vectors.faiss", "delete chunks.sqlite", "garbage manifest.json"):
            current = (index_dir / "CURRENT").read_text().strip()
            number = max(int(p.name[4:]) for p in (index_dir / "generations").glob("gen-*")) + 1
            broken = index_dir / "generations" / f"gen-{number:06d}"
            shutil.copytree(index_dir / "generations" / current, broken)
            if damage.startswith("truncate"):
                (broken / "vectors.faiss").write_bytes((broken / "vectors.faiss").read_bytes()[:100])
            elif damage.startswith("delete"):
                (broken / "chunks.sqlite").unlink()
            else:
                (broken / "manifest.json").write_text("{garbage", encoding="utf-8")
            (index_dir / "CURRENT").write_text(broken.name + "\n")
            time.sleep(3)
            healths = [call(base + "/api/health")[1] for _ in range(6)]
            refused = all(h.get("generation") == current and "refused" in h.get("reload_error", "")
                          for h in healths)
            answered = call(base + "/api/ask", {"question": QUESTIONS[0]})[0] == 200
            subprocess.run([*CLI, "index"], env=env, check=True, capture_output=True)
            time.sleep(3)
            repaired = all(call(base + "/api/health")[1].get("generation") != current for _ in range(6))
            survived += refused and answered and repaired
        rows.append(("corrupt generations injected / refused, kept answering, repaired by a build",
                     f"3 / {survived}"))

        # 4. SIGKILL a worker under load.
        with Load(base, args.clients) as load:
            time.sleep(3)
            victim = worker_pids(server.pid)[0]
            os.kill(victim, signal.SIGKILL)
            time.sleep(15)
        restarted = victim not in worker_pids(server.pid) and len(worker_pids(server.pid)) == 2
        killed_failed = [r for r in load.results if r[2] != 200]
        rows += [("worker killed with SIGKILL under load", f"restarted: {restarted}"),
                 ("requests during the kill / failed", f"{len(load.results)} / {len(killed_failed)}")]
    shutil.rmtree(tmp, ignore_errors=True)

    print("| check | result |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
