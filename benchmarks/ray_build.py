"""Builds on Ray: what embedding through a Ray cluster costs against a local build.

One machine cannot show Ray's speed-up, only its overhead: the same full build of a
--chunks-chunk corpus runs locally (this process, every core) and through a local Ray
cluster (``ray.init(num_cpus=<cores>)``) with 1 actor of all cores and with one actor
per core. The corpus is one CMRC 2018 sentence per article (train, then dev and trial
paragraphs, read from ../shared at run time: a corpus, never trained on here), so a
build of 20,000 chunks also embeds 20,000 sentences and fits in minutes; short texts
make the per-text overhead of the cluster as large a share as it can be. Every build
uses the configured precision (bf16 here); the Ray vectors are compared with the local
ones.

    python benchmarks/ray_build.py [--chunks 20000] [--results FILE]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch, faiss or scikit-learn load OpenMP (models/threads.py)

import numpy as np  # noqa: E402

from benchmarks.corpora import cmrc_paragraphs, write_article  # noqa: E402
from benchmarks.results import Results  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.index import build_index, load_index  # noqa: E402
from qa_service.models import available_cores, load_encoder  # noqa: E402

SECTION = "builds on Ray"


def write_corpus(folder: Path, wanted: int) -> int:
    """``wanted`` one-sentence articles (12 to 120 characters), no sentence twice."""
    seen: set[str] = set()
    for title, paragraph in cmrc_paragraphs("train", "dev", "trial"):
        for sentence in re.findall(r"[^。！？]+[。！？]", paragraph["context"]):
            sentence = sentence.strip()
            if 12 <= len(sentence) <= 120 and sentence not in seen:
                seen.add(sentence)
                write_article(folder / f"{len(seen):06d}.txt", title, sentence)
                if len(seen) == wanted:
                    return wanted
    return len(seen)


def vectors_of(index_dir: Path) -> np.ndarray:
    ids, vectors = load_index(index_dir).vectors.all_vectors()
    return vectors[np.argsort(ids)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    import ray

    cores = available_cores()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        articles = write_corpus(corpus, args.chunks)
        base = Settings.from_env(corpus_dir=corpus, index_dir=Path(tmp) / "local")
        encoder = load_encoder(base)
        runs = {"local": base,
                "Ray, 1 actor": replace(base, index_dir=Path(tmp) / "ray1", ray_address="auto",
                                        ray_actors=1, ray_actor_cpus=cores),
                f"Ray, {cores} actors": replace(base, index_dir=Path(tmp) / "ray2", ray_address="auto",
                                                ray_actors=cores, ray_actor_cpus=1)}
        started = time.perf_counter()
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - started
        timings: dict[str, tuple[float, float, int]] = {}
        try:
            for name, settings in runs.items():
                started = time.perf_counter()
                summary = build_index(settings, encoder)
                total = time.perf_counter() - started
                texts = summary.chunks_embedded + summary.sentences_embedded
                timings[name] = (total, summary.embed_seconds, texts)
                print(f"{name}: {summary.chunks_total} chunks + {summary.sentences_embedded} sentences "
                      f"in {total:.1f}s (embedding {summary.embed_seconds:.1f}s, "
                      f"{texts / summary.embed_seconds:.1f} texts/s)", flush=True)
        finally:
            ray.shutdown()
        local_vectors = vectors_of(base.index_dir)
        deviation = {name: float(1 - (vectors_of(s.index_dir) * local_vectors).sum(axis=1).min())
                     for name, s in runs.items() if s.ray_address}

    local_total = timings["local"][0]
    precision = getattr(encoder, "precision", base.precision)
    print(f"\ncorpus: {articles} one-sentence articles; {cores} cores; precision {precision}; "
          f"starting the local Ray cluster took {ray_start:.1f}s (not in the build times)")
    header = ("build", "seconds", "embedding s", "texts/s", "overhead", "1 - min cos")
    print(f"{header[0]:<16}" + "".join(f"{h:>13}" for h in header[1:]))
    for name, (total, embed, texts) in timings.items():
        overhead = total / local_total - 1
        print(f"{name:<16}{total:>13.1f}{embed:>13.1f}{texts / embed:>13.1f}{overhead:>+13.1%}"
              f"{deviation.get(name, 0.0):>13.2e}")
        results.add(SECTION, f"{name}: full build of {articles} chunks", round(total, 1), "s",
                    note=f"{texts / embed:.1f} texts/s embedding; {overhead:+.1%} against local")
    for name, value in deviation.items():
        results.add(SECTION, f"{name}: vectors against the local build, 1 - min cosine", value,
                    note=f"precision {precision}")
    results.add(SECTION, "starting a local Ray cluster", round(ray_start, 1), "s")


if __name__ == "__main__":
    main()
