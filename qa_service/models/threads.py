"""CPU threads for the models: OpenMP that waits passively, and one thread-count setting.

torch (and faiss and scikit-learn, each with its own copy of GNU OpenMP) by default lets
idle OpenMP threads spin for a while before they sleep. On a machine where another
process holds a core, the spinning threads and the one doing the work fight over the
cores that are left: beside a busy torch job, `qa-service ask` had a p50 of 90 ms and a
p95 of 1.6 s against 27 ms idle (benchmarks/contention.py); a report here saw 1.6 s per
question. With passive waits and one thread per question it stays near 34 ms. OpenMP
reads the policy once, when the library is loaded, so every entry point calls
``prefer_passive_waits`` before torch is imported.

torch keeps the number of threads per calling thread, and a thread that starts its first
torch work takes the count the last ``set_num_threads`` anywhere in the process set. So
each thread that does torch work says how many threads it wants (``use_threads``).
Builds use the ``QA_TORCH_THREADS`` setting (0: every core this process may use).
Questions use one thread each: a short question's forward pass is too small to split,
and waking a second, sleeping thread for each of its many small steps costs more than
it saves (one question took 26 ms on one thread, 42 ms on two, on the 2-core machine).
"""

from __future__ import annotations

import os
import sys

WAIT_POLICY = "PASSIVE"
QUESTION_THREADS = 1  # torch threads that answer one question (server request or `ask`)


def prefer_passive_waits() -> bool:
    """Make OpenMP threads sleep, not spin, while they wait; an explicit setting wins.

    Returns whether it takes effect: not once torch is loaded (OpenMP read it then).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    return "torch" not in sys.modules


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), not all the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform
        return os.cpu_count() or 1


def resolve_threads(threads: int | None) -> int:
    """The ``QA_TORCH_THREADS`` setting: a positive number, or 0/None for the available cores."""
    if threads is None or threads == 0:
        return available_cores()
    if threads < 0:
        raise ValueError(f"the number of torch threads must be positive or 0 (all cores), not {threads}")
    return threads


def use_threads(threads: int) -> int:
    """Run the calling thread's torch work on ``threads`` threads; returns the number."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
