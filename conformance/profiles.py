"""Hypothesis profiles and per-item seeds.

Note [Reproducible runs]
Three profiles: ``ci`` (derandomized: base seed 0, 25 examples), ``dev`` (random base seed,
50 examples) and ``deep`` (random base seed, 500 examples). The base seed is printed in the
run's header; ``--conformance-seed=N`` reruns with it. Each item (claim x device slot) gets its
own seed, derived from the base seed and the item's id, and its own Hypothesis database key:
generated test functions share their source code, so without this every claim would draw the
same examples in the same order. No example database is used, so with the same code a seed
decides the examples and a rerun with it draws exactly the same ones. (Hypothesis also mines
number literals from local source files, the editable-installed ``conformance/`` among them,
so an edit to the engine may change what a given seed draws; a released install does not.)
"""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings

PROFILES = {
    "ci": {"max_examples": 25, "random_seed": False},
    "dev": {"max_examples": 50, "random_seed": True},
    "deep": {"max_examples": 500, "random_seed": True},
}
ENV_VAR = "CONFORMANCE_PROFILE"


@dataclass(frozen=True)
class RunProfile:
    name: str
    max_examples: int
    base_seed: int

    def item_seed(self, item_key: str) -> int:
        digest = hashlib.sha256(f"{self.base_seed}:{item_key}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    def settings(self, max_examples: int | None = None, shrink: bool = True) -> settings:
        count = self.max_examples if max_examples is None else min(max_examples, self.max_examples)
        phases = (Phase.explicit, Phase.generate, Phase.shrink) if shrink else (Phase.explicit, Phase.generate)
        return settings(
            max_examples=count,
            deadline=None,
            database=None,
            derandomize=False,
            print_blob=False,
            report_multiple_bugs=False,
            phases=phases,
            suppress_health_check=list(HealthCheck),
        )


def choose(name: str | None, seed: int | None) -> RunProfile:
    name = name or os.environ.get(ENV_VAR) or ("ci" if os.environ.get("CI") else "dev")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    spec = PROFILES[name]
    if seed is None:
        seed = random.SystemRandom().randrange(2**32) if spec["random_seed"] else 0
    return RunProfile(name=name, max_examples=spec["max_examples"], base_seed=seed)
