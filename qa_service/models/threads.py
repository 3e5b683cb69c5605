"""CPU threads for the models: OpenMP that waits passively, and one thread-count setting.

torch (and faiss and scikit-learn, each with its own copy of GNU OpenMP) by default lets
idle OpenMP threads spin for a while before they sleep. On a machine where another
process holds a core, the spinning threads and the one doing the work fight over the
cores that are left: beside a busy torch job, `qa-service ask` had a p50 of 90 ms and a
p95 of 1.6 s against 27 ms idle (benchmarks/contention.py); a report here saw 1.6 s per
question. With passive waits and one thread per question it stays near 34 ms. OpenMP
reads the policy once, when the library is loaded, so every entry point calls
``prefer_passive_waits`` before torch is imported.

A thread that sleeps at once, though, must be woken for each of the hundreds of steps
of a forward pass split across threads: the reader's passage took 57 ms on two threads
that way against 41 ms with libgomp's default spinning (and 66 ms on one). GNU OpenMP's
``GOMP_SPINCOUNT`` bounds the spinning: 10,000 spins (about a tenth of a millisecond)
brought it back to 41 ms (3,000: 44 ms), and a thread spins no longer than that when
work stops. Both settings are made only where neither is set: an explicit
``OMP_WAIT_POLICY`` keeps its own meaning.

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
from pathlib import Path

WAIT_POLICY = "PASSIVE"
SPIN_COUNT = "10000"  # GOMP_SPINCOUNT: spins before a waiting thread sleeps
QUESTION_THREADS = 1  # torch threads that answer one question (server request or `ask`)


def prefer_passive_waits() -> bool:
    """Make OpenMP threads sleep after a short spin while they wait; an explicit setting wins.

    Returns whether it takes effect: not once torch is loaded (OpenMP read it then).
    """
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT  # libgomp lets it override the policy's spin
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    return "torch" not in sys.modules


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), not all the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform
        return os.cpu_count() or 1


def idle_cores(loadavg: Path = Path("/proc/loadavg")) -> int:
    """The cores this process may use less the threads running elsewhere right now.

    The kernel's count of runnable threads (/proc/loadavg's fourth field, which includes
    the caller) is read at this instant, unlike the load average that OpenMP's dynamic
    mode follows (a minute behind). Where it cannot be read: every core.
    """
    cores = available_cores()
    try:
        running = int(loadavg.read_text().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):  # not Linux, or a format this does not know
        return cores
    return max(1, min(cores, (os.cpu_count() or cores) - (running - 1)))


def resolve_threads(threads: int | None) -> int:
    """The ``QA_TORCH_THREADS`` setting: a positive number, or 0/None for the available cores."""
    if threads is None or threads == 0:
        return available_cores()
    if threads < 0:
        raise ValueError(f"the number of torch threads must be positive or 0 (all cores), not {threads}")
    return threads


def use_threads(threads: int) -> int:
    """Run the calling thread's torch work on ``threads`` threads; returns the number.

    Where torch is not loaded (a fake encoder in tests) nothing runs torch, so nothing is
    set: importing it here would cost seconds, and in a rebuild's background thread its
    import-time ``ast.parse`` calls race the request thread's on Python 3.11, whose AST
    state is shared (cpython#106905: "AST constructor recursion depth mismatch").
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return threads
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
