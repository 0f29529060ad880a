"""Hypothesis profiles and per-item seeds.

Note [Reproducible runs]
Three profiles: ``ci`` (derandomized: base seed 0, 25 examples), ``dev`` (random base seed,
50 examples) and ``deep`` (random base seed, 500 examples). The base seed is printed after
collection; ``--conformance-seed=N`` reruns with it. Each item (claim x device slot) gets its
own seed, derived from the base seed and the item's id, and its own Hypothesis database key:
generated test functions share their source code, so without this every claim would draw the
same examples in the same order. No example database is used, so with the same code a seed
decides the examples and a rerun with it draws exactly the same ones. (Hypothesis also mines
number literals from local source files, the editable-installed ``conformance/`` among them,
so an edit to the engine may change what a given seed draws; a released install does not.)

Note [Hypothesis conventions]
Hypothesis's own pytest options are honoured, with this precedence:

* profile: ``--conformance-profile`` (or its ini key / env var) > ``--hypothesis-profile NAME``
  (a registered Hypothesis profile: its ``max_examples``, ``deadline``, ``verbosity``,
  ``suppress_health_check`` and ``derandomize`` apply; the database stays off and seeds stay
  per item) > ``ci`` when ``CI`` is set > ``dev``.
* base seed: ``--conformance-seed`` > ``--hypothesis-seed`` (an integer is used as is, any other
  text through SHA-256) > 0 for a derandomized profile > a fresh random seed. Hypothesis's
  global seed is never what decides a claim's examples: the per-item seed of Note [Reproducible
  runs] takes precedence over it, so the mapping is explicit and printed.
* examples: ``--conformance-max-examples=N`` > the profile (capped by a claim's own
  ``max_examples``).
"""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from typing import Any

PROFILES = {
    "ci": {"max_examples": 25, "random_seed": False},
    "dev": {"max_examples": 50, "random_seed": True},
    "deep": {"max_examples": 500, "random_seed": True},
}
ENV_VAR = "CONFORMANCE_PROFILE"
HYPOTHESIS_PREFIX = "hypothesis:"


@dataclass(frozen=True)
class RunProfile:
    name: str
    max_examples: int
    base_seed: int
    override_examples: bool = False  # --conformance-max-examples: beats a claim's own limit too

    def item_seed(self, item_key: str) -> int:
        digest = hashlib.sha256(f"{self.base_seed}:{item_key}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    @property
    def hypothesis_profile(self) -> str | None:
        return self.name[len(HYPOTHESIS_PREFIX):] if self.name.startswith(HYPOTHESIS_PREFIX) else None

    def rerun_options(self) -> str:
        """The options that rerun the same examples."""
        prof = self.hypothesis_profile
        out = (f"--hypothesis-profile={prof}" if prof else f"--conformance-profile={self.name}")
        out += f" --conformance-seed={self.base_seed}"
        if self.override_examples:
            out += f" --conformance-max-examples={self.max_examples}"
        return out

    def settings(self, max_examples: int | None = None, shrink: bool = True) -> Any:
        from hypothesis import HealthCheck, Phase, settings

        if self.override_examples or max_examples is None:
            count = self.max_examples
        else:
            count = min(max_examples, self.max_examples)
        phases = (Phase.explicit, Phase.generate, Phase.shrink) if shrink else (Phase.explicit, Phase.generate)
        prof = self.hypothesis_profile
        forced = dict(max_examples=count, database=None, derandomize=False, print_blob=False,
                      report_multiple_bugs=False, phases=phases)
        if prof is not None:  # the user's registered profile decides the rest
            return settings(settings.get_profile(prof), **forced)
        return settings(deadline=None, suppress_health_check=list(HealthCheck), **forced)


def seed_from_text(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        return int.from_bytes(hashlib.sha256(str(text).encode()).digest()[:4], "big")


def choose(name: str | None, seed: int | None, *, hypothesis_profile: str | None = None,
           hypothesis_seed: str | None = None, max_examples: int | None = None,
           random_seed: int | None = None) -> RunProfile:
    """The run's profile (Note [Hypothesis conventions]); raises ValueError for an unknown name."""
    name = name or os.environ.get(ENV_VAR)
    if name is None and hypothesis_profile:
        from hypothesis import settings

        try:
            parent = settings.get_profile(hypothesis_profile)
        except Exception:
            raise ValueError(f"--hypothesis-profile: no Hypothesis profile named {hypothesis_profile!r} "
                             f"is registered") from None
        count, derandomized = parent.max_examples, bool(parent.derandomize)
        name = HYPOTHESIS_PREFIX + hypothesis_profile
    else:
        name = name or ("ci" if os.environ.get("CI") else "dev")
        if name not in PROFILES:
            raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
        count, derandomized = PROFILES[name]["max_examples"], not PROFILES[name]["random_seed"]
    if seed is None and hypothesis_seed is not None:
        seed = seed_from_text(hypothesis_seed)
    if seed is None:
        seed = 0 if derandomized else (random_seed if random_seed is not None
                                       else random.SystemRandom().randrange(2**32))
    if max_examples is not None:
        if max_examples < 1:
            raise ValueError(f"--conformance-max-examples must be at least 1, got {max_examples}")
        return RunProfile(name=name, max_examples=max_examples, base_seed=seed, override_examples=True)
    return RunProfile(name=name, max_examples=count, base_seed=seed)
