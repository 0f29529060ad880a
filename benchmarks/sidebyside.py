"""Time two callables side by side, interleaved, and report the ratio of their medians.

pytest-benchmark times one function per test; here that function is one *round*: it runs both
sides once (alternating which goes first, so neither always gets the warm cache) and records each
side's own time. The benchmark table then shows the round time, and the test stores the two
medians and their ratio in ``benchmark.extra_info`` and in the ratio summary printed at the end
of the run (conftest.py). No timing is ever asserted.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

RATIOS: list["Ratio"] = []  # printed by conftest.pytest_terminal_summary


@dataclass
class Ratio:
    name: str
    numerator: str
    denominator: str
    ratio: float
    num_value: float
    den_value: float
    unit: str
    note: str = ""
    extra: dict = field(default_factory=dict)

    def line(self) -> str:
        return (f"{self.name}: {self.numerator} {self.num_value:.4g} {self.unit} / "
                f"{self.denominator} {self.den_value:.4g} {self.unit} = {self.ratio:.3f}x"
                + (f"  ({self.note})" if self.note else ""))


def record(benchmark, ratio: Ratio) -> Ratio:
    RATIOS.append(ratio)
    if benchmark is not None:
        benchmark.extra_info.update({
            "ratio": round(ratio.ratio, 4),
            f"{ratio.numerator}_{ratio.unit}": round(ratio.num_value, 4),
            f"{ratio.denominator}_{ratio.unit}": round(ratio.den_value, 4),
            **ratio.extra,
        })
    return ratio


def side_by_side(benchmark, first: Callable[[], object], second: Callable[[], object], *,
                 rounds: int, warmup: int = 1, inner: int = 1) -> tuple[list[float], list[float]]:
    """Run ``first`` and ``second`` interleaved for ``rounds`` timed rounds (after ``warmup``).

    Each side is called ``inner`` times per round; the per-call seconds of each round are returned.
    """
    a_times: list[float] = []
    b_times: list[float] = []
    state = {"round": 0}

    def one(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        return (time.perf_counter() - start) / inner

    def pair() -> None:
        if state["round"] % 2 == 0:
            a, b = one(first), one(second)
        else:
            b, a = one(second), one(first)
        state["round"] += 1
        a_times.append(a)
        b_times.append(b)

    if benchmark is None:
        for _ in range(warmup + rounds):
            pair()
    else:
        benchmark.pedantic(pair, rounds=rounds, warmup_rounds=warmup, iterations=1)
    # pytest-benchmark runs the warmup rounds through the same function; drop them.
    return a_times[-rounds:], b_times[-rounds:]


def median(values: list[float]) -> float:
    return statistics.median(values)
