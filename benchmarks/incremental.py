"""Cost follows the change: full vs incremental builds, and a killed build resumed.

The corpus is made of CMRC 2018 paragraphs (dev, then trial), each cut at a sentence end
near its middle into two articles, until --articles are reached. Read from ../shared at
run time. Builds use the product's build_index with the configured model. Then
`qa-service index` is started on an empty index folder, killed with SIGKILL half-way
through the time a full build took, and run again: the second run resumes.

    python benchmarks/incremental.py [--articles 1000] [--results FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch, faiss or scikit-learn load OpenMP (models/threads.py)

from benchmarks.corpora import cmrc_paragraphs, write_article  # noqa: E402
from benchmarks.results import Results  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.index import build_index  # noqa: E402
from qa_service.models import load_encoder  # noqa: E402

NEW_ARTICLE = (
    "新建图书馆开放\n\n本报讯(记者 李四)\n\n"
    "藁城区新建的图书馆今天开放,共有藏书十二万册,每天接待读者八百人次。\n"
)


def halves(text: str) -> list[str]:
    middle = len(text) // 2
    cut = min((i + 1 for i, ch in enumerate(text) if ch == "。" and i >= middle), default=len(text))
    return [part for part in (text[:cut], text[cut:]) if part.strip()]


def write_corpus(folder: Path, wanted: int) -> int:
    """Up to ``wanted`` articles: CMRC dev then trial paragraphs, each cut in two halves."""
    count = 0
    for title, para in cmrc_paragraphs("dev", "trial"):
        for i, part in enumerate(halves(para["context"]), start=1):
            if count >= wanted:
                return count
            write_article(folder / f"{para['id']}-{i}.txt", f"{title} ({i})", part)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        n = write_corpus(corpus, args.articles)
        settings = Settings.from_env(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        encoder = load_encoder(settings)
        started = time.perf_counter()
        full = build_index(settings, encoder, show_progress=sys.stderr.isatty())
        full_seconds = time.perf_counter() - started
        (corpus / "zz-new-article.txt").write_text(NEW_ARTICLE, encoding="utf-8")
        started = time.perf_counter()
        incremental = build_index(settings, encoder)
        incremental_seconds = time.perf_counter() - started
        killed_after, resumed, resumed_seconds = kill_and_resume(corpus, Path(tmp) / "killed", full_seconds)
    print(f"corpus: {n} articles from CMRC 2018 paragraphs, {full.chunks_total} chunks; model {encoder.name}")
    print("| build | seconds | articles embedded | chunks embedded | sentences embedded |")
    print("|---|---|---|---|---|")
    print(f"| full | {full_seconds:.1f} | {full.articles_added} | {full.chunks_embedded} | "
          f"{full.sentences_embedded} |")
    print(f"| incremental (+1 article) | {incremental_seconds:.1f} | "
          f"{incremental.articles_added + incremental.articles_changed} | {incremental.chunks_embedded} | "
          f"{incremental.sentences_embedded} |")
    print(f"incremental / full time = {incremental_seconds / full_seconds:.3f} "
          f"({incremental.articles_reused} articles reused)")
    embedded = resumed["chunks_embedded"] + resumed["sentences_embedded"]
    print(f"killed after {killed_after:.0f} s, then resumed: {resumed_seconds:.1f} s "
          f"({resumed_seconds / full_seconds:.2f} of a full build), {resumed['vectors_resumed']} vectors "
          f"taken from the killed build, {embedded} embedded")
    section = f"builds ({full.chunks_total} chunks)"
    results.add(section, "full build", full_seconds, "s")
    results.add(section, "incremental build, +1 article", incremental_seconds, "s",
                note=f"{incremental_seconds / full_seconds:.3f} of full")
    results.add(section, f"killed at {killed_after:.0f} s (SIGKILL), resumed build", resumed_seconds, "s",
                note=f"{resumed_seconds / full_seconds:.2f} of full; "
                     f"{resumed['vectors_resumed']} vectors resumed")


def kill_and_resume(corpus: Path, index_dir: Path, full_seconds: float) -> tuple[float, dict, float]:
    env = {**os.environ, "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index_dir)}
    cli = [sys.executable, "-m", "qa_service.cli", "index", "--json"]
    build = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    started = time.perf_counter()
    try:
        build.wait(timeout=full_seconds / 2)
        raise RuntimeError("the build finished before it could be killed")
    except subprocess.TimeoutExpired:
        os.killpg(build.pid, signal.SIGKILL)
        build.wait()
    killed_after = time.perf_counter() - started
    started = time.perf_counter()
    again = subprocess.run(cli, env=env, capture_output=True, text=True, check=True)
    return killed_after, json.loads(again.stdout), time.perf_counter() - started


if __name__ == "__main__":
    main()
