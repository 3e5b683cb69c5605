"""Encoder speed in fp32 and bf16, and how close index building comes to it.

Passages are ~250-character Chinese chunks made by the product's own chunking from CMRC
2018 dev paragraphs (read from ../shared). Measured, as medians over --runs:
- the bare encoder in each precision: passages/s at batch 32 on every core, and ms per
  single question (with all cores, and with one thread as each server request thread has);
- bf16 against fp32: cosine of the vectors, and dense Recall@1 / MRR@10 on CMRC dev
  (every paragraph's chunks, every question) in the same run: the no-loss check;
- `build_index` on the same paragraphs against the bare encoder on exactly the texts it
  embeds (chunks and sentences), runs interleaved: the pipeline's share of the rate;
- a pyinstrument profile of single questions: where the time per question goes.

    python benchmarks/encoding.py [--paragraphs 80] [--runs 3] [--retrieval-paragraphs N]
                                  [--profile FILE] [--results FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch, faiss or scikit-learn load OpenMP (models/threads.py)

from benchmarks.corpora import load_cmrc, write_paragraphs  # noqa: E402
from benchmarks.results import Results, median  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.corpus import chunk_article, embedding_text, read_corpus, sentence_units  # noqa: E402
from qa_service.index import build_index  # noqa: E402
from qa_service.models import Encoder, SentenceTransformerEncoder, resolve_precision  # noqa: E402


def write_corpus(folder: Path, paragraphs: int) -> list[tuple[str, str]]:
    """The first CMRC dev paragraphs as corpus files; returns (question, paragraph id) pairs."""
    texts, questions = load_cmrc("dev", paragraphs)
    write_paragraphs(folder, texts)
    return [(q["question"], q["paragraph"]) for q in questions]


def chunks_of(corpus_dir: Path, settings: Settings) -> tuple[list[str], list[str], list[str]]:
    """Chunk texts as embedded, their paragraph ids, and the sentence texts."""
    articles = read_corpus(corpus_dir).articles
    chunk_texts, owners, sentence_texts = [], [], []
    for a in articles:
        for c in chunk_article(a, settings.chunking):
            chunk_texts.append(embedding_text(a.title, c.text))
            owners.append(Path(a.source).stem)
        sentence_texts += [a.text[s:e] for s, e, _ in sentence_units(a, settings.chunking.max_chars)]
    return chunk_texts, owners, sentence_texts


def single_question_ms(encoder: Encoder, questions: list[str], threads: int) -> float:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    timings = []
    for q in questions:
        started = time.perf_counter()
        encoder.encode_queries([q])
        timings.append((time.perf_counter() - started) * 1000)
    torch.set_num_threads(before)
    return median(timings)


def dense_quality(chunks: np.ndarray, owners: list[str], queries: np.ndarray,
                  gold: list[str]) -> tuple[float, float]:
    """Paragraph-level Recall@1 and MRR@10 of exact dense search."""
    order = np.argsort(-(queries @ chunks.T), axis=1)[:, :40]
    hits, reciprocal = 0, 0.0
    for row, want in zip(order, gold, strict=True):
        ranked = list(dict.fromkeys(owners[i] for i in row))[:10]
        hits += ranked[:1] == [want]
        reciprocal += 1 / (ranked.index(want) + 1) if want in ranked else 0.0
    return hits / len(gold), reciprocal / len(gold)


def profile_questions(encoder: Encoder, questions: list[str], path: Path | None) -> list[tuple[str, float]]:
    """Where single questions spend their time at one thread: self time by function."""
    import torch
    from pyinstrument import Profiler

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    profiler = Profiler(interval=0.0005)
    with profiler:
        for q in questions:
            encoder.encode_queries([q])
    torch.set_num_threads(before)
    if path:
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=True), encoding="utf-8")
    session = profiler.last_session
    root = session.root_frame() if session else None
    selves: dict[str, float] = {}
    stack = [root] if root else []
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if not frame.children or frame.function == "[self]":
            caller = frame.parent.function if frame.function == "[self]" and frame.parent else frame.function
            where = f"{caller} ({frame.parent.file_path_short if frame.parent else ''})"
            selves[where] = selves.get(where, 0.0) + frame.total_self_time
    total = sum(selves.values()) or 1.0
    return sorted(((k, v / total) for k, v in selves.items()), key=lambda kv: -kv[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=80)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--retrieval-paragraphs", type=int, default=0, help="0: all of CMRC dev")
    parser.add_argument("--profile", type=Path, default=None, help="write the full profile here")
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)

    import torch

    settings = Settings.from_env()
    chosen = resolve_precision(settings.precision)
    encoders = {p: SentenceTransformerEncoder(settings.model, settings.model_cache, precision=p)
                for p in ("fp32", "bf16")}
    threads = torch.get_num_threads()
    section = "encoder"

    with tempfile.TemporaryDirectory() as tmp:
        # The no-loss check first: bf16 against fp32 on CMRC dev, dense search.
        all_dir = Path(tmp) / "dev"
        pairs = write_corpus(all_dir, args.retrieval_paragraphs or 10**9)
        dev_chunks, dev_owners, _ = chunks_of(all_dir, settings)
        questions = [q for q, _ in pairs]
        vectors = {p: (e.encode_passages(dev_chunks, batch_size=settings.batch_size),
                       e.encode_queries(questions)) for p, e in encoders.items()}
        cosines = np.concatenate([(vectors["fp32"][i] * vectors["bf16"][i]).sum(axis=1) for i in (0, 1)])
        quality = {p: dense_quality(c, dev_owners, q, [g for _, g in pairs]) for p, (c, q) in vectors.items()}
        print(f"## bf16 against fp32 on CMRC dev: {len(dev_chunks)} chunks, {len(questions)} questions")
        print(f"cosine min {cosines.min():.5f}, median {np.median(cosines):.6f}")
        for p, (r1, mrr) in quality.items():
            print(f"{p}: dense Recall@1 {r1:.4f}, MRR@10 {mrr:.4f}")
        results.add(section, f"bf16 vs fp32 cosine, min over {len(cosines)} texts", float(cosines.min()),
                    "", ">= 0.995", bool(cosines.min() >= 0.995))
        loss = quality["fp32"][0] - quality["bf16"][0]
        results.add(section, "dense Recall@1 on CMRC dev, fp32 / bf16",
                    f"{quality['fp32'][0]:.4f} / {quality['bf16'][0]:.4f}", "", "no loss", loss <= 0.002,
                    note=f"MRR@10 {quality['fp32'][1]:.4f} / {quality['bf16'][1]:.4f}")

        corpus_dir = Path(tmp) / "corpus"
        sample = [q for q, _ in write_corpus(corpus_dir, args.paragraphs)][:60]
        # Sentences too, so that the build embeds exactly the texts the bare encoder does.
        build_settings = Settings.from_env(corpus_dir=corpus_dir, index_dir=Path(tmp) / "index",
                                           sentence_vectors="yes")
        chunk_texts, _, sentence_texts = chunks_of(corpus_dir, build_settings)

        print(f"\n## encoder ({settings.model}, {threads} threads, batch {settings.batch_size}), "
              f"{len(chunk_texts)} chunks of {sum(map(len, chunk_texts)) / len(chunk_texts):.0f} "
              f"characters, {len(sentence_texts)} sentences, {args.runs} runs")
        print("| precision | passages/s (runs) | one question, 2 / 1 thread(s) |")
        print("|---|---|---|")
        rates: dict[str, float] = {}
        for precision, encoder in encoders.items():
            encoder.encode_passages(chunk_texts[:64])  # warm up
            runs = []
            for _ in range(args.runs):
                started = time.perf_counter()
                encoder.encode_passages(chunk_texts, batch_size=settings.batch_size)
                runs.append(len(chunk_texts) / (time.perf_counter() - started))
            rates[precision] = median(runs)
            single = {n: single_question_ms(encoder, sample, n) for n in sorted({threads, 1}, reverse=True)}
            print(f"| {precision} | {rates[precision]:.1f} ({', '.join(f'{r:.1f}' for r in runs)}) | "
                  f"{' / '.join(f'{ms:.1f} ms' for ms in single.values())} |")
            mark = " (served)" if precision == chosen else ""
            results.add(section, f"{precision}{mark}: bare encoder, batch 32, {threads} threads",
                        rates[precision], "passages/s", "~16 (issue, fp32)")
            for n_threads, ms in single.items():
                results.add(section, f"{precision}{mark}: one question, {n_threads} thread(s)", ms, "ms",
                            "~15 (issue, fp32)")
        results.add(section, "bf16 / fp32 passages/s", rates["bf16"] / rates["fp32"], "x")

        # The build pipeline against the bare encoder it uses, on the same texts.
        encoder = encoders[chosen]
        bare_times, build_times = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            encoder.encode_passages(chunk_texts, batch_size=settings.batch_size)
            encoder.encode_passages(sentence_texts, batch_size=settings.batch_size)
            bare_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            build_index(build_settings, encoder, full=True)
            build_times.append(time.perf_counter() - started)
        shares = [b / t for b, t in zip(bare_times, build_times, strict=True)]
        share = median(shares)
        print(f"\nbuild_index vs bare encoder ({chosen}): bare {median(bare_times):.1f} s, build "
              f"{median(build_times):.1f} s, ratio {share:.3f} ({', '.join(f'{s:.3f}' for s in shares)})")
        texts = len(chunk_texts) + len(sentence_texts)
        results.add(section, f"index build rate / bare encoder rate ({chosen}, {texts} texts)", share, "",
                    ">= 0.90", share >= 0.90)

        shares_by_function = profile_questions(encoder, sample, args.profile)
        print(f"\n## pyinstrument: {len(sample)} single questions, 1 thread, {chosen}, self time")
        for where, part in shares_by_function[:8]:
            print(f"{part:6.1%}  {where}")
        top = ", ".join(f"{w.split(' ')[0]} {p:.0%}" for w, p in shares_by_function[:3])
        results.add(section, "profile of one question (pyinstrument, self time)", top, "")


if __name__ == "__main__":
    main()
