"""Latency of /api/ask over HTTP with the production server (gunicorn), bulletin questions.

Builds the seed corpus's index, starts `qa-service serve` on 127.0.0.1, asks every
question of benchmarks/bulletin_questions.jsonl several times, one at a time, and prints
p50/p95 over HTTP next to the in-process p50 for the same questions.

    python benchmarks/http_latency.py [--rounds 5] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.live_server import call, running_server  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.encoder import load_encoder  # noqa: E402
from qa_service.index_build import build_index  # noqa: E402
from qa_service.retrieval import Retriever, load_index  # noqa: E402

QUESTIONS = ROOT / "benchmarks" / "bulletin_questions.jsonl"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    asks = [{"question": r["question"], "history": r.get("history", [])} for r in rows]

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(corpus_dir=ROOT / "corpus", index_dir=Path(tmp) / "index")
        encoder = load_encoder(settings.model, settings.model_cache)
        build_index(settings, encoder)
        retriever = Retriever(load_index(settings.index_dir), encoder)
        in_process = []
        for _ in range(args.rounds):
            for ask in asks:
                started = time.perf_counter()
                retriever.ask(ask["question"], history=ask["history"])
                in_process.append((time.perf_counter() - started) * 1000)

        env = {"QA_INDEX_DIR": str(settings.index_dir), "HF_HUB_OFFLINE": "1"}
        with running_server(env, args.workers, args.threads) as (base, _):
            for ask in asks[: 2 * args.workers]:  # warm every worker
                call(base + "/api/ask", ask)
            over_http = []
            for _ in range(args.rounds):
                for ask in asks:
                    started = time.perf_counter()
                    status, _body = call(base + "/api/ask", ask)
                    over_http.append((time.perf_counter() - started) * 1000)
                    if status != 200:
                        raise RuntimeError(f"/api/ask answered {status}")

    print(f"/api/ask, {len(asks)} bulletin questions x {args.rounds} rounds, one at a time, "
          f"gunicorn {args.workers} workers x {args.threads} threads on 127.0.0.1")
    print("| where | p50 ms | p95 ms | requests |")
    print("|---|---|---|---|")
    print(f"| in process (Retriever.ask) | {statistics.median(in_process):.1f} | "
          f"{percentile(in_process, 0.95):.1f} | {len(in_process)} |")
    print(f"| over HTTP | {statistics.median(over_http):.1f} | {percentile(over_http, 0.95):.1f} | "
          f"{len(over_http)} |")
    print(f"HTTP p50 / in-process p50 = {statistics.median(over_http) / statistics.median(in_process):.2f}")


if __name__ == "__main__":
    main()
