"""Answers shaped like their questions, on our own questions over the seed bulletins and
some policies.

benchmarks/shaped_questions.jsonl holds 132 questions written from the text: 120 over the
seed bulletins, at least 15 of each shape (factoid, explanation, list, parts, yes_no,
summary, about_article), and 12 over the policies of ../shared/datasets/gov-policy-qa
(``corpus: policy``, asked of benchmarks/policy.py's index). Each has the parts its
answer must show (``expect``: verbatim pieces of the text), and where it applies the
verdict (yes_no), the article (summary, about_article), what is asked of it (authors,
date) and the date.

A question is **fully answered** when:
- it is found, and every expected piece stands in the answer shown (its parts, or the
  span of a factoid);
- nothing that is not the answer is shown as one: every part of a list, several-part or
  byline answer holds an expected piece (no extra item); a factoid's span is at most
  twice as long as the expected one plus 4 characters; an explanation or a yes/no
  evidence is one part;
- yes_no: the verdict is the expected one (是 / 否 only where the text says so);
- summary and about_article: every part is of the expected article, and a date asked
  for is the article's date.

Also reported: how often the question's shape was read as written, and ask's p50/p95
over these questions (in process, one question at a time).

    python benchmarks/shapes.py [--corpus DIR] [--index-cache DIR] [--results FILE] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch loads OpenMP (models/threads.py)

from benchmarks.policy import build_or_reuse  # noqa: E402
from benchmarks.results import Results, percentile  # noqa: E402
from qa_service.answering import Retriever, load_configured_reader  # noqa: E402
from qa_service.answering.shape import SHAPES  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.index import build_index, load_index  # noqa: E402
from qa_service.models import QUESTION_THREADS, load_encoder, use_threads  # noqa: E402

QUESTIONS = ROOT / "benchmarks" / "shaped_questions.jsonl"
SECTION = "answer shapes (own questions)"
GOAL = 0.85


def shown_parts(answer: dict) -> list[str]:
    parts = [p["text"] for p in answer.get("parts") or []]
    return parts or [answer["text"]]


def judge(q: dict, result: dict) -> str | None:
    """Why the question is not fully answered, or None where it is."""
    answer = result.get("answer")
    if not result["found"] or answer is None:
        return "not found"
    if q.get("about") == "date":  # the article's own date field answers: no parts
        title, date = (answer.get("article") or {}).get("title"), (answer.get("article") or {}).get("date")
        return None if (title, date, answer.get("about")) == (q["article"], q["date"], "date") else \
            f"answered {answer.get('about')} of {title} ({date})"
    parts = shown_parts(answer)
    missing = [e for e in q["expect"] if not any(e in p for p in parts)]
    if missing:
        return f"missing {missing}"
    shape = q["shape"]
    if shape in ("list", "parts", "about_article"):
        extra = [p for p in parts if not any(e in p for e in q["expect"])]
        if extra:
            return f"extra parts {[p[:30] for p in extra]}"
    if shape == "factoid" and len(parts[0]) > 2 * len(q["expect"][0]) + 4:
        return f"span too long: {parts[0][:40]}"
    if shape in ("explanation", "yes_no") and len(parts) != 1:
        return f"{len(parts)} parts"
    if shape == "yes_no" and answer.get("verdict") != q["verdict"]:
        return f"verdict {answer.get('verdict')} (expected {q['verdict']})"
    if shape in ("summary", "about_article"):
        titles = {(p.get("article") or {}).get("title") for p in answer.get("parts") or []}
        titles.add((answer.get("article") or {}).get("title"))
        if titles != {q["article"]}:
            return f"other articles {titles - {q['article']}}"
        if q.get("about") and answer.get("about") != q["about"]:
            return f"answered {answer.get('about')} (asked {q['about']})"
        if q.get("date") and (answer.get("article") or {}).get("date") != q["date"]:
            return f"date {(answer.get('article') or {}).get('date')}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "bulletins")
    parser.add_argument("--index-cache", type=Path, default=Path.home() / ".cache" / "qa-service" / "bench",
                        help="benchmarks/policy.py's cache: the policies' index")
    parser.add_argument("--results", default=None)
    parser.add_argument("--verbose", action="store_true", help="print every question not fully answered")
    args = parser.parse_args()
    results = Results(args.results)
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line) for line in lines if line.strip()]
    settings = Settings.from_env()
    encoder = load_encoder(settings)
    reader, reader_settings = load_configured_reader(settings.reader_weights, settings.model_cache,
                                                     settings.precision, settings.torch_threads)
    policy_index, policy_build = build_or_reuse(args.index_cache, settings)
    print(f"policy index: {policy_build}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        build = build_index(Settings.from_env(corpus_dir=args.corpus, index_dir=index_dir), encoder)
        folders = {"bulletins": index_dir, "policy": policy_index}
        retrievers = {corpus: Retriever(load_index(folder), encoder, reader=reader,
                                        reader_settings=reader_settings)
                      for corpus, folder in folders.items()}
        use_threads(settings.torch_threads or QUESTION_THREADS)
        for retriever in retrievers.values():
            retriever.ask("藁城区完成了多少户厕所改造？")  # warm-up: the first question loads lazily
        full: dict[str, list[bool]] = defaultdict(list)
        read_as: dict[str, list[bool]] = defaultdict(list)
        took: list[float] = []
        for q in questions:
            started = time.perf_counter()
            result = retrievers[q.get("corpus", "bulletins")].ask(q["question"])
            took.append((time.perf_counter() - started) * 1000)
            problem = judge(q, result)
            full[q["shape"]].append(problem is None)
            read_as[q["shape"]].append(result["shape"]["kind"] == q["shape"])
            if problem and args.verbose:
                print(f"  ✗ [{q['shape']}] {q['question']}: {problem} (read as {result['shape']['kind']})")
    print(f"bulletin index: {build.articles} articles, {build.chunks_total} chunks, "
          f"notes made in {build.notes_seconds:.2f} s of {build.seconds:.1f} s")
    for shape in SHAPES:
        if shape not in full:
            continue
        share = sum(full[shape]) / len(full[shape])
        results.add(SECTION, f"`{shape}` fully answered", share, target=f"≥ {GOAL:.0%}", met=share >= GOAL,
                    note=f"{sum(full[shape])}/{len(full[shape])}; shape read right "
                         f"{sum(read_as[shape])}/{len(read_as[shape])}")
        print(f"{shape}: {sum(full[shape])}/{len(full[shape])} fully answered ({share:.0%}), "
              f"shape read right {sum(read_as[shape])}/{len(read_as[shape])}", flush=True)
    total = sum(sum(v) for v in full.values())
    results.add(SECTION, "all questions fully answered", f"{total}/{len(questions)}")
    results.add(SECTION, "ask p50 / p95", f"{percentile(took, 0.5):.0f} / {percentile(took, 0.95):.0f}", "ms",
                target="≤ 120 / ≤ 350", met=percentile(took, 0.5) <= 120 and percentile(took, 0.95) <= 350)
    print(f"all: {total}/{len(questions)}; ask p50 {percentile(took, 0.5):.0f} ms, "
          f"p95 {percentile(took, 0.95):.0f} ms")


if __name__ == "__main__":
    main()
