"""Scale: the product's own build, index and search at 100k and 1M chunks.

Embedding 1M chunks for real would take about 17 hours here, so the large corpora are
built by the real pipeline (ingestion, chunking, chunk store, BM25, FAISS, manifest)
with one stand-in: a synthetic encoder that places every text near a real e5 vector
(CMRC 2018 chunk and sentence embeddings plus noise shaped like their covariance), so
the vectors have the clustering of real embeddings. Corpus texts are random runs of
real CMRC sentences; questions are real CMRC dev questions embedded by the real model.

Measured per size: build time and peak RSS of the build process; the index kind chosen;
load time and RSS after load (memory-mapped); dense search p50 (one thread) of the
served index and of exact search; recall@10 of the served index against exact search,
over several nprobe values; lexical search p50; a server worker's memory. Also the peak
RSS of `qa-service index` on the bulletins with the real model.

    python benchmarks/scale.py [--sizes 100000,1000000] [--index-cache DIR] [--work DIR]
                               [--results FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch, faiss or scikit-learn load OpenMP (models/threads.py)

from benchmarks.corpora import cmrc_data, cmrc_paragraphs, cmrc_questions, write_article  # noqa: E402
from benchmarks.live_server import call, running_server  # noqa: E402
from benchmarks.results import Results, median, memory_of  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.models import BUILTIN_MODEL  # noqa: E402

NOISE = 0.5  # cosine to the real vector it was drawn around: about 0.93


class SyntheticEncoder:
    """Vectors near real ones, chosen by a hash of the text: a stand-in for a 17-hour run."""

    def __init__(self, pool: np.ndarray) -> None:
        self.name, self.dimension = BUILTIN_MODEL, pool.shape[1]
        self.pool = pool
        centred = pool - pool.mean(axis=0)
        self.shape = np.linalg.cholesky(np.cov(centred, rowvar=False) + 1e-6 * np.eye(self.dimension))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode_passages(texts)

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        show_progress: bool = False) -> np.ndarray:
        seeds = [int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little") for t in texts]
        rng = np.random.default_rng(seeds[0] if seeds else 0)
        parents = self.pool[[s % len(self.pool) for s in seeds]]
        vectors = parents + NOISE * rng.standard_normal((len(texts), self.dimension)) @ self.shape.T
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def cmrc_sentences() -> tuple[list[str], list[str]]:
    from qa_service.corpus import split_sentences

    titles = [item["title"].replace("\n", " ") for name in ("dev", "trial") for item in cmrc_data(name)]
    sentences = [para["context"][s:e] for _, para in cmrc_paragraphs("dev", "trial")
                 for s, e in split_sentences(para["context"]) if e - s >= 8]
    return sentences, titles


def write_corpus(folder: Path, chunks: int) -> None:
    """About ``chunks`` chunks: articles of ~1,100 characters in paragraphs of 3 sentences."""
    if (folder / "DONE").exists():
        return
    sentences, titles = cmrc_sentences()
    rng = random.Random(chunks)
    articles = chunks // 7  # measured: ~7 chunks per article
    for n in range(articles):
        paragraphs, size = [], 0
        while size < 1000:
            paragraph = "".join(rng.choice(sentences) for _ in range(3))
            paragraphs.append(paragraph)
            size += len(paragraph)
        write_article(folder / f"{n // 1000:04d}" / f"a{n}.txt", f"{rng.choice(titles)} {n}",
                      "\n".join(paragraphs))
    (folder / "DONE").write_text("", encoding="utf-8")


def real_pool(index_cache: Path | None, work: Path) -> np.ndarray:
    """Real e5 vectors of CMRC chunks and sentences (from the retrieval benchmark's index)."""
    path = work / "pool.npy"
    if path.exists():
        return np.load(path)
    from qa_service.index import load_index
    from qa_service.models import load_encoder

    cached = index_cache / "dev-index" if index_cache else None
    if cached and (cached / "CURRENT").exists():
        index = load_index(cached)
        chunks = index.vectors.all_vectors()[1]
        stored = index.sentence_vectors
        extra = np.empty((0, chunks.shape[1])) if stored is None else np.asarray(stored, dtype=np.float32)
        pool = np.vstack([chunks, extra])
    else:
        sentences, _ = cmrc_sentences()
        settings = Settings.from_env()
        encoder = load_encoder(settings)
        pool = encoder.encode_passages(random.Random(0).sample(sentences, 3000))
    np.save(path, pool)
    return pool


def question_vectors(work: Path, count: int) -> tuple[list[str], np.ndarray]:
    questions = cmrc_questions("dev", count)
    path = work / f"questions-{count}.npy"
    if not path.exists():
        from qa_service.models import load_encoder

        settings = Settings.from_env()
        encoder = load_encoder(settings)
        np.save(path, encoder.encode_queries(questions))
    return questions, np.load(path)


def run_child(args: list[str]) -> tuple[dict, float, float]:
    """(JSON printed by a child run of this script, wall seconds, the child's peak RSS in MB)."""
    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, check=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    return result, time.perf_counter() - started, result["peak_rss_mb"]


def child_build(corpus: Path, index_dir: Path, pool_path: Path) -> None:
    from qa_service.index import build_index

    settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir)
    summary = build_index(settings, SyntheticEncoder(np.load(pool_path)), full=True, show_progress=True)
    print(json.dumps({"chunks": summary.chunks_total, "seconds": summary.seconds,
                      "peak_rss_mb": __import__("resource").getrusage(0).ru_maxrss / 1024}))


