"""Persistent BM25 over Chinese-aware tokens (bm25s sparse matrices, memory-mapped on load).

Chinese has no spaces, so text is cut into character unigrams and bigrams; Latin words
and numbers (204.95 stays whole) are tokens of their own. Text is normalised first
(corpus/normalize.py: NFKC, traditional to simplified, lower case), the same way the
dense side cleans questions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus import normalize_text

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
IDS_FILE = "ids.npy"


def tokenize(text: str) -> list[str]:
    text = normalize_text(text)
    tokens: list[str] = []
    for match in _CJK_RUN.finditer(text):
        run = match.group()
        tokens.extend(run)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    # Latin words and numbers, with the CJK runs blanked out so "14880户" yields "14880".
    tokens.extend(_WORD.findall(_CJK_RUN.sub(" ", text)))
    return tokens


class LexicalIndex:
    """BM25 with explicit ids, mirroring the vector index's add/search/save/load."""

    def __init__(self, bm25: Any, ids: np.ndarray) -> None:
        self._bm25 = bm25
        self._ids = ids

    @classmethod
    def build(cls, ids: np.ndarray, texts: list[str]) -> LexicalIndex:
        import bm25s

        # Token ids, not token lists: a list of strings per chunk costs ~70 bytes a token
        # (4 GB at 100k chunks); ids that point into one vocabulary cost 8.
        vocabulary: dict[str, int] = {}
        token_ids = [[vocabulary.setdefault(token, len(vocabulary)) for token in tokenize(text)]
                     for text in texts]
        bm25 = bm25s.BM25()
        if not vocabulary:  # nothing but emoji: bm25s needs one (empty) token to exist
            vocabulary[""] = 0
        bm25.index((token_ids, vocabulary), show_progress=False)
        return cls(bm25, np.asarray(ids, dtype=np.int64))

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the best ``k`` chunks (among ``allowed`` ids, when given);
        chunks sharing no token are left out."""
        tokens = [t for t in tokenize(query) if t in self._bm25.vocab_dict]
        k = min(k, len(self))
        if not tokens or k == 0:
            return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
        mask = None if allowed is None else np.isin(self._ids, allowed).astype(np.float32)
        rows, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, n_threads=1, weight_mask=mask)
        rows, scores = rows[0], scores[0]
        keep = scores > 0
        return scores[keep].astype(np.float32), self._ids[rows[keep]]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder))
        np.save(folder / IDS_FILE, self._ids)
        (folder / "tokenizer.json").write_text(json.dumps({"tokens": "cjk-unigram+bigram,latin-word",
                                                           "normalize": "nfkc,t2s,lower"}))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), mmap=True, load_corpus=False, show_progress=False)
        return cls(bm25, np.load(folder / IDS_FILE))
