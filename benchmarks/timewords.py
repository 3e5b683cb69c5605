"""Time words on a corpus that is not news: does preferring an article's date cost recall?

CMRC 2018 dev's paragraphs are encyclopedia text, but the build dates them from their text
all the same (the newest full date each names, corpus/dates.py), and many questions name
a year (`1998年…`). Every dev question is searched twice (hybrid, no reader): as
`Retriever.ask` does, with the time it names preferred, and with no time read. Reported:
how many paragraphs got a date from their text, how many questions name a time, and
paragraph Recall@1/@5 both ways, over all questions and over those naming a time. The
questions are read as if asked on 2018-12-31 (CMRC 2018's year). With --index-cache the
CMRC dev index of benchmarks/answers.py is the starting point (its vectors are reused;
the rebuild only reads the dates).

    python benchmarks/timewords.py [--index-cache .bench/cmrc] [--results FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch or faiss load OpenMP (models/threads.py)

from benchmarks.corpora import load_cmrc, start_from_cached_index, write_paragraphs  # noqa: E402
from benchmarks.results import Results  # noqa: E402
from qa_service.answering import Retriever, TimeParser, normalize_question  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.index import build_index, load_index  # noqa: E402
from qa_service.models import load_encoder  # noqa: E402

ASKED_ON = date(2018, 12, 31)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-cache", type=Path, default=None)
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    settings = Settings.from_env()
    encoder = load_encoder(settings)
    paragraphs, questions = load_cmrc("dev")
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        write_paragraphs(corpus, paragraphs)
        start_from_cached_index(args.index_cache, index_dir)  # the originals' vectors
        build_index(Settings.from_env(corpus_dir=corpus, index_dir=index_dir), encoder)
        index = load_index(index_dir)
        sources = Counter(a["date_source"] for a in index.store.list_articles(0, 100_000))
        print(f"# {len(paragraphs)} CMRC dev paragraphs by date source: {dict(sources)}")
        retriever = Retriever(index, encoder)
        time_parser = TimeParser()
        vectors = encoder.encode_queries([normalize_question(q["question"]) for q in questions])
        hits = {"read": [0, 0], "ignored": [0, 0]}  # [at 1, in top 5], all questions
        timed = {"read": [0, 0], "ignored": [0, 0]}  # the same, questions naming a time
        named = 0
        for row, vector in zip(questions, vectors, strict=True):
            query = normalize_question(row["question"])
            when = time_parser.find(query, ASKED_ON)
            named += when is not None
            for way, used in (("read", when), ("ignored", None)):
                outcome = retriever.run(query, vector=vector, when=used)
                ranked = [Path(h.chunk.source).stem for h in outcome.hits[:5]]
                at1, in5 = ranked[:1] == [row["paragraph"]], row["paragraph"] in ranked
                hits[way][0] += at1
                hits[way][1] += in5
                if when is not None:
                    timed[way][0] += at1
                    timed[way][1] += in5
    n = len(questions)
    print(f"questions naming a time: {named} of {n}")
    print("| time words | Recall@1 | Recall@5 | Recall@1, questions naming a time | Recall@5, those |")
    print("|---|---|---|---|---|")
    for way in ("read", "ignored"):
        print(f"| {way} | {hits[way][0] / n:.3f} | {hits[way][1] / n:.3f} | "
              f"{timed[way][0] / max(named, 1):.3f} | {timed[way][1] / max(named, 1):.3f} |")
    section = "time words on CMRC dev (encyclopedia text dated from itself)"
    results.add(section, "paragraphs dated from their text", f"{sources.get('text', 0)}/{len(paragraphs)}")
    results.add(section, "questions naming a time", f"{named}/{n}")
    results.add(section, "Recall@1 time read / ignored",
                f"{hits['read'][0] / n:.3f} / {hits['ignored'][0] / n:.3f}",
                note=f"questions naming a time: {timed['read'][0] / max(named, 1):.3f} / "
                     f"{timed['ignored'][0] / max(named, 1):.3f}")


if __name__ == "__main__":
    main()
