"""Threads on a busy machine: passive OpenMP waits at every entry point, one thread-count
setting, and a thread count per thread of work (models/threads.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from qa_service.models import QUESTION_THREADS, prefer_passive_waits, resolve_threads, threads, use_threads

from ..conftest import ROOT


def test_passive_waits_after_a_short_spin_are_the_default_but_an_explicit_policy_wins(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    prefer_passive_waits()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert os.environ["GOMP_SPINCOUNT"] == threads.SPIN_COUNT
    # A policy of the user's own: no spin count that would override what it means.
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.delenv("GOMP_SPINCOUNT")
    prefer_passive_waits()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    assert "GOMP_SPINCOUNT" not in os.environ
    # A spin count of the user's own stays.
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "0")
    prefer_passive_waits()
    assert os.environ["GOMP_SPINCOUNT"] == "0"


def test_the_cli_chooses_passive_waits_before_torch_is_loaded() -> None:
    # A fresh interpreter, as a user's `qa-service`: the policy must be in place by the time
    # a command would import torch (OpenMP reads it once, when torch loads it).
    probe = ("import os, sys\n"
             "from qa_service import cli\n"
             "cli.main(['model', '--help'], standalone_mode=False)\n"
             "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'), "
             "'torch' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split()[-3:] == ["PASSIVE", threads.SPIN_COUNT, "False"]


def test_thread_setting_defaults_to_the_cores_this_process_may_use() -> None:
    assert resolve_threads(0) == resolve_threads(None) == len(os.sched_getaffinity(0))
    assert resolve_threads(3) == 3
    with pytest.raises(ValueError, match="positive"):
        resolve_threads(-1)


def test_each_thread_keeps_the_count_it_asked_for() -> None:
    import torch
    seen: dict[str, int] = {}

    def build() -> None:
        use_threads(2)
        seen["build"] = torch.get_num_threads()

    def question() -> None:
        # Started after the build thread set 2: torch would hand it 2 unless it asks.
        use_threads(QUESTION_THREADS)
        seen["question"] = torch.get_num_threads()

    for target in (build, question):
        worker = threading.Thread(target=target)
        worker.start()
        worker.join()
    assert seen == {"build": 2, "question": QUESTION_THREADS}


@pytest.mark.parametrize(("runnable", "idle"), [("1/300", 2), ("2/300", 1), ("5/300", 1)])
def test_idle_cores_leave_out_threads_running_elsewhere_now(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, runnable: str, idle: int) -> None:
    # /proc/loadavg counts the caller among the runnable threads.
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    loadavg = tmp_path / "loadavg"
    loadavg.write_text(f"0.50 0.40 0.30 {runnable} 12345\n")
    assert threads.idle_cores(loadavg) == idle


def test_idle_cores_are_every_core_where_the_kernel_does_not_say(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    assert threads.idle_cores(tmp_path / "missing") == 2
    garbled = tmp_path / "loadavg"
    garbled.write_text("no numbers here\n")
    assert threads.idle_cores(garbled) == 2
