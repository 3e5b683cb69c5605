"""The embedding step of a build: which texts need vectors, and the embedders that make them.

A build embeds two kinds of text (chunks and sentences). For each, ``plan_vectors``
takes what it can from the served generation (unchanged articles) and from the resume
cache of an unfinished build; ``embed_planned`` embeds the rest through an ``Embedder``:
``LocalEmbedder`` on this machine, or ``ray_embedding.RayEmbedder`` on a cluster. Both
hand finished slices to the same sink, which checks them, places them by row and keeps
them in the resume cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..models import Encoder
from .embedding_cache import EmbeddingCache, text_key
from .progress import Progress

# Texts are embedded in slices of this many, sorted by length, so progress can be shown.
SLICE = 256

Sink = Callable[[list[int], np.ndarray], None]  # (rows of the job's texts, their vectors)


class EmbeddingError(RuntimeError):
    """The embedder failed or returned vectors the index cannot use."""


@dataclass
class EmbedJob:
    phase: str  # "chunks" or "sentences": the progress phase
    texts: list[str]
    sink: Sink


class Embedder(Protocol):
    def __call__(self, jobs: list[EmbedJob], progress: Progress | None) -> None: ...


def embed(encoder: Encoder, texts: list[str], batch_size: int, phase: str,
          progress: Progress | None, sink: Sink) -> None:
    """Embed in length-sorted slices (little padding per batch), reporting progress.

    ``sink(rows, vectors)`` takes every slice as soon as it is embedded, so no second
    copy of all vectors is ever held.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    if progress:
        progress(phase, 0, len(order))  # starts the clock for the rate and time left
    for start in range(0, len(order), SLICE):
        rows = order[start : start + SLICE]
        sink(rows, encoder.encode_passages([texts[i] for i in rows], batch_size=batch_size))
        if progress:
            progress(phase, min(start + SLICE, len(order)), len(order))


class LocalEmbedder:
    """This process's encoder, one job after the other."""

    def __init__(self, encoder: Encoder, batch_size: int) -> None:
        self.encoder = encoder
        self.batch_size = batch_size

    def __call__(self, jobs: list[EmbedJob], progress: Progress | None) -> None:
        for job in jobs:
            embed(self.encoder, job.texts, self.batch_size, job.phase, progress, job.sink)


@dataclass
class VectorPlan:
    """The vectors of one kind of text: those found already, and the rows still missing."""

    phase: str
    vectors: np.ndarray
    texts: list[str]
    missing: list[int] = field(default_factory=list)
    hashes: dict[int, bytes] = field(default_factory=dict)
    resumed: int = 0  # found in the resume cache


def plan_vectors(keys: list[tuple[str, int, int]], texts: list[str],
                 reuse: Callable[[tuple[str, int, int]], np.ndarray | None], dimension: int, phase: str,
                 cache: EmbeddingCache, dtype: type = np.float32) -> VectorPlan:
    """Reused vectors where ``reuse(key)`` or the resume cache has one; the rest is missing."""
    plan = VectorPlan(phase, np.empty((len(keys), dimension), dtype=dtype), texts)
    for row, key in enumerate(keys):
        old = reuse(key)
        if old is None:
            plan.hashes[row] = text_key(phase, texts[row])
            old = cache.get(plan.hashes[row])
            plan.resumed += old is not None
        if old is None:
            plan.missing.append(row)
        else:
            plan.vectors[row] = old
    return plan


def embed_planned(plans: list[VectorPlan], embedder: Embedder, encoder: Encoder,
                  progress: Progress | None, cache: EmbeddingCache) -> None:
    """Embed every plan's missing rows, filling its vectors and the resume cache."""

    def sink_for(plan: VectorPlan) -> Sink:
        def keep(rows: list[int], part: np.ndarray) -> None:
            if part.shape != (len(rows), encoder.dimension) or not np.isfinite(part).all():
                raise EmbeddingError(f"encoder {encoder.name} returned unusable vectors {part.shape}")
            targets = [plan.missing[r] for r in rows]
            plan.vectors[targets] = part
            cache.put([plan.hashes[t] for t in targets], part)

        return keep

    jobs = [EmbedJob(p.phase, [p.texts[r] for r in p.missing], sink_for(p)) for p in plans if p.missing]
    if progress:
        for plan in plans:
            if not plan.missing and len(plan.vectors):  # all reused; a phase with nothing is not shown
                progress(plan.phase, 0, 0)
    if not jobs:
        return
    try:
        embedder(jobs, progress)
    finally:
        cache.flush()  # killed (SIGTERM, Ctrl-C) or failed: keep what was embedded
