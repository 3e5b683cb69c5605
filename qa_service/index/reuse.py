"""What an incremental build may take over from the served generation.

Vectors are keyed by (article id, char_start, char_end): an article whose content hash
is unchanged is chunked into exactly the same spans, so its chunk and sentence vectors
are reused instead of being embedded again. Anything that would make old vectors wrong
(another model, other chunking, another index format) disables reuse, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..corpus import ArticleNotes
from . import generations
from .load import IndexNotReadyError, load_index
from .manifest import READABLE_FORMATS

SpanKey = tuple[str, int, int]


@dataclass
class PreviousVectors:
    generation: str
    article_hashes: dict[str, str]
    chunk_rows: dict[SpanKey, int]
    chunk_matrix: np.ndarray
    sentence_rows: dict[SpanKey, int]
    sentence_matrix: np.ndarray | None  # None: the previous build made no sentence vectors
    # Authors and summaries by content hash: an unchanged article's are taken over.
    notes: dict[str, ArticleNotes] = field(default_factory=dict)

    def chunk_vector(self, key: SpanKey) -> np.ndarray | None:
        row = self.chunk_rows.get(key)
        return None if row is None else self.chunk_matrix[row]

    def sentence_vector(self, key: SpanKey) -> np.ndarray | None:
        row = self.sentence_rows.get(key)
        return None if row is None or self.sentence_matrix is None else self.sentence_matrix[row]


def load_previous(index_dir: Path, model: str, dimension: int,
                  chunking: dict) -> tuple[PreviousVectors | None, str]:
    """The served generation's vectors, or None with the reason for a full build."""
    if generations.current_generation(index_dir) is None:
        return None, "no previous index"
    try:
        index = load_index(index_dir)
    except IndexNotReadyError as exc:
        return None, f"the previous index cannot be reused ({exc})"
    manifest = index.manifest
    built = manifest["model"]
    if built["name"] != model or int(built["dimension"]) != dimension:
        return None, f"the model changed from {built['name']} to {model}"
    if manifest.get("chunking") != chunking:
        return None, "the chunking settings changed"
    if manifest.get("format_version") not in READABLE_FORMATS:
        return None, "the index format changed"

    store = index.store
    ids, matrix = index.vectors.all_vectors()
    row_of_id = {int(chunk_id): row for row, chunk_id in enumerate(ids)}
    chunk_rows = {(article, start, end): row_of_id[chunk_id]
                  for chunk_id, article, start, end in store.chunk_spans() if chunk_id in row_of_id}
    sentence_rows = {(article, start, end): sentence_id
                     for sentence_id, article, start, end in store.sentence_spans()}
    sentences = index.sentence_vectors  # fp16, memory-mapped: rows are copied as they are reused
    return PreviousVectors(index.generation, store.content_hashes(), chunk_rows, matrix,
                           sentence_rows, sentences, store.notes_by_hash()), ""
