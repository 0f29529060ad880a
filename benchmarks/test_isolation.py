"""Isolation overhead: a claim run bare vs guarded (the default mode) vs in a forked child.

Three sides per representative claim, measured interleaved in one run (``side_by_side``):

* ``bare``: ``running.run_claim`` alone;
* ``guarded``: ``isolation.run_item(..., isolate=False)``: snapshot, item deadline, restore and
  the state-leak check around the same call (what every item pays by default);
* ``isolated``: ``isolation.run_item(..., isolate=True)``: the same in a forked child under
  ``--conformance-isolate``'s limits.

Both ratios use ``bare`` as the denominator. torch runs single-threaded on all sides (isolated
mode forces it; see Note [Isolation]), so the ratios compare the isolation machinery only.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from cases import CASES, Case
from conformance import devices, isolation, profiles, running
from sidebyside import Ratio, median, record, side_by_side

SLOT = devices.Slot("cpu", "cpu")
ROUNDS = 7


@pytest.fixture(autouse=True)
def single_threaded():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_isolation_overhead(benchmark, case: Case):
    benchmark.group = "isolation: bare vs guarded (default) vs forked child (--conformance-isolate)"
    claim = case.compile()
    profile = profiles.choose("ci", 0)

    def item() -> SimpleNamespace:
        return SimpleNamespace(claim=claim, slot=SLOT, stats=running.RunStats())

    def bare() -> None:
        running.run_claim(claim, SLOT, profile, running.RunStats())

    def guarded() -> None:
        isolation.run_item(item(), profile, running.run_claim, isolate=False)

    def isolated() -> None:
        isolation.run_item(item(), profile, running.run_claim, isolate=True)

    bare_a, guarded_t = side_by_side(benchmark, bare, guarded, rounds=ROUNDS, warmup=1)
    bare_b, isolated_t = side_by_side(None, bare, isolated, rounds=ROUNDS, warmup=1)
    for name, times, base in (("guarded", guarded_t, bare_a), ("isolated", isolated_t, bare_b)):
        record(benchmark if name == "guarded" else None, Ratio(
            name=f"isolation {case.name}", numerator=name, denominator="bare", ratio=median(times) / median(base),
            num_value=median(times) * 1e3, den_value=median(base) * 1e3, unit="ms",
            note=f"median of {ROUNDS} interleaved rounds, one item of the ci profile each"))
