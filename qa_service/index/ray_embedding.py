"""Embedding on a Ray cluster: the expensive step of a build, spread over many machines.

``qa-service index --ray auto|local|ADDRESS`` (or ``QA_RAY_ADDRESS``) sends the texts a
build has to embed (new and changed articles only; reused and resumed vectors never
leave the driver) through a Ray Data pipeline: ``map_batches`` over a pool of actors,
each of which loads the model once. Everything else (reading, chunking, the lexical
index, publishing) stays on the driver, as in a local build.

The embedded slices stream back to the driver as they finish and go through the same
sink as a local build's: into the resume cache (so a killed driver loses at most a few
seconds of work) and into the vectors of the new generation, each row by its index, so
the order in which the cluster returns them does not matter.

Faults: Ray Data restarts an actor whose process dies and retries the batch it held
(``max_restarts=-1``/``max_task_retries=-1`` are its defaults for actor pools), so a
worker killed mid-build costs that batch's time and nothing else. An error in the model
itself (it cannot be loaded on a worker) is not retried: the build fails with it.

Ray is an optional extra (``pip install 'qa-service[ray]'``): it is imported only here,
only when a build asks for it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..models import load_encoder, use_threads
from .embedding import EmbedJob
from .progress import Progress

# Rows per batch sent to an actor: large enough to keep the model busy, small enough that
# a killed actor loses little and progress moves often.
RAY_BATCH_ROWS = 256
LOCAL = "local"  # start a Ray instance inside this process, on this machine's cores


class RayBuildError(RuntimeError):
    """Ray is missing, the cluster cannot be reached, or it failed the embedding or reading."""


@dataclass(frozen=True)
class ModelSpec:
    """What an actor needs to load the same encoder the driver has (picklable)."""

    model: str
    model_cache: Path
    precision: str


@dataclass(frozen=True)
class RayPlan:
    address: str  # "auto", "local", or a cluster address ("ray://head:10001", "head:6379")
    actors: int = 0  # 0: one per ``actor_cpus`` CPUs of the cluster
    actor_cpus: int = 1  # CPUs (and torch threads) per actor


class EmbeddingActor:
    """One model per actor process, loaded in the constructor, reused for every batch."""

    def __init__(self, spec: ModelSpec, threads: int, batch_size: int, dimension: int) -> None:
        self.threads = threads
        self.batch_size = batch_size
        use_threads(threads)
        self.encoder = load_encoder(spec, questions=False)
        if self.encoder.dimension != dimension:  # another model under the same name on this node
            raise RayBuildError(f"the model {spec.model!r} on node {os.uname().nodename} gives "
                                f"{self.encoder.dimension}-dimensional vectors, the driver's {dimension}")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        use_threads(self.threads)  # torch keeps the count per thread; calls may come on another
        vectors = self.encoder.encode_passages([str(t) for t in batch["text"]], batch_size=self.batch_size)
        return {"job": batch["job"], "row": batch["row"], "vector": vectors}


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # the Data library: part of the extra, not of ray alone
    except ImportError as exc:
        raise RayBuildError("builds on Ray need the ray extra: pip install 'qa-service[ray]' "
                            f"({exc})") from exc
    return ray


@contextmanager
def ray_session(plan: RayPlan) -> Iterator[Any]:
    """Connected to the cluster for the length of a build; a Ray this call started is shut down.

    A process already connected (``ray.init`` by its caller, as the tests do) keeps its
    connection.
    """
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
    try:
        if plan.address == LOCAL:
            if threading.current_thread() is not threading.main_thread():
                # Ray starts its local processes from the main thread only (here it hung).
                raise RayBuildError("a local Ray instance can only be started from the command line; "
                                    "give the address of a running cluster (ray start --head)")
            ray.init(**quiet)
        else:
            check_cluster_address(plan.address)
            ray.init(address=plan.address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        if isinstance(exc, RayBuildError):
            raise
        raise RayBuildError(f"cannot connect to a Ray cluster at {plan.address!r}: {exc} "
                            "(start one with `ray start --head`, or use --ray local)") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def check_cluster_address(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a cluster address nobody answers at: ``ray.init`` retries it for minutes."""
    if address in ("auto", LOCAL):
        return  # found from this machine's running cluster (or refused at once), or started here
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise RayBuildError(f"not a Ray cluster address: {address!r} (expected auto, local, "
                            "HOST:PORT or ray://HOST:PORT of a cluster `ray start --head` runs)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayBuildError(f"no Ray cluster answers at {address!r}: {exc} "
                            "(start one with `ray start --head`, or use --ray local)") from exc


def actor_count(plan: RayPlan, cluster_cpus: float) -> int:
    if plan.actors > 0:
        return plan.actors
    return max(1, int(cluster_cpus // plan.actor_cpus))


class RayEmbedder:
    """Embeds the build's texts on the cluster, in place of embedding.LocalEmbedder."""

    def __init__(self, ray: Any, plan: RayPlan, spec: ModelSpec, batch_size: int, dimension: int) -> None:
        self.ray = ray
        self.plan = plan
        self.spec = spec
        self.batch_size = batch_size
        self.dimension = dimension
        self.actors = actor_count(plan, ray.cluster_resources().get("CPU", 1.0))

    def __call__(self, jobs: list[EmbedJob], progress: Progress | None) -> None:
        data = self.ray.data
        # Ray Data's own progress bars and per-operator logs would interleave with ours.
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        # One dataset for all jobs: the actor pool (and each actor's model) starts once per
        # build. Sorted by length as in a local build, so each batch pads little.
        order = sorted(((j, r) for j, job in enumerate(jobs) for r in range(len(job.texts))),
                       key=lambda jr: len(jobs[jr[0]].texts[jr[1]]))
        items = [{"job": j, "row": r, "text": jobs[j].texts[r]} for j, r in order]
        dataset = data.from_items(items).map_batches(
            EmbeddingActor,
            fn_constructor_kwargs={"spec": self.spec, "threads": self.plan.actor_cpus,
                                   "batch_size": self.batch_size, "dimension": self.dimension},
            batch_size=RAY_BATCH_ROWS, batch_format="numpy",
            compute=data.ActorPoolStrategy(min_size=1, max_size=self.actors),
            num_cpus=self.plan.actor_cpus)
        done = [0] * len(jobs)
        if progress:
            for job in jobs:
                progress(job.phase, 0, len(job.texts))
        batches = iter(dataset.iter_batches(batch_size=None, batch_format="numpy"))
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:  # Ray's task and actor errors, and the model's own
                raise RayBuildError(f"the Ray cluster failed to embed: {_last_line(exc)}") from exc
            if batch is None:
                break
            vectors = np.asarray(np.stack(list(batch["vector"])), dtype=np.float32)
            for j, job in enumerate(jobs):
                mine = np.flatnonzero(batch["job"] == j)
                if len(mine):
                    job.sink([int(r) for r in batch["row"][mine]], vectors[mine])
                    done[j] += len(mine)
                    if progress:
                        progress(job.phase, done[j], len(job.texts))


def _last_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
