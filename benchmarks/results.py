"""One results file for a whole `make bench` run, printed at the end as one table.

Every benchmark appends rows (JSON lines) to the file named by ``--results`` or by the
``QA_BENCH_RESULTS`` environment variable; ``python benchmarks/results.py FILE`` prints
them. A row may carry a target, so the table says which targets were met and by how much
one was missed.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def memory_of(pid: int) -> dict[str, float]:
    """Current RSS of a process, split into anonymous (private) and file-backed (shared) MB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


class Results:
    def __init__(self, path: str | Path | None = None) -> None:
        chosen = path or os.environ.get("QA_BENCH_RESULTS")
        self.path = Path(chosen) if chosen else None

    def add(self, section: str, metric: str, value: float | str, unit: str = "",
            target: str | None = None, met: bool | None = None, note: str = "") -> None:
        row = {"section": section, "metric": metric, "value": value, "unit": unit,
               "target": target, "met": met, "note": note}
        if self.path:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _fmt(value: float | str) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def machine() -> str:
    """The CPU the numbers were measured on, its cores, and the precision ``auto`` takes
    there. Timings from different machines do not compare: bf16 read a passage 1.7x
    faster than fp32 on one (AMD EPYC) and 0.6x as fast on another (Intel Xeon)."""
    from qa_service.models import available_cores, bf16_speedup, resolve_precision

    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                 platform.processor() or "unknown CPU")
    return (f"{model}, {available_cores()} cores; precision auto: {resolve_precision('auto')} "
            f"(bf16 multiplies at {bf16_speedup():.2f}x fp32's speed)")


def print_table(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    print("\n# make bench: all results\n")
    print(f"Measured on {machine()}.\n")
    print("| section | measure | value | target | met | note |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        value = f"{_fmt(r['value'])} {r['unit']}".strip()
        print(f"| {r['section']} | {r['metric']} | {value} | {r['target'] or ''} | {met} | {r['note']} |")


if __name__ == "__main__":
    print_table(Path(sys.argv[1]))
