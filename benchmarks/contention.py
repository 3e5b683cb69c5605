"""Speed on a busy machine: `qa-service ask` and `qa-service index`, idle and beside one
other CPU-bound process, side by side in one run.

Each measurement runs the real CLI in a child process, as a user would. The other
process stops when the measurement does (and after 15 minutes at most):
- python: a plain loop that keeps one core busy (the issue's "one CPU-bound process";
  the ratio to idle must stay near what losing a core costs, <= 2x);
- torch: a small torch job on every core with libgomp's defaults, whose OpenMP threads
  spin when idle (someone else's training, say): more than one core's load, reported
  without a target.
Each busy case runs as shipped and as before this project set a wait policy and thread
counts (libgomp's default spinning waits, torch on every core), for comparison.

ask: p50 and p95 of `took_ms` over the bulletin questions, on an index of corpus/.
build: texts embedded per second (chunks and sentences) by a full build of the first
CMRC dev paragraphs; a build as before stops after ten times the idle one's time.

    python benchmarks/contention.py [--questions 20] [--paragraphs 40] [--results FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.corpora import load_cmrc, write_paragraphs  # noqa: E402
from benchmarks.live_server import CLI  # noqa: E402
from benchmarks.results import Results, median, percentile  # noqa: E402

BULLETIN_QUESTIONS = ROOT / "benchmarks" / "bulletin_questions.jsonl"
# The other process: a plain Python loop, or a torch job with libgomp's defaults.
OTHER_PROCESS = {
    "python": "import time\nend = time.monotonic() + 900\nwhile time.monotonic() < end:\n    pass\n",
    "torch": "import time, torch\nx, w = torch.randn(64, 384), torch.randn(384, 1536)\n"
             "end = time.monotonic() + 900\nwhile time.monotonic() < end:\n    torch.relu(x @ w)\n",
}
SECTION = "busy machine"
# libgomp ignores a wait policy it does not know (with a warning) and spins as it does
# when none is set; set, it also keeps the CLI from choosing the passive policy.
LIBGOMP_DEFAULT = "libgomp-default"


# (name, the other process or None, our child as before this project set threads)
CONDITIONS = (("idle", None, False),
              ("python loop", "python", False), ("python loop, as before", "python", True),
              ("torch job", "torch", False), ("torch job, as before", "torch", True))


@contextmanager
def busy(other: str | None) -> Iterator[None]:
    """One other CPU-bound process for the duration, when ``other`` names one."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")}
    process = subprocess.Popen([sys.executable, "-c", OTHER_PROCESS[other]], env=env) if other else None
    try:
        time.sleep(2 if other == "torch" else 0)  # torch takes a moment to import
        yield
    finally:
        if process:
            process.kill()
            process.wait()


def child_env(before: bool) -> dict[str, str]:
    """A child's environment: as shipped, or as before (spinning waits, every core)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "QA_TORCH_THREADS")}
    env["HF_HUB_OFFLINE"] = "1"
    if before:
        env["OMP_WAIT_POLICY"] = LIBGOMP_DEFAULT
        env["QA_TORCH_THREADS"] = str(len(os.sched_getaffinity(0)))
    return env


def ask_times(index_dir: Path, questions: list[str], before: bool) -> list[float]:
    """took_ms of each question, asked through `qa-service ask -` in one child process."""
    done = subprocess.run([*CLI, "ask", "-", "--index-dir", str(index_dir)], input="\n".join(questions),
                          capture_output=True, text=True, env=child_env(before), cwd=ROOT,
                          timeout=900, check=True)
    return [json.loads(line)["took_ms"] for line in done.stdout.splitlines() if line.strip()]


def build_rate(corpus: Path, index_dir: Path, before: bool, limit: float) -> float | None:
    """Texts (chunks + sentences) embedded per second by a full build; None past ``limit`` s.

    The rate is taken from the build summary, so loading the model does not count."""
    try:
        done = subprocess.run([*CLI, "index", "--full", "--json", "--corpus", str(corpus),
                               "--index-dir", str(index_dir)], capture_output=True, text=True,
                              env=child_env(before), cwd=ROOT, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return None
    summary = json.loads(done.stdout)
    return (summary["chunks_embedded"] + summary["sentences_embedded"]) / summary["embed_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--paragraphs", type=int, default=40, help="CMRC dev paragraphs for the build")
    parser.add_argument("--results", default=None)
    args = parser.parse_args()
    results = Results(args.results)
    rows = [json.loads(line) for line in BULLETIN_QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    questions = [r["question"] for r in rows][: args.questions]
    cores = len(os.sched_getaffinity(0))
    print(f"# a busy machine: {cores} cores, one other process spinning one of them")

    with tempfile.TemporaryDirectory() as tmp:
        ask_index = Path(tmp) / "ask-index"
        subprocess.run([*CLI, "index", "--json", "--corpus", str(ROOT / "corpus"), "--index-dir",
                        str(ask_index)], capture_output=True, env=child_env(False), cwd=ROOT, check=True)
        asked = {}
        for name, other, before in CONDITIONS:
            with busy(other):
                times = ask_times(ask_index, questions, before)
            asked[name] = (median(times), percentile(times, 0.95))
            print(f"ask, {name}: p50 {asked[name][0]:.1f} ms, p95 {asked[name][1]:.1f} ms "
                  f"({len(times)} questions)")
        idle = asked["idle"][0]
        for name, other, before in CONDITIONS[1:]:
            ratio = asked[name][0] / idle
            target = other == "python" and not before
            results.add(SECTION, f"ask p50, idle / beside a {name}", f"{idle:.1f} / {asked[name][0]:.1f} ms",
                        "", "ratio <= 2" if target else None, ratio <= 2.0 if target else None,
                        note=f"ratio {ratio:.2f}; p95 {asked['idle'][1]:.1f} / {asked[name][1]:.1f} ms")

        corpus = Path(tmp) / "build-corpus"
        paragraphs, _ = load_cmrc("dev", args.paragraphs)
        write_paragraphs(corpus, paragraphs)
        rates: dict[str, float | None] = {}
        limit = 900.0  # after the idle build: ten times its embedding time and a minute
        for name, other, before in CONDITIONS:
            with busy(other):
                rates[name] = build_rate(corpus, Path(tmp) / "build-index", before, limit)
            shown = f"{rates[name]:.1f} texts/s" if rates[name] else f"stopped after {limit:.0f} s"
            print(f"build ({args.paragraphs} CMRC paragraphs), {name}: {shown}")
            if name == "idle" and rates[name]:
                texts = len(paragraphs) * 15  # about 3 chunks and 12 sentences each
                limit = min(limit, 60 + 10 * texts / rates[name])
        base = rates["idle"] or 0.0
        for name, other, before in CONDITIONS[1:]:
            rate = rates[name]
            ratio = base / rate if rate else float("inf")
            target = other == "python" and not before
            results.add(SECTION, f"build rate, idle / beside a {name}",
                        f"{base:.1f} / {rate:.1f} texts/s" if rate else f"{base:.1f} / did not finish",
                        "", "ratio <= 2" if target else None, ratio <= 2.0 if target else None,
                        note=f"ratio {ratio:.2f}; {args.paragraphs} CMRC dev paragraphs")


if __name__ == "__main__":
    main()
