"""Cost follows the change: a full build vs an incremental build after adding one article.

The corpus is made of CMRC 2018 paragraphs (dev, then trial), each cut at a sentence end
near its middle into two articles, until --articles are reached. Read from ../shared at
run time. Both builds use the product's build_index with the configured model.

    python benchmarks/incremental.py [--articles 2000]
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

from qa_service.config import Settings  # noqa: E402
from qa_service.encoder import load_encoder  # noqa: E402
from qa_service.index_build import build_index  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets" / "cmrc2018"
NEW_ARTICLE = (
    "新建图书馆开放\n\n本报讯(记者 李四)\n\n"
    "藁城区新建的图书馆今天开放,共有藏书十二万册,每天接待读者八百人次。\n"
)


def halves(text: str) -> list[str]:
    middle = len(text) // 2
    cut = min((i + 1 for i, ch in enumerate(text) if ch == "。" and i >= middle), default=len(text))
    return [part for part in (text[:cut], text[cut:]) if part.strip()]


def write_corpus(folder: Path, wanted: int) -> int:
    folder.mkdir(parents=True)
    count = 0
    for name in ("dev", "trial"):
        data = json.loads((DATASETS / f"cmrc2018_{name}.json").read_text(encoding="utf-8"))["data"]
        for item in data:
            for para in item["paragraphs"]:
                for i, part in enumerate(halves(para["context"]), start=1):
                    if count >= wanted:
                        return count
                    title = item["title"].replace("\n", " ")
                    (folder / f"{para['id']}-{i}.txt").write_text(
                        f"---\ntitle: {title} ({i})\n---\n{part}\n", encoding="utf-8")
                    count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        n = write_corpus(corpus, args.articles)
        settings = Settings.from_env(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        encoder = load_encoder(settings.model, settings.model_cache)
        started = time.perf_counter()
        full = build_index(settings, encoder, show_progress=sys.stderr.isatty())
        full_seconds = time.perf_counter() - started
        (corpus / "zz-new-article.txt").write_text(NEW_ARTICLE, encoding="utf-8")
        started = time.perf_counter()
        incremental = build_index(settings, encoder)
        incremental_seconds = time.perf_counter() - started
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


if __name__ == "__main__":
    main()
