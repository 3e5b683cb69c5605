"""Threads on a busy machine: passive OpenMP waits at every entry point, one thread-count
setting, and a thread count per thread of work (models/threads.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from qa_service.models import QUESTION_THREADS, prefer_passive_waits, resolve_threads, use_threads

from ..conftest import ROOT


def test_passive_waits_are_the_default_but_an_explicit_policy_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    prefer_passive_waits()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    prefer_passive_waits()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_the_cli_chooses_passive_waits_before_torch_is_loaded() -> None:
    # A fresh interpreter, as a user's `qa-service`: the policy must be in place by the time
    # a command would import torch (OpenMP reads it once, when torch loads it).
    probe = ("import os, sys\n"
             "from qa_service import cli\n"
             "cli.main(['model', '--help'], standalone_mode=False)\n"
             "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split()[-2:] == ["PASSIVE", "False"]


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
