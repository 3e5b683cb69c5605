"""Names of the files in a generation folder, and reading its manifest."""

from __future__ import annotations

import json
from pathlib import Path

# 3: sentence vectors are optional ("sentence_vectors": null where the build made none).
FORMAT_VERSION = 3
# Formats this version serves and reuses vectors from: a format 2 index always has them.
READABLE_FORMATS = (2, 3)
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
CHUNKS = "chunks.sqlite"
LEXICAL = "lexical"
SENTENCE_VECTORS = "sentence_vectors.npy"


def read_manifest(generation_dir: Path) -> dict:
    data = json.loads((generation_dir / MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("the manifest is not a JSON object")
    return data
