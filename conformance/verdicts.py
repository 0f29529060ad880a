"""Run the article's statement as stated, and say whether the named check refuted it.

Note [Checked verdicts]
A ``refined`` or ``refuted`` claim carries ``as_stated``: the article's statement written as steps
and expectations, and ``refuted_by``, the one check that carries what the article says:

  * ``refuted_by: {expect: N}``: ``as_stated.expect[N]`` is the article's statement. On one example
    every as-stated step runs as written (a plain step does not raise; a ``raises:``/``warns:`` step
    raises/warns as written), every other as-stated expectation holds, and expectation N is false.
  * ``refuted_by: {step: N, raises: E, match: M}``: the article says the plain step
    ``as_stated.do[N]`` works; it raises E with a message matching M. The steps before it run as
    written.
  * ``refuted_by: {step: N}`` on a step that itself has ``raises:``, ``warns:`` or ``no_warning:``:
    the article says it raises (warns, stays silent); it completes without doing so.

``run_stated`` runs the block on one example and returns a description of the refutation, or
``None`` when the article's statement held on that example (the search goes on). Anything else
(a step that raises when it should not, an exception other than the named one, another
expectation that is false, an expectation that cannot be evaluated) raises ``VerdictCheckError``:
the block did not run as the article has it, so nothing about the article was learnt, and the
item fails with "as_stated could not run: ...". A typo in the block or an unrelated false
conjunct can therefore never confirm a verdict.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from . import expressions
from .assertions import CheckFailed, ClaimFailure, first_line


@dataclass
class Refutation:
    """The compiled ``refuted_by``: which as-stated check carries the article's statement."""

    kind: str  # "expect" or "step"
    index: int  # position in the compiled stated_checks / stated_steps
    label: str  # as written in messages: "as_stated.expect[0]", "as_stated.do[1]"
    line: int | None
    written: str
    raises: type | None = None
    match: str | None = None

    def describe(self) -> str:
        where = f"{self.label} (line {self.line})" if self.line else self.label
        if self.kind == "step" and self.raises is not None:
            return f"{where} raises {self.raises.__name__} matching {self.match!r}: {self.written}"
        return f"{where}: {self.written}"


class VerdictCheckError(Exception):
    """The as-stated block failed for a reason other than its named check: nothing is confirmed."""

    def __init__(self, detail: str, where: str):
        self.detail, self.where = detail, where
        self.example = None  # set by the runner
        super().__init__(self.render())

    def render(self) -> str:
        return f"as_stated could not run: {self.detail} at {self.where}"


# Details of CheckFailed that mean the expectation could not be evaluated, not that it is false.
_NOT_A_TRUTH = ("values are not comparable", "the expression did not give a truth value", "evaluating it raised")


def _raised(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {first_line(exc)}".rstrip(": ")


def run_stated(claim, env: dict) -> str | None:
    """Run ``claim``'s as-stated block in ``env``; see Note [Checked verdicts]."""
    refutation: Refutation = claim.refutation
    for position, step in enumerate(claim.stated_steps):
        if refutation.kind == "step" and position == refutation.index:
            return _refuting_step(step, env, refutation)
        _step_as_written(step, env)
    for position, check in enumerate(claim.stated_checks):
        where = check.at.where()
        try:
            check.run(env)
        except expressions.ExpressionError:
            raise
        except CheckFailed as failed:
            if failed.detail and failed.detail.startswith(_NOT_A_TRUTH):
                raise VerdictCheckError(f"{check.kind}: {check.written}: {failed.detail}", where) from None
            if position == refutation.index and refutation.kind == "expect":
                return f"{refutation.describe()} is false" + _actual(failed)
            raise VerdictCheckError(f"{check.kind}: {check.written} is false, and only "
                                    f"{refutation.label} may fail", where) from None
        except ClaimFailure as failed:
            raise VerdictCheckError(failed.render().splitlines()[-1].strip(), where) from None
        except Exception as exc:
            raise VerdictCheckError(f"evaluating {check.kind}: {check.written} raised {_raised(exc)}", where) from None
    return None


def _actual(failed: CheckFailed) -> str:
    if failed.detail:
        return f" ({failed.detail})"
    if failed.actual is not None or failed.expected is not None:
        from .assertions import short_repr

        return f" (actual {short_repr(failed.actual, 200)}, expected {short_repr(failed.expected, 200)})"
    return ""


def _step_as_written(step, env: dict) -> None:
    try:
        step.run(env)
    except expressions.ExpressionError:
        raise
    except ClaimFailure as failed:
        raise VerdictCheckError(getattr(failed, "detail", str(failed)), step.at.where()) from None
    except Exception as exc:
        raise VerdictCheckError(_raised(exc), step.at.where()) from None


def _refuting_step(step, env: dict, refutation: Refutation) -> str | None:
    where = step.at.where()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            step.block.run(env)
        except expressions.ExpressionError:
            raise
        except Exception as exc:
            if refutation.raises is not None:  # the article says the step works; torch raises
                if isinstance(exc, refutation.raises) and re.search(refutation.match or "", str(exc)):
                    return f"{refutation.describe()}: raised {_raised(exc)}"
                raise VerdictCheckError(f"{_raised(exc)} (the refutation named is {refutation.raises.__name__} "
                                        f"matching {refutation.match!r})", where) from None
            if step.raises is not None and isinstance(exc, step.raises) and (
                    step.match is None or re.search(step.match, str(exc))):
                return None  # raised as the article says
            raise VerdictCheckError(_raised(exc), where) from None
    if refutation.raises is not None:
        return None  # ran as the article says
    if step.raises is not None:
        return f"{refutation.describe()}: completed without raising {step.raises.__name__}"
    emitted = [w for w in caught if step.warns is not None and issubclass(w.category, step.warns)
               and (step.match is None or re.search(step.match, str(w.message)))]
    if step.warns is not None:
        return None if emitted else f"{refutation.describe()}: emitted no {step.warns.__name__}" + _match(step.match)
    loud = [w for w in caught if issubclass(w.category, step.no_warning)]
    if loud:
        return f"{refutation.describe()}: emitted {loud[0].category.__name__}: {str(loud[0].message).splitlines()[0]}"
    return None


def _match(pattern: str | None) -> str:
    return f" matching {pattern!r}" if pattern else ""
