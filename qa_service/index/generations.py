"""On-disk layout of built indexes: immutable generation folders and one pointer.

    embeddings/
      CURRENT                 name of the generation being served (replaced atomically)
      generations/gen-000001/ manifest.json, vectors.faiss, chunks.sqlite
      generations/.staging-*  a build in progress (removed if the build dies)
      build.lock              held while a build runs

A build writes a fresh staging folder, renames it to its generation name, then swaps
CURRENT with ``os.replace``. Readers therefore see the old generation or the new one,
never a half-written one, and a crash at any point leaves the served index intact.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..corpus import atomic_write_text

POINTER = "CURRENT"
GENERATIONS = "generations"
LOCK = "build.lock"
_GENERATION_NAME = re.compile(r"^gen-(\d{6,})$")


class BuildLockedError(RuntimeError):
    pass


def generation_number(name: str) -> int | None:
    match = _GENERATION_NAME.match(name)
    return int(match.group(1)) if match else None


def list_generations(index_dir: Path) -> list[str]:
    folder = index_dir / GENERATIONS
    if not folder.is_dir():
        return []
    names = [p.name for p in folder.iterdir() if p.is_dir() and generation_number(p.name) is not None]
    return sorted(names, key=lambda n: generation_number(n) or 0)


def current_generation(index_dir: Path) -> str | None:
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name if generation_number(name) is not None else None


def generation_path(index_dir: Path, name: str) -> Path:
    return index_dir / GENERATIONS / name


def new_staging_dir(index_dir: Path) -> Path:
    folder = index_dir / GENERATIONS
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))


def publish(index_dir: Path, staging: Path) -> str:
    """Give the staged build the next generation name and point CURRENT at it."""
    existing = [generation_number(n) or 0 for n in list_generations(index_dir)]
    name = f"gen-{max(existing, default=0) + 1:06d}"
    target = generation_path(index_dir, name)
    staging.chmod(0o755)
    os.replace(staging, target)
    atomic_write_text(index_dir / POINTER, name + "\n")
    return name


def switch_to(index_dir: Path, name: str) -> None:
    atomic_write_text(index_dir / POINTER, name + "\n")


def rollback(index_dir: Path) -> tuple[str, str]:
    """Point CURRENT at the generation before the current one; (new, old) names."""
    with build_lock(index_dir):
        current = current_generation(index_dir)
        if current is None:
            raise FileNotFoundError(f"no index in {index_dir} to roll back")
        number = generation_number(current) or 0
        older = [n for n in list_generations(index_dir) if (generation_number(n) or 0) < number]
        if not older:
            raise FileNotFoundError(f"{current} is the oldest generation kept in {index_dir}")
        switch_to(index_dir, older[-1])
        return older[-1], current


def prune(index_dir: Path, keep: int) -> list[str]:
    """Remove old generations beyond ``keep`` (never the current one) and dead staging dirs."""
    current = current_generation(index_dir)
    removed = []
    names = list_generations(index_dir)
    for name in names[: max(0, len(names) - keep)]:
        if name != current:
            shutil.rmtree(generation_path(index_dir, name), ignore_errors=True)
            removed.append(name)
    return removed


def remove_stale_staging(index_dir: Path) -> None:
    """Staging folders left by killed builds; only called while holding the build lock."""
    folder = index_dir / GENERATIONS
    if folder.is_dir():
        for path in folder.glob(".staging-*"):
            shutil.rmtree(path, ignore_errors=True)


def build_is_running(index_dir: Path) -> bool:
    """Whether some process holds the build lock right now."""
    path = index_dir / LOCK
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@contextmanager
def build_lock(index_dir: Path, wait: bool = False) -> Iterator[None]:
    """One build at a time across processes. The OS drops the lock if the holder dies."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise BuildLockedError(
                    f"another build is running on {index_dir} (lock {index_dir / LOCK}); "
                    "wait for it to finish") from exc
            raise
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
