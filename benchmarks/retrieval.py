"""Retrieval quality on CMRC 2018: paragraph-level Recall@1/5/10, MRR@10, answer-in-top-5.

Each CMRC paragraph becomes one corpus file (title as front matter), indexed with the
product's own ingestion, chunking, encoder and index; every question is asked through the
product's Retriever. The dataset is read from ../shared at run time, never copied.

    python benchmarks/retrieval.py [--dataset dev|trial] [--limit N]
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

from qa_service.config import Settings  # noqa: E402
from qa_service.encoder import load_encoder  # noqa: E402
from qa_service.index_build import build_index  # noqa: E402
from qa_service.retrieval import Retriever, load_index  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets" / "cmrc2018"
SEARCH_DEPTH = 30  # chunks fetched so that 10 distinct paragraphs remain after merging


def load_cmrc(name: str, limit: int | None) -> tuple[dict[str, tuple[str, str]], list[dict]]:
    data = json.loads((DATASETS / f"cmrc2018_{name}.json").read_text(encoding="utf-8"))["data"]
    paragraphs: dict[str, tuple[str, str]] = {}
    questions: list[dict] = []
    for item in data:
        for para in item["paragraphs"]:
            paragraphs[para["id"]] = (item["title"], para["context"])
            for qa in para["qas"]:
                questions.append({"question": qa["question"], "paragraph": para["id"],
                                  "answers": sorted({a["text"] for a in qa["answers"] if a["text"]})})
    if limit:
        keep = set(list(paragraphs)[:limit])
        paragraphs = {k: v for k, v in paragraphs.items() if k in keep}
        questions = [q for q in questions if q["paragraph"] in keep]
    return paragraphs, questions


def write_corpus(folder: Path, paragraphs: dict[str, tuple[str, str]]) -> None:
    folder.mkdir(parents=True)
    for pid, (title, context) in paragraphs.items():
        safe_title = title.replace("\n", " ")
        (folder / f"{pid}.txt").write_text(f"---\ntitle: {safe_title}\n---\n{context}\n", encoding="utf-8")


def evaluate(retriever: Retriever, questions: list[dict]) -> dict[str, float]:
    hits = {1: 0, 5: 0, 10: 0}
    reciprocal = 0.0
    answer_in_top5 = 0
    latencies = []
    for q in questions:
        started = time.perf_counter()
        passages = retriever.ask(q["question"], top_k=SEARCH_DEPTH)["passages"]
        latencies.append((time.perf_counter() - started) * 1000)
        ranked: list[str] = []
        for p in passages:
            pid = Path(p["article"]["source"]).stem
            if pid not in ranked:
                ranked.append(pid)
        for k in hits:
            hits[k] += q["paragraph"] in ranked[:k]
        if q["paragraph"] in ranked[:10]:
            reciprocal += 1 / (ranked.index(q["paragraph"]) + 1)
        top5_text = "".join(p["text"] for p in passages[:5])
        answer_in_top5 += any(a in top5_text for a in q["answers"])
    n = len(questions)
    return {"recall@1": hits[1] / n, "recall@5": hits[5] / n, "recall@10": hits[10] / n,
            "mrr@10": reciprocal / n, "answer_in_top5": answer_in_top5 / n,
            "query_ms_p50": statistics.median(latencies),
            "query_ms_p95": sorted(latencies)[int(0.95 * (n - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["dev", "trial"], default="dev")
    parser.add_argument("--limit", type=int, default=None, help="only the first N paragraphs")
    args = parser.parse_args()

    paragraphs, questions = load_cmrc(args.dataset, args.limit)
    settings = Settings.from_env()
    encoder = load_encoder(settings.model, settings.model_cache)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        write_corpus(corpus, paragraphs)
        run_settings = Settings.from_env(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        summary = build_index(run_settings, encoder, show_progress=sys.stderr.isatty())
        retriever = Retriever(load_index(run_settings.index_dir), encoder)
        metrics = evaluate(retriever, questions)

    print(f"CMRC 2018 {args.dataset}: {len(paragraphs)} paragraphs -> {summary.chunks} chunks, "
          f"{len(questions)} questions, model {encoder.name}")
    print(f"build: {summary.seconds:.1f}s total, {summary.embed_seconds:.1f}s embedding "
          f"({summary.chunks / max(summary.embed_seconds, 1e-9):.1f} chunks/s)")
    print("| method | Recall@1 | Recall@5 | Recall@10 | MRR@10 | answer in top-5 | query p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    m = metrics
    print(f"| dense | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['mrr@10']:.3f} "
          f"| {m['answer_in_top5']:.3f} | {m['query_ms_p50']:.1f} | {m['query_ms_p95']:.1f} |")


if __name__ == "__main__":
    main()
