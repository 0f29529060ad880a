"""Whole-suite time: the conformance run, serial vs ``-n 2`` (pytest-xdist), side by side.

Runs exactly the documented command, ``pytest specs -p no:cacheprovider --conformance-profile=ci``,
in a subprocess from the repository root, once serially and once with ``-n 2``, and reports both
wall times and their ratio (the speed-up from the second core). Whether the suite passes is
recorded, not asserted: spec authors' work in progress must not make the benchmark fail.
Where the time goes inside one run: ``python benchmarks/profile_suite.py``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sidebyside import Ratio, record

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "pytest", "specs", "-p", "no:cacheprovider", "--conformance-profile=ci", "-q",
           "--no-header"]


def _run(extra: list[str]) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    start = time.perf_counter()
    done = subprocess.run(COMMAND + extra, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed|skipped)", line)]
    return elapsed, (lines[-1].strip("= ") if lines else f"exit {done.returncode}")


def test_whole_suite_serial_vs_xdist(benchmark):
    pytest.importorskip("xdist")
    benchmark.group = "whole suite: pytest specs --conformance-profile=ci"
    times: dict[str, float] = {}
    outcome: dict[str, str] = {}

    def one_round() -> None:
        for name, extra in (("serial", []), ("n2", ["-n", "2"])):
            times[name], outcome[name] = _run(extra)

    benchmark.pedantic(one_round, rounds=1, iterations=1)
    benchmark.extra_info.update({"serial_s": round(times["serial"], 2), "n2_s": round(times["n2"], 2),
                                 "serial_outcome": outcome["serial"], "n2_outcome": outcome["n2"],
                                 "cpus": os.cpu_count()})
    record(benchmark, Ratio(
        name="whole suite serial vs -n 2", numerator="serial", denominator="-n 2",
        ratio=times["serial"] / times["n2"], num_value=times["serial"], den_value=times["n2"], unit="s",
        note=f"speed-up from xdist on {os.cpu_count()} cpus; serial: {outcome['serial']}; -n 2: {outcome['n2']}"))
