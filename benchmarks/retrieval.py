"""Retrieval and answer quality: CMRC 2018 dev and trial, and the bulletin questions.

CMRC: each paragraph becomes one corpus file (its title as front matter), indexed with
the product's own ingestion, chunking, encoder and index; every question is asked
through the product's Retriever in each mode. Reported side by side: paragraph-level
Recall@1/5/10 and MRR@10, answer-in-top-5, AnswerSentence@1 and answer in the top-3
highlights, with two baselines for the answer sentence, and query times. Not found:
each question is asked once with its paragraph (answerable) and once with that paragraph's
chunks taken out of the search (unanswerable); on dev the evidence weights (a logistic
regression), the curves of each measure and the thresholds keeping 95% of answerable
questions (all stored with --write-calibration), on dev and trial
how the stored thresholds do. Bulletins: answer at 1 and in the top 3, not-found accuracy,
each miss by name, and how separable the two groups are at all (the most answerable
questions any one threshold keeps while rejecting every unanswerable one). Datasets are
read from ../shared.

    python benchmarks/retrieval.py [--datasets dev,trial,bulletins] [--limit N]
                                   [--index-cache DIR] [--write-calibration]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch, faiss or scikit-learn load OpenMP (models/threads.py)

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from benchmarks.corpora import load_cmrc, write_paragraphs  # noqa: E402
from benchmarks.results import Results  # noqa: E402
from qa_service.answering import (  # noqa: E402
    MODES,
    Hit,
    Outcome,
    QuestionError,
    Retriever,
    evidence_of,
    normalize_question,
)
from qa_service.config import Settings  # noqa: E402
from qa_service.corpus import split_sentences  # noqa: E402
from qa_service.index import build_index, load_index, tokenize  # noqa: E402
from qa_service.models import CALIBRATION_FILE, Encoder, load_encoder  # noqa: E402

BULLETIN_QUESTIONS = ROOT / "benchmarks" / "bulletin_questions.jsonl"
TARGET_KEEP_ANSWERABLE = 0.95


def build_or_reuse(name: str, paragraphs: dict[str, tuple[str, str]], encoder: Encoder,
                   cache: Path) -> tuple[Retriever, str]:
    corpus, index_dir = cache / f"{name}-corpus", cache / f"{name}-index"
    if not (index_dir / "CURRENT").exists():
        write_paragraphs(corpus, paragraphs)
        # With sentence vectors: the answer sentence (no reader) is measured here too.
        settings = Settings.from_env(corpus_dir=corpus, index_dir=index_dir, sentence_vectors="yes")
        summary = build_index(settings, encoder, show_progress=sys.stderr.isatty())
        build = (f"build: {summary.chunks_total} chunks in {summary.seconds:.1f}s "
                 f"({summary.embed_seconds:.1f}s embedding chunks and sentences)")
    else:
        build = f"build: reused {index_dir}"
    return Retriever(load_index(index_dir), encoder), build


def ranked_paragraphs(hits: list[Hit]) -> list[str]:
    ranked: list[str] = []
    for hit in hits:
        pid = Path(hit.chunk.source).stem
        if pid not in ranked:
            ranked.append(pid)
    return ranked


def baseline_sentences(question: str, hit: Hit) -> tuple[str, str]:
    """(first sentence, sentence sharing most character bigrams) of the top passage."""
    text = hit.chunk.text
    sentences = [text[a:b] for a, b in split_sentences(text)] or [text]
    q = {t for t in tokenize(question) if len(t) == 2}
    shared = max(sentences, key=lambda s: len(q & {t for t in tokenize(s) if len(t) == 2}))
    return sentences[0], shared


def contains(text: str | None, answers: list[str]) -> bool:
    return bool(text) and any(a in text for a in answers)  # type: ignore[operator]


def chunks_by_paragraph(retriever: Retriever) -> dict[str, list[int]]:
    """CMRC paragraph id (its file's name) -> the ids of its chunks."""
    store = retriever.index.store
    found: dict[str, list[int]] = {}
    for chunk_id, chunk in store.get_chunks([row[0] for row in store.chunk_spans()]).items():
        found.setdefault(Path(chunk.source).stem, []).append(chunk_id)
    return found


def evaluate_cmrc(retriever: Retriever, questions: list[dict], calibrate: bool) -> dict:
    stats: dict[str, dict[str, list[float]]] = {m: {} for m in MODES}
    answerable: list[Features] = []
    unanswerable: list[Features] = []

    def add(mode: str, key: str, value: float) -> None:
        stats[mode].setdefault(key, []).append(value)

    own_chunks = chunks_by_paragraph(retriever)
    skipped = 0
    for q in questions:
        try:
            query = normalize_question(q["question"])
        except QuestionError:
            skipped += 1  # the dataset has a few empty questions
            continue
        started = time.perf_counter()
        vector = retriever.encoder.encode_queries([query])[0]
        encode_ms = (time.perf_counter() - started) * 1000
        for mode in MODES:
            started = time.perf_counter()
            outcome = retriever.run(query, mode, vector=vector)
            add(mode, "ms", encode_ms + (time.perf_counter() - started) * 1000)
            ranked = ranked_paragraphs(outcome.hits)
            for k in (1, 5, 10):
                add(mode, f"recall@{k}", q["paragraph"] in ranked[:k])
            rank = ranked.index(q["paragraph"]) + 1 if q["paragraph"] in ranked[:10] else 0
            add(mode, "mrr@10", 1 / rank if rank else 0.0)
            top5 = "".join(h.chunk.text for h in outcome.hits[:5])
            add(mode, "answer_in_top5", contains(top5, q["answers"]))
            add(mode, "answer_sentence@1", contains(outcome.answer.text if outcome.answer else None,
                                                    q["answers"]))
            add(mode, "answer_in_top3_highlights",
                any(contains(s.text if s else None, q["answers"]) for s in outcome.best[:3]))
            if outcome.hits:
                first, shared = baseline_sentences(query, outcome.hits[0])
                add(mode, "baseline_first_sentence", contains(first, q["answers"]))
                add(mode, "baseline_shared_bigrams", contains(shared, q["answers"]))
            if mode == "hybrid" and calibrate:
                answerable.append(features(outcome))
                removed = retriever.run(query, mode, vector=vector, exclude=own_chunks[q["paragraph"]])
                unanswerable.append(features(removed))
    result: dict = {mode: {k: float(np.mean(v)) for k, v in values.items() if k != "ms"}
                    for mode, values in stats.items()}
    for mode in MODES:
        result[mode]["ms_p50"] = statistics.median(stats[mode]["ms"])
    result["skipped_questions"] = skipped
    if calibrate:
        result["calibration"] = {"answerable": answerable, "unanswerable": unanswerable}
    return result


def print_modes(title: str, build: str, n_paragraphs: int, n_questions: int, result: dict) -> None:
    skipped = result["skipped_questions"]
    print(f"\n## {title}: {n_paragraphs} paragraphs, {n_questions - skipped} questions "
          f"({skipped} empty ones skipped); {build}")
    print("| mode | Recall@1 | Recall@5 | Recall@10 | MRR@10 | answer in top-5 | AnswerSentence@1 "
          "| answer in top-3 highlights | query p50 ms (incl. encode) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for mode in MODES:
        m = result[mode]
        print(f"| {mode} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | "
              f"{m['mrr@10']:.3f} | {m['answer_in_top5']:.3f} | {m['answer_sentence@1']:.3f} | "
              f"{m['answer_in_top3_highlights']:.3f} | {m['ms_p50']:.1f} |")
    h = result["hybrid"]
    print(f"answer-sentence baselines on the hybrid top passage: first sentence "
          f"{h['baseline_first_sentence']:.3f}, most shared character bigrams "
          f"{h['baseline_shared_bigrams']:.3f}; ours {h['answer_sentence@1']:.3f}")


# What a not-found decision can be made on, per question: the answer's cosine, its
# margin over the background, and the hybrid ranking's top score and lead.
Features = tuple[float, float | None, float | None, float | None]
MEASURES = {"confidence": "best answer-sentence cosine",
            "margin": "that cosine minus the mean cosine of passages 6-30",
            "evidence": "the margin plus weighted top fused score and lead (served)"}
WEIGHTED_TERMS = ("top_score", "top_lead")


def features(outcome: Outcome) -> Features:
    return outcome.confidence, outcome.margin, outcome.top_score, outcome.top_lead


def measure_of(row: Features, measure: str, weights: dict[str, float]) -> float | None:
    confidence, margin, top_score, top_lead = row
    if measure == "confidence":
        return confidence
    if measure == "margin":
        return margin
    return evidence_of(margin, top_score, top_lead, weights)  # the product's own formula


def curve_arrays(curve: dict, measure: str, weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    def values(rows: list[Features]) -> np.ndarray:
        found = (measure_of(row, measure, weights) for row in rows)
        return np.array([v for v in found if v is not None])
    return values(curve["answerable"]), values(curve["unanswerable"])


def fit_evidence_weights(curve: dict) -> dict[str, float]:
    """Logistic regression of answerable vs unanswerable on (margin, top score, lead),
    rescaled so the margin's weight is 1: the evidence stays in cosine units."""
    rows = [(row, label) for label, key in ((1, "answerable"), (0, "unanswerable")) for row in curve[key]
            if None not in row]
    x = np.array([row[1:] for row, _ in rows], dtype=np.float64)
    y = np.array([label for _, label in rows])
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    raw = model[-1].coef_[0] / model[0].scale_
    return {term: round(float(weight / raw[0]), 4)
            for term, weight in zip(WEIGHTED_TERMS, raw[1:], strict=True)}


def print_calibration(curve: dict, weights: dict[str, float]) -> dict[str, float]:
    """The not-found curve of each measure and the threshold keeping 95% of answerable ones."""
    chosen: dict[str, float] = {}
    print(f"\nevidence weights fitted on this set: {weights}")
    for measure, meaning in MEASURES.items():
        pos, neg = curve_arrays(curve, measure, weights)
        print(f"\nnot-found curve (hybrid), {measure} = {meaning}:")
        print("| threshold | answerable kept | unanswerable rejected |")
        print("|---|---|---|")
        for t in np.quantile(np.concatenate([pos, neg]), np.linspace(0.05, 0.95, 10)):
            print(f"| {t:.4f} | {(pos >= t).mean():.3f} | {(neg < t).mean():.3f} |")
        auc = float((pos[:, None] > neg[None, :]).mean())
        chosen[measure] = float(np.quantile(pos, 1 - TARGET_KEEP_ANSWERABLE))
        t = chosen[measure]
        print(f"chosen: {t:.4f} keeps {(pos >= t).mean():.3f} of answerable questions and rejects "
              f"{(neg < t).mean():.3f} of unanswerable ones (AUC {auc:.3f})")
    return chosen


def check_calibration(curve: dict, name: str, results: Results) -> None:
    """The thresholds chosen on dev, applied to another set: do they still keep 95%?"""
    calibration = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    stored = calibration.get(Settings.from_env().model) or calibration["default"]
    weights = stored.get("evidence_weights", {})
    for measure, key in (("confidence", "min_confidence"), ("evidence", "min_evidence")):
        if stored.get(key) is None:
            continue
        pos, neg = curve_arrays(curve, measure, weights)
        kept, rejected = float((pos >= stored[key]).mean()), float((neg < stored[key]).mean())
        served = " (served)" if measure == "evidence" else ""
        print(f"{name}, stored {key} {stored[key]:.4f}: keeps {kept:.3f} of answerable, "
              f"rejects {rejected:.3f} of unanswerable")
        results.add(f"not found, CMRC {name}", f"{measure}{served} >= {stored[key]:.4f}: answerable kept / "
                    "unanswerable rejected", f"{kept:.3f} / {rejected:.3f}")


def separability(answerable: list[float], unanswerable: list[float]) -> tuple[float, float] | None:
    """(highest unanswerable score, share of answerable above it): the best any single
    threshold on this measure can keep while still rejecting every unanswerable question."""
    if not answerable or not unanswerable:
        return None
    highest = max(unanswerable)
    return highest, float(np.mean(np.asarray(answerable) > highest))


def evaluate_bulletins(encoder: Encoder, cache: Path, results: Results) -> None:
    index_dir = cache / "bulletins-index"
    build_index(Settings.from_env(corpus_dir=ROOT / "corpus", index_dir=index_dir, sentence_vectors="yes"),
                encoder)
    retriever = Retriever(load_index(index_dir), encoder)
    rows = [json.loads(line) for line in BULLETIN_QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    at1 = top3 = answerable = not_found_ok = unanswerable = kept = 0
    followups = followups_ok = 0
    latencies = []
    misses = []
    # Each measure's values for answerable (True) and unanswerable (False) questions.
    scores: dict[str, dict[bool, list[float]]] = {
        measure: {True: [], False: []} for measure in ("evidence", "confidence")}
    for row in rows:
        result = retriever.ask(row["question"], top_k=5, history=row.get("history"))
        latencies.append(result["took_ms"])
        expected = row["answer"]
        for measure in ("confidence", "evidence"):
            if result[measure] is not None:
                scores[measure][expected is not None].append(result[measure])
        if expected is None:
            unanswerable += 1
            not_found_ok += not result["found"]
            if result["found"]:
                misses.append(f"  found an answer for an unanswerable question: {row['question']}")
            continue
        answerable += 1
        texts = [p["text"] for p in result["passages"]]
        hit1 = bool(texts) and expected in texts[0]
        at1 += hit1
        top3 += any(expected in t for t in texts[:3])
        kept += result["found"]
        if row.get("history"):
            followups += 1
            followups_ok += hit1
        if not any(expected in t for t in texts[:3]):
            misses.append(f"  not in top 3: {row['question']} (expected {expected})")
        elif not hit1:
            misses.append(f"  not at 1: {row['question']} (expected {expected})")
        if not result["found"]:
            misses.append(f"  answerable but not found: {row['question']}")
    print(f"\n## bulletin questions ({BULLETIN_QUESTIONS.name}): {len(rows)} questions, "
          f"{answerable} answerable, {unanswerable} without an answer in the corpus")
    print("| answer at 1 | answer in top 3 | answerable kept found | unanswerable rejected "
          "| follow-ups at 1 | p50 ms |")
    print("|---|---|---|---|---|---|")
    print(f"| {at1 / answerable:.3f} | {top3 / answerable:.3f} | {kept / answerable:.3f} | "
          f"{not_found_ok / max(unanswerable, 1):.3f} | {followups_ok}/{followups} | "
          f"{statistics.median(latencies):.1f} |")
    print("\n".join(misses))
    section = "bulletin questions"
    for measure, values in scores.items():
        separable = separability(values[True], values[False])
        if separable is None:
            continue
        print(f"separability: rejecting every unanswerable question needs {measure} > {separable[0]:.4f}, "
              f"which keeps {separable[1]:.3f} of answerable ones (the best any {measure} threshold can do)")
        results.add(section, f"answerable kept by the best {measure} threshold rejecting all unanswerable",
                    separable[1], "", note=f"{measure} > {separable[0]:.4f}")
    for name, value, target, goal in (
            ("answer at 1", at1 / answerable, ">= 0.90", 0.90),
            ("answer in top 3", top3 / answerable, ">= 0.97", 0.97),
            ("answerable kept found", kept / answerable, ">= 0.95", 0.95),
            ("unanswerable rejected", not_found_ok / max(unanswerable, 1), "1.0", 1.0)):
        results.add(section, name, value, "", target, value >= goal)
    results.add(section, "follow-ups at 1", f"{followups_ok}/{followups}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="dev,trial,bulletins")
    parser.add_argument("--limit", type=int, default=None, help="only the first N CMRC paragraphs")
    parser.add_argument("--index-cache", type=Path, default=None,
                        help="keep built CMRC indexes here and reuse them on the next run")
    parser.add_argument("--write-calibration", action="store_true",
                        help="store the chosen not-found threshold for this model")
    parser.add_argument("--results", default=None, help="append result rows here (benchmarks/results.py)")
    args = parser.parse_args()
    results = Results(args.results)

    settings = Settings.from_env()
    encoder = load_encoder(settings)
    print(f"model {encoder.name}")
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.index_cache or Path(tmp)
        for name in args.datasets.split(","):
            if name == "bulletins":
                evaluate_bulletins(encoder, Path(tmp), results)
                continue
            paragraphs, questions = load_cmrc(name, args.limit)
            tag = f"{name}-{args.limit}" if args.limit else name
            retriever, build = build_or_reuse(tag, paragraphs, encoder, cache)
            result = evaluate_cmrc(retriever, questions, calibrate=True)
            print_modes(f"CMRC 2018 {name}", build, len(paragraphs), len(questions), result)
            for mode in MODES:
                m = result[mode]
                results.add(f"retrieval CMRC {tag}", f"{mode}: Recall@1 / MRR@10 / AnswerSentence@1",
                            f"{m['recall@1']:.3f} / {m['mrr@10']:.3f} / {m['answer_sentence@1']:.3f}",
                            note=f"query p50 {m['ms_p50']:.1f} ms")
            if name == "dev":
                weights = fit_evidence_weights(result["calibration"])
                chosen = print_calibration(result["calibration"], weights)
                if args.write_calibration:
                    table = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
                    table[encoder.name] = {
                        "min_confidence": round(chosen["confidence"], 4),
                        "min_evidence": round(chosen["evidence"], 4),
                        "evidence_weights": weights,
                        "source": f"benchmarks/retrieval.py on CMRC 2018 {tag}: each keeps "
                                  f"{TARGET_KEEP_ANSWERABLE:.0%} of answerable questions",
                    }
                    CALIBRATION_FILE.write_text(json.dumps(table, ensure_ascii=False, indent=2) + "\n",
                                                encoding="utf-8")
                    print(f"wrote {CALIBRATION_FILE}")
            check_calibration(result["calibration"], tag, results)


if __name__ == "__main__":
    main()