def child_query(index_dir: Path, questions_path: Path) -> None:
    import faiss

    from qa_service.index import build_vector_index, load_index

    faiss.omp_set_num_threads(1)  # one query, one thread, as in a server request thread
    questions = json.loads(questions_path.with_suffix(".json").read_text(encoding="utf-8"))
    vectors = np.load(questions_path)
    started = time.perf_counter()
    index = load_index(index_dir)
    load_seconds = time.perf_counter() - started
    after_load = memory_of(os.getpid())

    def p50(search: object, rows: np.ndarray) -> float:
        timings = []
        for row in rows:
            t = time.perf_counter()
            search(row.reshape(1, -1), 50)  # type: ignore[operator]
            timings.append((time.perf_counter() - t) * 1000)
        return median(timings)

    served = index.vectors
    served_p50 = p50(served.search, vectors[:300])
    ids, stored = served.all_vectors()
    exact = build_vector_index(ids, stored, stored.shape[1], exact_limit=len(ids))
    del stored
    exact_p50 = p50(exact.search, vectors[:100])
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _, truth = exact.search(vectors, 10)
    faiss.omp_set_num_threads(1)
    recall: dict[str, float] = {}
    nprobe_p50: dict[str, float] = {}
    default = served.params.get("nprobe")
    for nprobe in ([8, 16, 32, 64, 128] if served.kind == "ivf" else [0]):
        served.set_nprobe(nprobe)
        _, found = served.search(vectors, 10)
        overlap = [len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]
        recall[str(nprobe)] = float(np.mean(overlap))
        nprobe_p50[str(nprobe)] = p50(served.search, vectors[:200])
    if default:
        served.set_nprobe(default)
    lexical = []
    for q in questions[:300]:
        t = time.perf_counter()
        index.lexical.search(q, 50)
        lexical.append((time.perf_counter() - t) * 1000)
    print(json.dumps({
        "kind": served.kind, "params": served.params, "load_seconds": load_seconds,
        "rss_after_load": after_load, "served_p50": served_p50, "exact_p50": exact_p50,
        "recall": recall, "nprobe_p50": nprobe_p50, "lexical_p50": median(lexical),
        "peak_rss_mb": __import__("resource").getrusage(0).ru_maxrss / 1024,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--index-cache", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=None, help="keep corpora here between runs")
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    real_pool(args.index_cache, work)
    questions, _ = question_vectors(work, args.questions)
    questions_path = work / f"questions-{args.questions}.npy"
    questions_path.with_suffix(".json").write_text(json.dumps(questions, ensure_ascii=False),
                                                   encoding="utf-8")

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        child = subprocess.run([sys.executable, "-m", "qa_service.cli", "index", "--json"],
                               env={**os.environ, "QA_CORPUS_DIR": str(ROOT / "corpus"),
                                    "QA_INDEX_DIR": tmp}, capture_output=True, text=True, check=True)
        built = json.loads(child.stdout)
        import resource

        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"## memory: `qa-service index` on the bulletins ({built['chunks_total']} chunks, real model): "
          f"peak RSS {peak:.0f} MB, {time.perf_counter() - started:.1f} s")
    results.add("memory", f"peak RSS of `qa-service index`, bulletins ({built['chunks_total']} chunks)",
                peak, "MB", note="real model")

    for size in [int(s) for s in args.sizes.split(",")]:
        corpus, index_dir = work / f"corpus-{size}", work / f"index-{size}"
        t = time.perf_counter()
        write_corpus(corpus, size)
        print(f"\n## {size:,} chunks (corpus written in {time.perf_counter() - t:.0f} s)", flush=True)
        build, _, build_peak = run_child(["_build", str(corpus), str(index_dir),
                                                   str(work / "pool.npy")])
        query, _, _ = run_child(["_query", str(index_dir), str(questions_path)])
        with running_server({"QA_INDEX_DIR": str(index_dir)}, 1, 4) as (base, server):
            for q in questions[:20]:
                call(base + "/api/ask", {"question": q})
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            worker = memory_of(int(children[0]))
        report(results, size, build, build_peak, query, worker)


def report(results: Results, size: int, build: dict, build_peak: float, query: dict,
           worker: dict) -> None:
    chunks = build["chunks"]
    section = f"scale {chunks:,} chunks"
    kind = query["kind"] + (f" ({', '.join(f'{k} {v}' for k, v in query['params'].items())})"
                            if query["params"] else "")
    print(f"build: {build['seconds']:.0f} s (synthetic vectors), peak RSS {build_peak:.0f} MB; index: {kind}")
    print(f"load: {query['load_seconds']:.2f} s, RSS after load {query['rss_after_load']['VmRSS']:.0f} MB")
    print(f"dense search p50 (1 thread): served {query['served_p50']:.2f} ms, "
          f"exact {query['exact_p50']:.2f} ms")
    for nprobe, recall in query["recall"].items():
        print(f"  nprobe {nprobe}: recall@10 vs exact {recall:.3f}, p50 {query['nprobe_p50'][nprobe]:.2f} ms")
    print(f"lexical search p50: {query['lexical_p50']:.2f} ms")
    print(f"server worker after 20 questions: RSS {worker['VmRSS']:.0f} MB (private {worker['RssAnon']:.0f})")
    results.add(section, "index kind chosen", kind)
    results.add(section, "build time (synthetic vectors: pipeline only)", build["seconds"], "s")
    results.add("memory", f"peak RSS of the index build, {chunks:,} chunks", build_peak, "MB",
                note="same pipeline as `qa-service index`, synthetic encoder")
    results.add(section, "index load time (memory-mapped)", query["load_seconds"], "s")
    results.add("memory", f"RSS after loading the index, {chunks:,} chunks", query["rss_after_load"]["VmRSS"],
                "MB", note=f"private {query['rss_after_load']['RssAnon']:.0f} MB")
    results.add("memory", f"server worker RSS, {chunks:,} chunks", worker["VmRSS"], "MB",
                note=f"private {worker['RssAnon']:.0f} MB, shared file pages {worker['RssFile']:.0f} MB")
    met = query["served_p50"] <= 10 if size >= 1_000_000 else None
    results.add(section, "dense search p50, served index, 1 thread", query["served_p50"], "ms",
                "<= 10 at 1M" if size >= 1_000_000 else None, met)
    results.add(section, "dense search p50, exact, 1 thread", query["exact_p50"], "ms")
    served_recall = query["recall"].get(str(query["params"].get("nprobe", 0)), 1.0)
    results.add(section, "recall@10 of the served index vs exact", served_recall, "", ">= 0.95",
                served_recall >= 0.95)
    met = query["lexical_p50"] <= 50 if size >= 1_000_000 else None
    results.add(section, "lexical search p50", query["lexical_p50"], "ms",
                "<= 50 at 1M" if size >= 1_000_000 else None, met)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_build":
        child_build(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_query":
        child_query(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
