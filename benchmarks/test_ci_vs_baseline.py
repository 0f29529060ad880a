"""The ``ci`` profile run of this checkout against a baseline checkout, side by side.

Wider draws (layouts, ranks 0 to 4, every floating dtype) and more claims must not make the
default run slow: the target is at most 1.5x the baseline's serial ``ci`` run. The baseline is
another checkout of the project with its own virtual environment (for example ``main`` before
the change), named by ``BENCH_BASELINE_ROOT``; its interpreter is ``$BENCH_BASELINE_ROOT/.venv/bin/python``
unless ``BENCH_BASELINE_PYTHON`` says otherwise. Without it the benchmark is skipped.

Both sides run exactly the documented command (``pytest specs -p no:cacheprovider
--conformance-profile=ci``, serial, CPU devices as the machine has them) in a subprocess from
their own root, interleaved round by round (alternating which goes first), and the figure is
the ratio of the median wall times. Nothing about time is asserted; a side whose run does not
pass (failed claims, spec errors: less work, so a meaningless ratio) fails the benchmark.

    BENCH_BASELINE_ROOT=/work/main .venv/bin/python -m pytest benchmarks/test_ci_vs_baseline.py -p no:cacheprovider
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sidebyside import Ratio, record

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["-m", "pytest", "specs", "-p", "no:cacheprovider", "--conformance-profile=ci", "-q", "--no-header"]
ROUNDS = int(os.environ.get("BENCH_CI_ROUNDS", "2"))


def _run(python: str, root: Path) -> tuple[float, str, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "CONFORMANCE_MUTANT")}
    start = time.perf_counter()
    done = subprocess.run([python, *ARGS], cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed|skipped|errors?)", line)]
    return elapsed, (lines[-1].strip("= ") if lines else f"exit {done.returncode}"), done.returncode


def test_ci_run_against_the_baseline_checkout(benchmark):
    base_root = os.environ.get("BENCH_BASELINE_ROOT")
    if not base_root:
        pytest.skip("set BENCH_BASELINE_ROOT to a baseline checkout (with its .venv) to compare against")
    base_root_path = Path(base_root).resolve()
    base_python = os.environ.get("BENCH_BASELINE_PYTHON", str(base_root_path / ".venv" / "bin" / "python"))
    benchmark.group = "ci run: this checkout vs baseline"
    times: dict[str, list[float]] = {"this": [], "baseline": []}
    outcome: dict[str, str] = {}
    failed: dict[str, str] = {}
    state = {"round": 0}

    def one_round() -> None:
        sides = [("this", sys.executable, ROOT), ("baseline", base_python, base_root_path)]
        if state["round"] % 2:
            sides.reverse()
        state["round"] += 1
        for name, python, root in sides:
            elapsed, outcome[name], returncode = _run(python, root)
            times[name].append(elapsed)
            if returncode != 0:
                # A run with failing claims or spec errors does less work than a passing one: a ratio
                # against it would be meaningless (a broken baseline commit looks fast).
                failed[name] = f"exit status {returncode}: {outcome[name]} ({root})"

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)
    if failed:
        pytest.fail("the ci run must pass on both sides to be compared; "
                    + "; ".join(f"{name}: {why}" for name, why in failed.items()), pytrace=False)
    this, base = statistics.median(times["this"]), statistics.median(times["baseline"])
    benchmark.extra_info.update({"this_s": [round(t, 2) for t in times["this"]],
                                 "baseline_s": [round(t, 2) for t in times["baseline"]],
                                 "this_outcome": outcome["this"], "baseline_outcome": outcome["baseline"],
                                 "baseline_root": str(base_root_path)})
    record(benchmark, Ratio(
        name="ci run this vs baseline", numerator="this", denominator="baseline", ratio=this / base,
        num_value=this, den_value=base, unit="s",
        note=f"median of {ROUNDS} interleaved serial runs; this: {outcome['this']}; baseline: {outcome['baseline']}"))
