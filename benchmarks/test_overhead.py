"""Per-example overhead: the plugin running a claim vs a hand-written Hypothesis test.

Two ratios per representative claim, both measured side by side (interleaved) in one run:

* ``per-example``: ``running.run_claim`` on the cpu slot with the ``ci`` profile (25 examples)
  vs the hand-written ``@given`` test with ``max_examples=25``, over the same 15 seeds, each
  seed running both sides back to back; each side's time is divided by the number of examples it
  actually ran, and the ratio is the median over seeds. Target: at most 1.2x.
* ``evaluator``: no Hypothesis at all: ``materialize`` + ``run_steps`` + ``run_checks`` on one
  fixed Example vs plain Python doing the same torch work on the same arrays. This isolates the
  restricted expression evaluator and materialization; it is reported, not targeted.
"""
from __future__ import annotations

import time

import pytest
from hypothesis import seed

from cases import CASES, Case
from conformance import devices, profiles, running
from conformance.strategies import materialize
from sidebyside import Ratio, median, record, side_by_side

SLOT = devices.Slot("cpu", "cpu")
ROUNDS = 15
WARMUP = 1
EVALUATOR_INNER = 200
TARGET = 1.2


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_per_example_overhead(benchmark, case: Case):
    benchmark.group = "per-example: plugin vs hand-written (25 examples)"
    claim = case.compile()
    hand_count = [0]
    hand = case.make_handwritten(hand_count)
    rounds: dict[str, list[tuple[float, int]]] = {"plugin": [], "hand": []}  # (seconds, examples) per timed round
    calls = {"plugin": 0, "hand": 0}

    # Round k runs both sides with seed k (the plugin: --conformance-seed=k; the hand-written
    # test: @seed(k), which takes precedence over derandomize). Which examples a seed yields
    # moves the time per example by tens of percent (bigger arrays, more backward calls), so
    # one fixed seed per side would compare example streams, not overheads.
    def plugin() -> None:
        k = calls["plugin"]
        calls["plugin"] += 1
        stats = running.RunStats()
        start = time.perf_counter()
        running.run_claim(claim, SLOT, profiles.choose("ci", k), stats)
        if k >= WARMUP:
            rounds["plugin"].append((time.perf_counter() - start, stats.examples))

    def handwritten() -> None:
        k = calls["hand"]
        calls["hand"] += 1
        seed(k)(hand)
        before = hand_count[0]
        start = time.perf_counter()
        hand()
        if k >= WARMUP:
            rounds["hand"].append((time.perf_counter() - start, hand_count[0] - before))

    side_by_side(benchmark, plugin, handwritten, rounds=ROUNDS, warmup=WARMUP)
    # The ratio is the median over seeds of the paired per-example ratio: both sides of a seed
    # run back to back, so a busy moment on a shared machine slows both; the total-time ratio
    # is kept beside it.
    paired = [(tp / max(np_, 1)) / (th / max(nh, 1)) for (tp, np_), (th, nh) in zip(rounds["plugin"], rounds["hand"])]
    examples = {side: sum(n for _, n in rounds[side]) for side in rounds}
    per = {side: sum(t for t, _ in rounds[side]) / examples[side] for side in rounds}
    record(benchmark, Ratio(
        name=f"per-example {case.name}", numerator="plugin", denominator="hand", ratio=median(paired),
        num_value=per["plugin"] * 1e6, den_value=per["hand"] * 1e6, unit="us",
        note=f"median of {len(paired)} seeds' paired ratios; total-time ratio {per['plugin'] / per['hand']:.3f}x; "
             f"target <= {TARGET}x; {examples['plugin']} vs {examples['hand']} examples",
        extra={"examples_plugin": examples["plugin"], "examples_hand": examples["hand"],
               "total_time_ratio": round(per["plugin"] / per["hand"], 4),
               "paired_ratios": [round(r, 4) for r in paired]}))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_evaluator_overhead(benchmark, case: Case):
    benchmark.group = "evaluator: materialize+steps+checks vs plain Python (no Hypothesis)"
    claim = case.compile()
    example = case.fixed_example()

    def plugin() -> None:
        env = materialize(claim.plans, example, SLOT.device, SLOT.other_device)
        running.run_steps(claim.steps, env)
        running.run_checks(claim.checks, env)

    plugin()  # the fixed example must pass, or the comparison means nothing
    case.plain()
    plugin_times, plain_times = side_by_side(benchmark, plugin, case.plain, rounds=ROUNDS, warmup=WARMUP,
                                              inner=EVALUATOR_INNER)
    per_plugin, per_plain = median(plugin_times), median(plain_times)
    record(benchmark, Ratio(
        name=f"evaluator {case.name}", numerator="plugin", denominator="plain", ratio=per_plugin / per_plain,
        num_value=per_plugin * 1e6, den_value=per_plain * 1e6, unit="us",
        note=f"extra {1e6 * (per_plugin - per_plain):.1f} us per example"))
