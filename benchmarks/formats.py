"""Real file formats end to end: a 20-page text PDF and a 5-page scanned PDF made by
headless Chromium, read into the corpus (ingest time, OCR time per page), built with the
real model and asked with the real reader: does a question about page 17 cite page 17?
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa_service.models import prefer_passive_waits  # noqa: E402

prefer_passive_waits()  # before torch, faiss or scikit-learn load OpenMP (models/threads.py)

from benchmarks.results import Results  # noqa: E402
from qa_service.answering import Retriever, load_configured_reader  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.corpus import read_corpus  # noqa: E402
from qa_service.index import build_index, load_index  # noqa: E402
from qa_service.models import load_encoder  # noqa: E402
from tests.corpus.test_formats import scanned_pdf, text_pdf  # noqa: E402

SCANNED_PAGES = [f"第{n}页：今年藁城区第{n}片林场完成植树造林{n}万亩，成活率达到百分之九十五。"
                 for n in range(1, 6)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 900, "height": 500})
        made = {"text-20.pdf": text_pdf(page, 20), "scan-5.pdf": scanned_pdf(page, SCANNED_PAGES)}
        browser.close()
        section = "formats: PDFs end to end"
        for name, data in made.items():
            corpus = Path(tmp) / name.replace(".pdf", "")
            corpus.mkdir()
            (corpus / name).write_bytes(data)
            started = time.perf_counter()
            read = read_corpus(corpus)
            seconds = time.perf_counter() - started
            assert not read.skipped, read.skipped
            ocr = read.ocr[0] if read.ocr else None
            per_page = f", OCR {ocr.seconds / len(ocr.ocr_pages):.2f} s/page" if ocr else ", no OCR"
            print(f"{name}: {len(data) // 1024} KB read in {seconds:.2f} s{per_page}")
            results.add(section, f"{name}: ingest (sandboxed reader)", round(seconds, 2), "s",
                        note=per_page[2:])
            if ocr:
                results.add(section, f"{name}: OCR per page", round(ocr.seconds / len(ocr.ocr_pages), 2), "s")

        settings = Settings.from_env()
        encoder = load_encoder(settings)
        reader, reader_settings = load_configured_reader("builtin", settings.model_cache, settings.precision)
        corpus = Path(tmp) / "both"
        corpus.mkdir()
        for name, data in made.items():
            (corpus / name).write_bytes(data)
        started = time.perf_counter()
        summary = build_index(Settings.from_env(corpus_dir=corpus, index_dir=Path(tmp) / "index"), encoder)
        print(f"build of both: {time.perf_counter() - started:.1f} s, {summary.chunks_total} chunks")
        retriever = Retriever(load_index(Path(tmp) / "index"), encoder, reader=reader,
                              reader_settings=reader_settings)
        for question, page_wanted, answer_wanted in [("第17批重点项目共完成投资多少？", 17, "17亿元"),
                                                     ("第4片林场完成植树造林多少？", 4, "4万亩")]:
            result = retriever.ask(question)
            answer = result["answer"] or {}
            cited = answer.get("page")
            right = bool(result["found"]) and cited == page_wanted and answer_wanted in answer.get("text", "")
            print(f"{question} -> {answer.get('text')!r} page {cited} (found {result['found']})")
            results.add(section, f"{question} cites page {page_wanted}", f"{answer.get('text')!r} p.{cited}",
                        target=f"{answer_wanted}, p.{page_wanted}", met=right)


if __name__ == "__main__":
    main()
