"""How a failed item reads: in the spec's terms, pointing at the YAML, with a repro snippet.

Note [Failure messages]
A failure report is assembled from the claim (id, statement, quote, verdict), the failed
expectation (``CheckFailed.render``: one template for every kind), the example in the spec's own
names (the same lines the repro snippet uses), the seed that reruns it, and the snippet itself.
Nothing in it points into the plugin's own code.
"""
from __future__ import annotations

import textwrap

from .assertions import ClaimFailure
from .compiling import CompiledClaim
from .devices import Slot
from .profiles import RunProfile
from .repro import given_lines, snippet
from .running import VerdictMismatch
from .verdicts import VerdictCheckError


def header(claim: CompiledClaim, slot: Slot) -> list[str]:
    c = claim.claim
    lines = [f"claim {c.id} [{slot.label}] failed ({claim.file}:{claim.line})",
             f"  statement: {_one_line(c.statement)}"]
    for source in c.sources:
        lines.append(f"  quote ({source.seed}): {_one_line(source.quote)}")
    lines.append(f"  verdict: {c.verdict}" + (f" — refinement: {_one_line(c.refinement)}" if c.refinement else ""))
    return lines


def render_claim_failure(claim: CompiledClaim, slot: Slot, failure: ClaimFailure, profile: RunProfile,
                         seed_option: str) -> tuple[str, str | None]:
    """(message, snippet) for a claim whose expectations failed on an example."""
    lines = header(claim, slot)
    lines.append("expectation that failed:")
    lines.append(textwrap.indent(failure.render(), "  "))
    ex = failure.example
    snip = None
    if ex is not None:
        lines.append("example (shrunk by Hypothesis)" if not ex.pinned else "example (pinned in the spec)")
        lines.extend("  " + line for line in given_lines(claim.plans, ex))
        snip = snippet(claim, slot, ex)
    lines.append(f"rerun: pytest '{claim.file}::{claim.id}[{slot.label}]' --conformance-profile={profile.name} "
                 f"{seed_option}")
    if snip:
        lines.append("standalone reproduction (plain torch; paste into a file and run):")
        lines.append(textwrap.indent(snip, "  | ", lambda _: True))
    return "\n".join(lines), snip


def render_verdict_mismatch(claim: CompiledClaim, slot: Slot, mismatch: VerdictMismatch) -> str:
    lines = header(claim, slot)
    lines.append("verdict check failed:")
    lines.append("  " + mismatch.render())
    lines.append("  the article's statement as stated:")
    for step in claim.stated_steps or []:
        lines.append(f"    {step.at.where()} step: {step.written.splitlines()[0]}")
    for check in claim.stated_checks or []:
        lines.append(f"    {check.at.where()} {check.kind}: {check.written}")
    return "\n".join(lines)


def render_verdict_error(claim: CompiledClaim, slot: Slot, error: VerdictCheckError) -> str:
    """An as-stated block that failed for another reason than its named check (Note [Checked verdicts])."""
    lines = header(claim, slot)
    lines.append("verdict check error (the verdict is NOT confirmed):")
    lines.append("  " + error.render())
    if claim.refutation is not None:
        lines.append(f"  only this check may refute the article: {claim.refutation.describe()}")
    if error.example is not None:
        lines.append("example")
        lines.extend("  " + line for line in given_lines(claim.plans, error.example))
    return "\n".join(lines)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())
