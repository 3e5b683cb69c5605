"""Republished copies: detection precision and recall, and what grouping does to the top 5.

The corpus is CMRC 2018 dev's 848 paragraphs, each one article, plus a republished copy
of 30% of them (a fixed random draw) the way outlets reprint: a new headline, a byline
paragraph added (本报讯（记者 …）), a credit line at the end, and a few characters changed
(three substitutions or deletions). Read from ../shared at run time.

Two builds of that corpus with the product's build_index and the configured model:
copies kept apart (before grouping existed: every copy searched) and grouped (copies
listed, only the canonical article searched). Then every dev question is searched in both
(hybrid, no reader) and compared: Recall@5 (the gold paragraph, or a copy of it, in the
top 5), the distinct paragraphs the top 5 show, and how many top 5 lists hold two copies
of one passage. With --index-cache the CMRC dev index of benchmarks/answers.py is the
starting point, so only the copies are embedded.

    python benchmarks/duplicates.py [--index-cache .bench/cmrc] [--share 0.3] [--results FILE]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch or faiss load OpenMP (models/threads.py)

from benchmarks.corpora import load_cmrc, start_from_cached_index, write_article, write_paragraphs  # noqa: E402
from benchmarks.results import Results  # noqa: E402
from qa_service.answering import Retriever, normalize_question  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.index import build_index, load_index  # noqa: E402
from qa_service.models import load_encoder  # noqa: E402

COPIES = "zz-republished"  # a folder sorting after the originals: they stay canonical on ties
OUTLETS = ["河北日报", "燕赵都市报", "石家庄日报", "长城网", "新华网"]


def republish(text: str, rng: random.Random) -> str:
    """A reprint: a byline before, a credit after, three characters changed or dropped."""
    chars = list(text)
    for _ in range(3):
        at = rng.randrange(len(chars))
        if chars[at].isspace():
            continue
        chars[at] = rng.choice("的了和在是有") if rng.random() < 0.6 else ""
    outlet = rng.choice(OUTLETS)
    return f"本报讯（记者 王{rng.randrange(100)}）\n\n{''.join(chars)}\n\n（来源：{outlet}）"


def search_top5(retriever: Retriever, questions: list[dict], vectors: object) -> list[list[tuple[str, str]]]:
    """Each question's top 5 passages as (paragraph id, file): a copy has its original's id."""
    ranked = []
    for row, vector in zip(questions, vectors, strict=True):  # type: ignore[call-overload]
        outcome = retriever.run(normalize_question(row["question"]), vector=vector)
        ranked.append([(Path(h.chunk.source).stem, h.chunk.source) for h in outcome.hits[:5]])
    return ranked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, default=0.3, help="share of paragraphs republished")
    parser.add_argument("--index-cache", type=Path, default=None)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    settings = Settings.from_env()
    encoder = load_encoder(settings)
    paragraphs, questions = load_cmrc("dev")
    rng = random.Random(20261124)
    chosen = sorted(rng.sample(sorted(paragraphs), round(args.share * len(paragraphs))))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        write_paragraphs(corpus, paragraphs)
        for pid in chosen:
            title, text = paragraphs[pid]
            write_article(corpus / COPIES / f"{pid}.txt", f"{title}（转载）", republish(text, rng))
        print(f"# {len(paragraphs)} CMRC dev paragraphs, {len(chosen)} republished ({args.share:.0%})")
        builds = {}
        for name, grouped in (("before", False), ("after", True)):
            index_dir = work / f"index-{name}"
            start_from_cached_index(args.index_cache, index_dir)  # the originals' vectors
            started = time.perf_counter()
            summary = build_index(Settings.from_env(corpus_dir=corpus, index_dir=index_dir,
                                                    group_copies=grouped), encoder)
            builds[name] = load_index(index_dir)
            print(f"{name}: {summary.chunks_total} chunks, {summary.copies} copies not searched, "
                  f"{summary.chunks_embedded} chunks embedded, {time.perf_counter() - started:.0f}s")

        store = builds["after"].store
        copy_rows = store.list_articles(0, 10_000)
        found = {(Path(a["file"]).stem, a["file"].startswith(COPIES)) for a in copy_rows if a["copy_of"]}
        truth = set(chosen)
        flagged = {pid for pid, is_copy in found}
        wrong_side = sum(1 for _, is_copy in found if not is_copy)  # an original taken for the copy
        precision = len(flagged & truth) / len(flagged) if flagged else 1.0
        recall = len(flagged & truth) / len(truth)
        print(f"\ndetection: {len(found)} articles marked as copies; precision {precision:.3f}, "
              f"recall {recall:.3f}; originals marked as the copy: {wrong_side}")

        vectors = encoder.encode_queries([normalize_question(q["question"]) for q in questions])
        table = {}
        for name, index in builds.items():
            top = search_top5(Retriever(index, encoder), questions, vectors)
            recall5 = sum(q["paragraph"] in {pid for pid, _ in ranked}
                          for q, ranked in zip(questions, top, strict=True))
            distinct = sum(len({pid for pid, _ in ranked}) for ranked in top) / len(top)
            # Two files showing one paragraph (two chunks of one article are not copies).
            doubled = sum(len(set(ranked)) > len({pid for pid, _ in ranked}) for ranked in top)
            table[name] = (recall5 / len(questions), distinct, doubled / len(questions))
        print("\n| | Recall@5 (gold or its copy) | distinct paragraphs in top 5 | top 5 with two copies |")
        print("|---|---|---|---|")
        for name, (r5, shown, twice) in table.items():
            print(f"| {name} | {r5:.3f} | {shown:.2f} | {twice:.3f} |")

    section = "republished copies (CMRC dev + 30% reprinted)"
    results.add(section, "detection precision / recall", f"{precision:.3f} / {recall:.3f}")
    results.add(section, "Recall@5 before / after grouping",
                f"{table['before'][0]:.3f} / {table['after'][0]:.3f}")
    results.add(section, "distinct paragraphs in top 5, before / after",
                f"{table['before'][1]:.2f} / {table['after'][1]:.2f}")
    results.add(section, "top 5 holding two copies, before / after",
                f"{table['before'][2]:.3f} / {table['after'][2]:.3f}", "", "0 after", table["after"][2] == 0)


if __name__ == "__main__":
    main()
