"""Step 5: run a compiled claim on one device slot under Hypothesis, and check its verdict.

Note [Running a claim]
``run_claim`` builds, per item, a fresh test function decorated with ``@given`` over the claim's
example strategy, the claim's pinned examples as ``@example``s, the profile's settings, and the
item's own seed and database key (Note [Reproducible runs]). One run of it materializes an
Example on the slot's device, runs the steps in order (a step may have to raise or warn), then
evaluates every expectation. A ``ClaimFailure`` carries the Example it failed on; Hypothesis
shrinks and re-raises the minimal one, which the report shows in the spec's own names.

For ``refined`` and ``refuted`` claims, after the claim itself has passed, the same strategy is
searched (pinned examples first, then generated ones, no shrinking) for one example where the
check named by ``refuted_by`` refutes the article's statement as stated (Note [Checked verdicts]
in verdicts.py). If none does, the verdict no longer matches torch (``VerdictMismatch``); if the
as-stated block fails in any other way, it is a ``VerdictCheckError``, never a confirmation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import example as pin
from hypothesis import given, seed

from . import expressions
from .assertions import ClaimFailure, StepFailed, first_line
from .compiling import CompiledCheck, CompiledClaim, CompiledStep
from .devices import Slot
from .errors import SpecError
from .profiles import RunProfile
from .strategies import Example, example_strategy, materialize
from .verdicts import VerdictCheckError, run_stated


class VerdictMismatch(Exception):
    """The article's statement as stated held on every example tried: the verdict is stale."""

    def __init__(self, claim: CompiledClaim, examples: int):
        self.claim, self.examples = claim, examples
        super().__init__(self.render())

    def render(self) -> str:
        c = self.claim.claim
        named = self.claim.refutation.describe() if self.claim.refutation else "as_stated"
        return (f"verdict '{c.verdict}' no longer matches torch: the check that carries the article's statement, "
                f"{named}, did not refute it on any of the {self.examples} examples tried. If torch changed, "
                f"make the claim 'holds' (or narrow the refinement) for this torch version range.")


class SpecRuntimeError(Exception):
    """A spec expression was refused while running (budget, disallowed value): the spec's fault."""


@dataclass
class RunStats:
    examples: int = 0
    stated_examples: int = 0
    verdict_check: str = "not applicable"  # or "confirmed", "mismatch", "error", "not run"
    stated_example: Example | None = None
    refuted_by: str | None = None  # how the named check refuted the article, when confirmed
    failures_seen: int = 0
    extra: dict = field(default_factory=dict)


def run_steps(steps: list[CompiledStep], env: dict) -> None:
    for step in steps:
        try:
            step.run(env)
        except ClaimFailure:
            raise
        except expressions.ExpressionError:
            raise
        except Exception as exc:
            raise StepFailed(step.at, step.written, f"raised {type(exc).__name__}: {first_line(exc)}") from None


def run_checks(checks: list[CompiledCheck], env: dict) -> None:
    for check in checks:
        try:
            check.run(env)
        except ClaimFailure:
            raise
        except expressions.ExpressionError:
            raise
        except Exception as exc:
            from .assertions import CheckFailed

            raise CheckFailed(check.at, check.kind, check.written,
                              detail=f"evaluating it raised {type(exc).__name__}: {exc}") from None


def run_once(claim: CompiledClaim, slot: Slot, ex: Example, stated: bool = False) -> str | None:
    """Run the claim (or, ``stated``, its as-stated block: see ``verdicts.run_stated``) on one example."""
    import torch

    grad_mode = torch.is_grad_enabled()  # Note [Grad mode set by a plain call]
    try:
        env = materialize(claim.plans, ex, slot.device, slot.other_device)
        for name, _, helper in claim.helpers:  # Note [Spec helpers]
            env[name] = helper(env)
        if stated:
            return run_stated(claim, env)
        run_steps(claim.steps, env)
        run_checks(claim.checks, env)
        return None
    finally:
        torch.set_grad_enabled(grad_mode)


# Note [Grad mode set by a plain call]
# The articles state torch.set_grad_enabled(mode) as a function, and a claim about it must be able
# to call it plainly (not only as ``with``). It is the one global setter a spec may call outside a
# ``with`` (cost ``gradmode`` in the allowlist table): grad mode is thread-local, and every example
# restores the mode it started with, whatever the steps did or raised, so no later example or
# claim sees it (the per-item snapshot in isolation.py checks that too).


def run_claim(claim: CompiledClaim, slot: Slot, profile: RunProfile, stats: RunStats) -> None:
    """Run one item; raise ClaimFailure, VerdictMismatch or SpecRuntimeError when it does not pass."""
    key = f"{claim.id}[{slot.label}]"
    strategy = example_strategy(claim.plans, slot.device, slot.other_device)

    def property_(ex: Example) -> None:
        stats.examples += 1
        try:
            run_once(claim, slot, ex)
        except ClaimFailure as failure:
            failure.example = ex
            stats.failures_seen += 1
            raise
        except expressions.ExpressionError as exc:
            raise SpecRuntimeError(f"{claim.file}:{claim.line}: {claim.id}: {exc.message}") from None

    test = _decorate(property_, key, strategy, claim, profile, shrink=True)
    try:
        test()
    except expressions.ExpressionError as exc:  # raised while drawing: a `shape:` or `expr:` given entry
        raise SpecRuntimeError(f"{claim.file}:{claim.line}: {claim.id}: given: {exc.message}") from None
    if claim.stated_checks is None:
        return
    _check_verdict(claim, slot, profile, stats, strategy, key)


class _Found(Exception):
    def __init__(self, ex: Example, how: str):
        self.ex, self.how = ex, how


def _check_verdict(claim, slot, profile, stats, strategy, key) -> None:
    def stated(ex: Example) -> None:
        stats.stated_examples += 1
        try:
            how = run_once(claim, slot, ex, stated=True)
        except VerdictCheckError as error:
            error.example = ex
            stats.verdict_check = "error"
            raise
        except expressions.ExpressionError as exc:
            raise SpecRuntimeError(f"{claim.file}:{claim.line}: {claim.id} as_stated: {exc.message}") from None
        if how is not None:
            raise _Found(ex, how)

    test = _decorate(stated, key + ":as_stated", strategy, claim, profile, shrink=False)
    try:
        test()
    except expressions.ExpressionError as exc:  # raised while drawing
        raise SpecRuntimeError(f"{claim.file}:{claim.line}: {claim.id} as_stated: given: {exc.message}") from None
    except _Found as found:
        stats.verdict_check = "confirmed"
        stats.stated_example, stats.refuted_by = found.ex, found.how
        return
    stats.verdict_check = "mismatch"
    raise VerdictMismatch(claim, stats.stated_examples)


def _decorate(body, key: str, strategy, claim: CompiledClaim, profile: RunProfile, shrink: bool):
    def run(ex):
        body(ex)

    run.__name__ = run.__qualname__ = claim.id.replace("-", "_")
    run._hypothesis_internal_add_digest = key.encode()  # its own database key (Note [Reproducible runs])
    test = given(strategy)(run)
    for ex in reversed(claim.examples):
        test = pin(ex)(test)
    test = profile.settings(claim.claim.max_examples, shrink=shrink)(test)
    return seed(profile.item_seed(key))(test)


__all__ = ["run_claim", "RunStats", "VerdictMismatch", "VerdictCheckError", "SpecRuntimeError", "SpecError"]
