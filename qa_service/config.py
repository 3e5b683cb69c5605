"""Settings shared by the CLI, the web app and the index build: defaults, overridden by
``QA_*`` variables. It imports only the bottom layers (``corpus``, ``models``), so every
layer above them may read it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .corpus import ChunkingSettings
from .models import BUILTIN_MODEL

__all__ = ["SENTENCE_VECTOR_CHOICES", "Settings", "default_model_cache"]

SENTENCE_VECTOR_CHOICES = ("auto", "yes", "no")
# reader_weights that mean answering without the reader (answering/reading.py reads the same).
NO_READER = ("none", "off", "")


def default_model_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa-service" / "models"


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("embeddings")
    model: str = BUILTIN_MODEL
    model_cache: Path = field(default_factory=default_model_cache)
    batch_size: int = 32
    # auto: bf16 autocast where the CPU has native bf16 (models/encoder.py), else fp32.
    precision: str = "auto"
    top_k: int = 5
    # torch threads (0: every core this process may use for a build, one per question;
    # the server's request threads always use one each; models/threads.py).
    torch_threads: int = 0
    # The reader's weights: "builtin" (shipped with the package), a weights file, or
    # "none" (the answer is the best sentence, as before the reader).
    reader_weights: str = "builtin"
    # Vectors of every sentence, for answering without the reader (its best sentence and
    # "found" are decided on them): "auto" builds them only where reader_weights is none;
    # "yes" or "no" decides regardless. The reader reads passages and needs none.
    sentence_vectors: str = "auto"
    keep_generations: int = 3
    # Above this many chunks the vector index is approximate (IVF), see index/vector_index.py.
    exact_search_limit: int = 100_000
    # Republished copies are grouped and only the canonical one is indexed (corpus/duplicates.py).
    group_copies: bool = True
    # Builds on a Ray cluster (index/ray_embedding.py): "" builds here; "auto" joins the
    # cluster `ray start` runs on this machine; "local" starts one in the process; or an address.
    ray_address: str = ""
    ray_actors: int = 0  # 0: one actor per ray_actor_cpus CPUs of the cluster
    ray_actor_cpus: int = 1
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``QA_<FIELD>`` environment variables, then explicit overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"QA_{f.name.upper()}")
            if raw is None or f.name == "chunking":
                continue
            if f.name in ("corpus_dir", "index_dir", "model_cache"):
                values[f.name] = Path(raw)
            elif f.name in ("batch_size", "top_k", "keep_generations", "exact_search_limit", "torch_threads",
                            "ray_actors", "ray_actor_cpus"):
                values[f.name] = int(raw)
            elif f.name == "group_copies":
                values[f.name] = raw.strip().lower() not in {"0", "false", "no", "off"}
            else:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]

    @property
    def embeds_sentences(self) -> bool:
        """Whether a build embeds every sentence (see ``sentence_vectors``)."""
        choice = self.sentence_vectors.strip().lower()
        if choice not in SENTENCE_VECTOR_CHOICES:
            raise ValueError(f"QA_SENTENCE_VECTORS is {self.sentence_vectors!r}: expected one of "
                             f"{', '.join(SENTENCE_VECTOR_CHOICES)}")
        if choice == "auto":
            return self.reader_weights.strip().lower() in NO_READER
        return choice == "yes"
