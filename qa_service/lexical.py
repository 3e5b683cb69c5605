"""Persistent BM25 over Chinese-aware tokens (bm25s sparse matrices, memory-mapped on load).

Chinese has no spaces, so text is cut into character unigrams and bigrams; Latin words
and numbers (204.95 stays whole) are tokens of their own. Text is normalised first:
NFKC (full-width letters and digits become ASCII), traditional to simplified characters,
lower case. The same normalisation serves the dense side's question cleaning.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
IDS_FILE = "ids.npy"
# White space as JSON Schema (ECMA-262 \s) defines it, which the OpenAPI spec's patterns
# use; Python's str.isspace() also counts characters such as U+0085 and U+001C.
SCHEMA_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
                    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def is_blank(text: str) -> bool:
    return not text.strip(SCHEMA_WHITESPACE)


@functools.lru_cache(maxsize=1)
def _to_simplified() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def normalize_text(text: str, lower: bool = True) -> str:
    """NFKC, traditional → simplified, and (for matching, not for the cased encoder) lower case."""
    text = str(_to_simplified().convert(unicodedata.normalize("NFKC", text)))
    return text.lower() if lower else text


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

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the best ``k`` chunks; chunks sharing no token are left out."""
        tokens = [t for t in tokenize(query) if t in self._bm25.vocab_dict]
        k = min(k, len(self))
        if not tokens or k == 0:
            return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
        rows, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, n_threads=1)
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
