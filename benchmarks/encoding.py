"""Encoder speed, and how close index building comes to it on the same texts.

Passages are ~250-character Chinese chunks made by the product's own chunking from CMRC
2018 dev paragraphs (read from ../shared). Measured, as medians over --runs:
- the bare encoder: passages/s at batch 32 on every core, and ms per single question
  (with all cores, and with one thread as each server request thread has);
- `build_index` on the same paragraphs against the bare encoder on exactly the texts it
  embeds (chunks and sentences), runs interleaved: the pipeline's share of the rate.

    python benchmarks/encoding.py [--paragraphs 80] [--runs 3] [--results FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import Results, median  # noqa: E402
from qa_service.chunking import chunk_article, embedding_text, sentence_units  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.encoder import load_encoder  # noqa: E402
from qa_service.index_build import build_index  # noqa: E402
from qa_service.ingest import read_corpus  # noqa: E402

DEV = ROOT.parent / "shared" / "datasets" / "cmrc2018" / "cmrc2018_dev.json"


def write_corpus(folder: Path, paragraphs: int) -> list[str]:
    """CMRC dev paragraphs as corpus files; returns questions about them."""
    folder.mkdir(parents=True)
    questions = []
    data = json.loads(DEV.read_text(encoding="utf-8"))["data"]
    count = 0
    for item in data:
        for para in item["paragraphs"]:
            if count == paragraphs:
                return questions
            title = item["title"].replace("\n", " ")
            (folder / f"{para['id']}.txt").write_text(f"---\ntitle: {title}\n---\n{para['context']}\n",
                                                      encoding="utf-8")
            questions += [qa["question"] for qa in para["qas"]]
            count += 1
    return questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=80)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        corpus_dir = Path(tmp) / "corpus"
        questions = write_corpus(corpus_dir, args.paragraphs)[:60]
        settings = Settings.from_env(corpus_dir=corpus_dir, index_dir=Path(tmp) / "index")
        encoder = load_encoder(settings.model, settings.model_cache)
        articles = read_corpus(corpus_dir).articles
        chunk_texts = [embedding_text(a.title, c.text)
                       for a in articles for c in chunk_article(a, settings.chunking)]
        sentence_texts = [a.text[s:e]
                          for a in articles for s, e, _ in sentence_units(a, settings.chunking.max_chars)]
        threads = torch.get_num_threads()
        encoder.encode_passages(chunk_texts[:64])  # warm up

        rates, bare_times, build_times = [], [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            encoder.encode_passages(chunk_texts, batch_size=settings.batch_size)
            chunk_seconds = time.perf_counter() - started
            rates.append(len(chunk_texts) / chunk_seconds)
            started = time.perf_counter()
            encoder.encode_passages(sentence_texts, batch_size=settings.batch_size)
            bare_times.append(chunk_seconds + time.perf_counter() - started)
            started = time.perf_counter()
            build_index(settings, encoder, full=True)
            build_times.append(time.perf_counter() - started)

        single = {}
        for n_threads in sorted({threads, 1}, reverse=True):
            torch.set_num_threads(n_threads)
            timings = []
            for q in questions:
                started = time.perf_counter()
                encoder.encode_queries([q])
                timings.append((time.perf_counter() - started) * 1000)
            single[n_threads] = median(timings)
        torch.set_num_threads(threads)

    rate = median(rates)
    shares = [b / t for b, t in zip(bare_times, build_times, strict=True)]
    share = median(shares)
    mean_chars = sum(map(len, chunk_texts)) / len(chunk_texts)
    texts = len(chunk_texts) + len(sentence_texts)
    print(f"## encoder ({encoder.name}, fp32 torch, {threads} threads, batch {settings.batch_size}), "
          f"{len(chunk_texts)} chunks of {mean_chars:.0f} characters, {len(sentence_texts)} sentences, "
          f"{args.runs} runs")
    print("| measure | median | runs |")
    print("|---|---|---|")
    print(f"| bare encoder, chunks | {rate:.1f} passages/s | {', '.join(f'{r:.1f}' for r in rates)} |")
    for n_threads, ms in single.items():
        print(f"| one question, {n_threads} thread(s) | {ms:.1f} ms | |")
    print(f"| bare encoder, chunks + sentences | {median(bare_times):.1f} s | "
          f"{', '.join(f'{t:.1f}' for t in bare_times)} |")
    print(f"| build_index, same texts | {median(build_times):.1f} s | "
          f"{', '.join(f'{t:.1f}' for t in build_times)} |")
    print(f"| build rate / bare encoder rate | {share:.3f} | {', '.join(f'{s:.3f}' for s in shares)} |")

    section = "encoder"
    results.add(section, f"bare encoder, ~{mean_chars:.0f}-char chunks, batch 32, {threads} threads",
                rate, "passages/s", "~16 (issue)")
    for n_threads, ms in single.items():
        results.add(section, f"one question, {n_threads} thread(s)", ms, "ms", "~15 (issue)")
    results.add(section, f"index build rate / bare encoder rate ({texts} texts)", share, "",
                ">= 0.90", share >= 0.90)


if __name__ == "__main__":
    main()
