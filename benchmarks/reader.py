"""The reader alone: each question read with its gold paragraph (CMRC 2018 dev and trial,
XQuAD's Chinese questions and its English ones over the same Chinese paragraphs, test
half), scored by the official CMRC 2018 EM and F1 (benchmarks/cmrc_metric.py), beside
published reference points.

    python benchmarks/reader.py [--weights FILE] [--sets dev,trial,xquad,xquad-zh] [--limit N]

Questions as typed in a chat: ``--sets xquad-zh-unmarked,xquad-unmarked,xquad-zh-period,
xquad-period,xquad-zh-spaced`` (without the final question mark; with a full stop in its
place; with a space after every third character).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch loads OpenMP (models/threads.py)

from benchmarks.cmrc_metric import exact_match, f1  # noqa: E402
from benchmarks.corpora import cmrc_paragraphs, xquad_questions  # noqa: E402
from benchmarks.results import Results  # noqa: E402
from qa_service.answering import normalize_question  # noqa: E402
from qa_service.answering.reading import is_latin, reader_wording  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.models import (  # noqa: E402
    materialize_builtin_model,
    resolve_precision,
    resolve_threads,
    use_threads,
)
from qa_service.models.reader import load_reader  # noqa: E402

WEIGHTS = ROOT / "qa_service" / "models" / "reader.safetensors"
# Published CMRC 2018 dev EM / F1 (ymcui/Chinese-BERT-wwm), models 3-10x larger, GPU-trained.
REFERENCES = {"BERT-base Chinese": (65.5, 84.5), "RoBERTa-wwm-ext-large": (68.5, 88.4)}
BATCH = 16


def cmrc_pairs(name: str) -> list[tuple[str, str, list[str]]]:
    return [(qa["question"], para["context"], [a["text"] for a in qa["answers"]])
            for _, para in cmrc_paragraphs(name) for qa in para["qas"]]


def xquad_pairs(questions: str = "en") -> list[tuple[str, str, list[str]]]:
    """English (or the Chinese) questions over the Chinese paragraphs, Chinese gold
    answers, of XQuAD's test half (the train half teaches the reader English questions).
    Neither half is CMRC, so runs are compared here, not on dev."""
    if questions == "zh":
        return [(q.qa["question"], q.context, q.answers) for q in xquad_questions("test")]
    return [(q.english, q.context, q.answers) for q in xquad_questions("test") if q.english]


def unmarked(question: str) -> str:
    """The question as typed in a chat without its final mark."""
    return re.sub(r"[\s?？。.!！]+$", "", question)


def period(question: str) -> str:
    """The question ended with a full stop instead of its mark."""
    return unmarked(question) + ("." if is_latin(question) else "。")


def spaced(question: str) -> str:
    """The question with a space after every third character, as words spaced apart."""
    return " ".join(question[i : i + 3] for i in range(0, len(question), 3))


# Questions as people type them in a chat: what the service's normalising and wording
# (answering/) must make of them (README, "How answers are found").
TYPED = {"unmarked": unmarked, "period": period, "spaced": spaced}


def typed_pairs(name: str) -> list[tuple[str, str, list[str]]]:
    """``xquad-zh-unmarked``, ``xquad-spaced`` ...: XQuAD's test half with each question
    typed so, then normalised as the service normalises questions."""
    base, typing = name.rsplit("-", 1)
    pairs = xquad_pairs("zh") if base == "xquad-zh" else xquad_pairs()
    return [(normalize_question(TYPED[typing](q)), c, a) for q, c, a in pairs]


def evaluate(reader: object, pairs: list[tuple[str, str, list[str]]]) -> dict[str, float]:
    em = score = em_one = f1_one = 0.0
    started = time.perf_counter()
    for first in range(0, len(pairs), BATCH):
        part = pairs[first : first + BATCH]
        # Each question worded as the service reads it (answering/reading.py): a mark
        # added where it was typed without one (8 of CMRC dev's 3,219 questions).
        spans = reader.read_pairs([reader_wording(q) for q, _, _ in part],  # type: ignore[attr-defined]
                                  [c for _, c, _ in part])
        for (_, context, answers), span in zip(part, spans, strict=True):
            predicted = context[span.char_start : span.char_end] if span else ""
            em += exact_match(predicted, answers)
            score += f1(predicted, answers)
            # Against the first reference alone, as sets with one reference are scored
            # (CMRC trial): how much of a gap between sets the number of references makes.
            em_one += exact_match(predicted, answers[:1])
            f1_one += f1(predicted, answers[:1])
    seconds = time.perf_counter() - started
    n = len(pairs)
    return {"em": 100 * em / n, "f1": 100 * score / n, "em_one_reference": 100 * em_one / n,
            "f1_one_reference": 100 * f1_one / n, "n": n, "ms_per_pair": 1000 * seconds / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--sets", default="dev,trial,xquad,xquad-zh")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions of each set")
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    settings = Settings.from_env()
    threads = use_threads(resolve_threads(settings.torch_threads))
    reader = load_reader(materialize_builtin_model(settings.model_cache), args.weights,
                         resolve_precision(settings.precision))
    print(f"# reader {args.weights.name}: {args.weights.stat().st_size / 1e6:.1f} MB, "
          f"{reader.max_length}-token windows, {reader.precision}, {threads} threads")
    scores = {}
    for name in args.sets.split(","):
        pairs = (xquad_pairs("zh") if name == "xquad-zh" else xquad_pairs() if name == "xquad"
                 else typed_pairs(name) if name.rsplit("-", 1)[-1] in TYPED else cmrc_pairs(name))
        scores[name] = evaluate(reader, pairs[: args.limit])
        s = scores[name]
        print(f"{name}: EM {s['em']:.1f}, F1 {s['f1']:.1f} ({s['n']} questions, "
              f"{s['ms_per_pair']:.0f} ms each)")
        label = {"xquad": "XQuAD zh paragraphs (test half), English questions",
                 "xquad-zh": "XQuAD zh (test half), Chinese questions"}.get(name, f"CMRC 2018 {name}")
        if name.rsplit("-", 1)[-1] in TYPED:
            label = f"{name}: XQuAD's test half, questions typed {name.rsplit('-', 1)[-1]}"
        target = {"dev": "EM >= 60, F1 >= 80"}.get(name)
        met = s["em"] >= 60 and s["f1"] >= 80 if name == "dev" else None
        results.add("reader, gold paragraph", f"{label}: EM / F1", f"{s['em']:.1f} / {s['f1']:.1f}", "",
                    target, met, note=f"{s['n']} questions, {s['ms_per_pair']:.0f} ms per question")
    if "dev" in scores and "trial" in scores:
        dev, trial = scores["dev"], scores["trial"]
        gap = max(abs(dev["em"] - trial["em"]), abs(dev["f1"] - trial["f1"]))
        results.add("reader, gold paragraph", "trial within 5 points of dev", f"{gap:.1f} points", "",
                    "<= 5", gap <= 5)
    for name, (em, f) in REFERENCES.items():
        print(f"reference, CMRC 2018 dev: {name} EM {em}, F1 {f}")
        results.add("reader, gold paragraph", f"reference: {name}, CMRC 2018 dev", f"{em} / {f}", "",
                    note="published (ymcui/Chinese-BERT-wwm)")


if __name__ == "__main__":
    main()
