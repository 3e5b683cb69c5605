"""Build progress with a rate and an estimated time left, for terminals, logs and the web.

A large build runs for hours (embedding is ~16 passages/s on two cores), so every way
of watching one says how far it is and how long is left: tqdm bars on a terminal, a
line every few seconds when stderr is a log file, and the rebuild status in the API.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[str, int, int], None]  # (phase, done, total)


class PhaseClock:
    """Rate and time left per phase, measured from the phase's first report."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started: dict[str, tuple[float, int]] = {}

    def estimate(self, phase: str, done: int, total: int) -> dict[str, float | int | None]:
        now = self._clock()
        started_at, done_at_start = self._started.setdefault(phase, (now, done))
        elapsed, progressed = now - started_at, done - done_at_start
        rate = progressed / elapsed if elapsed > 0 and progressed > 0 else None
        eta = round((total - done) / rate, 1) if rate else None
        return {"done": done, "total": total, "per_second": round(rate, 2) if rate else None,
                "eta_seconds": 0.0 if done >= total else eta}


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def terminal_progress() -> Progress:
    """tqdm bars (they show the rate and time left themselves)."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def report(phase: str, done: int, total: int) -> None:
        if phase == "files" or total == 0:
            return
        bar = bars.get(phase) or bars.setdefault(phase, tqdm(total=total, desc=f"embedding {phase}",
                                                             unit=phase[:-1]))
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return report


def log_progress(stream: TextIO | None = None, every: float = 10.0) -> Progress:
    """A plain line every ``every`` seconds of a phase, and one when it ends; a phase
    shorter than ``every`` prints nothing."""
    clock = PhaseClock()
    started: dict[str, float] = {}
    printed: dict[str, float] = {}  # phase -> time of its last line

    def report(phase: str, done: int, total: int) -> None:
        if phase == "files" or total == 0:
            return
        state = clock.estimate(phase, done, total)
        now = time.monotonic()
        started.setdefault(phase, now)
        last = printed.get(phase)
        if done >= total:
            if last is None and now - started[phase] < every:
                return
        elif now - (started[phase] if last is None else last) < every:
            return
        printed[phase] = now
        rate = f"{state['per_second']}/s" if state["per_second"] else "?/s"
        print(f"embedding {phase}: {done}/{total} ({100 * done // max(total, 1)}%), {rate}, "
              f"about {format_seconds(state['eta_seconds'])} left", file=stream or sys.stderr, flush=True)

    return report
