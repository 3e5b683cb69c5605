"""CMRC 2018 as benchmark corpora: reading the sets from ../shared and writing articles.

Every benchmark that indexes CMRC text writes its articles here, in the product's own
corpus format (front matter with the title, then the text), so they all feed the
product the same way.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CMRC = ROOT.parent / "shared" / "datasets" / "cmrc2018"
XQUAD = ROOT.parent / "shared" / "datasets" / "xquad"


@functools.cache
def cmrc_data(name: str) -> list[dict]:
    """The articles of CMRC 2018 ``name`` (train, dev or trial), SQuAD style."""
    data: list[dict] = json.loads((CMRC / f"cmrc2018_{name}.json").read_text(encoding="utf-8"))["data"]
    return data


@functools.cache
def xquad_data(lang: str, half: str, folder: Path = XQUAD) -> list[dict]:
    """XQuAD articles (part 1) in ``lang`` (zh or en), split in two halves by article.

    ``train`` (even-numbered articles) gives the reader its English training questions
    (training/train_reader.py); ``test`` (odd-numbered) stays for calibration and the
    cross-lingual test, so no threshold is measured on questions the reader learnt from.
    """
    if half not in ("train", "test"):
        raise ValueError(f"no XQuAD half {half!r}")
    data: list[dict] = json.loads((folder / f"xquad.{lang}.part1.json").read_text(encoding="utf-8"))["data"]
    return data[0::2] if half == "train" else data[1::2]


@dataclass(frozen=True)
class XquadQuestion:
    """A Chinese XQuAD question over its Chinese paragraph, with the same question in
    English where the English set has its id (XQuAD translates one question set)."""

    article: int  # index of the article within its half
    title: str
    paragraph: int  # index of the paragraph within its article
    context: str  # the Chinese paragraph
    qa: dict  # the Chinese question, SQuAD style, with its Chinese answers
    english: str | None

    @property
    def answers(self) -> list[str]:
        return [a["text"] for a in self.qa["answers"]]


def xquad_questions(half: str, folder: Path = XQUAD) -> Iterator[XquadQuestion]:
    """Every Chinese question of an XQuAD half in file order, aligned by id with its
    English twin: the one place the two languages are matched."""
    english = {qa["id"]: qa["question"] for item in xquad_data("en", half, folder)
               for p in item["paragraphs"] for qa in p["qas"]}
    for number, item in enumerate(xquad_data("zh", half, folder)):
        for k, paragraph in enumerate(item["paragraphs"]):
            for qa in paragraph["qas"]:
                yield XquadQuestion(number, item["title"], k, paragraph["context"], qa, english.get(qa["id"]))


def cmrc_paragraphs(*names: str) -> Iterator[tuple[str, dict]]:
    """(article title on one line, paragraph) of the named sets, in file order."""
    for name in names:
        for item in cmrc_data(name):
            for paragraph in item["paragraphs"]:
                yield item["title"].replace("\n", " "), paragraph


def cmrc_questions(name: str, limit: int | None = None) -> list[str]:
    questions = [qa["question"] for _, p in cmrc_paragraphs(name) for qa in p["qas"]]
    return questions[:limit]


def write_article(path: Path, title: str, text: str) -> None:
    """One corpus file: front matter with the title, then the text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title.replace(chr(10), ' ')}\n---\n{text}\n", encoding="utf-8")


def write_paragraphs(folder: Path, paragraphs: dict[str, tuple[str, str]]) -> None:
    """Each paragraph id -> (title, text) becomes ``<id>.txt``: one CMRC paragraph, one article."""
    for pid, (title, text) in paragraphs.items():
        write_article(folder / f"{pid}.txt", title, text)


def load_cmrc(name: str, limit: int | None = None) -> tuple[dict[str, tuple[str, str]], list[dict]]:
    """Paragraphs (id -> (title, text)) and questions ({question, paragraph, answers}) of a set,
    of its first ``limit`` paragraphs only when given."""
    paragraphs: dict[str, tuple[str, str]] = {}
    questions: list[dict] = []
    for title, para in cmrc_paragraphs(name):
        if limit and len(paragraphs) == limit:
            break
        paragraphs[para["id"]] = (title, para["context"])
        for qa in para["qas"]:
            questions.append({"question": qa["question"], "paragraph": para["id"],
                              "answers": sorted({a["text"] for a in qa["answers"] if a["text"]})})
    return paragraphs, questions


def start_from_cached_index(index_cache: Path | None, index_dir: Path) -> None:
    """Copy benchmarks/answers.py's CMRC dev index (``index_cache``/dev-index), when there is
    one, to ``index_dir``: a build there then embeds only what is new."""
    cached = index_cache / "dev-index" if index_cache else None
    if cached and (cached / "CURRENT").exists():
        shutil.copytree(cached, index_dir, symlinks=True)
