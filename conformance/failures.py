"""How a failed item reads: in the spec's terms, pointing at the YAML, with a repro snippet.

Note [Failure messages]
A failure report is assembled from the claim (id, statement, quote, verdict), the failed
expectation (``CheckFailed.render``: one template for every kind), the example in the spec's own
names (the same lines the repro snippet uses), the seed that reruns it, and the snippet itself.
Nothing in it points into the plugin's own code.

Note [Failure size]
The report is sized by pytest's ``--tb``, like a traceback:

  line   one line: where, which claim, what failed, where the reproduction is
  short  the claim's first line, the failed expectation, the example, the rerun command
  auto   (the default) also the statement, quotes and verdict
  long   also the standalone reproduction inline
  no     pytest prints nothing; the report object still exists for the results file

The standalone reproduction is always written to a file (``--conformance-repro-dir``; by
default ``conformance-repro`` under the pytest cache) and the report names it. The results file
keeps ``message``: the ``auto`` text without the snippet (which is stored on its own), cut at
``MAX_MESSAGE`` characters, whatever ``--tb`` says.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

MAX_MESSAGE = 4000
STYLES = ("line", "short", "auto", "long", "no", "native")


@dataclass
class Crash:
    """What pytest shows for ``--tb=line`` and in the short summary (``-r``)."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.message}"


@dataclass
class FailureReport:
    """A failure as pytest's terminal reporter, junitxml and xdist expect a long representation."""

    text: str
    reprcrash: Crash
    message: str  # the bounded spec-terms message for the results file
    snippet: str | None = None
    quiet: bool = False  # --tb=line: pytest prints the crash line itself

    def toterminal(self, tw: Any) -> None:
        if self.quiet:
            return
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


def header(claim: Any, slot: Any) -> list[str]:
    c = claim.claim
    lines = [f"claim {c.id} [{slot.label}] failed ({claim.file}:{claim.line})",
             f"  statement: {_one_line(c.statement)}"]
    for source in c.sources:
        lines.append(f"  {_source_line(source)}")
    lines.append(f"  verdict: {c.verdict}" + (f" — refinement: {_one_line(c.refinement)}" if c.refinement else ""))
    return lines


def _source_line(source: Any) -> str:
    seed = getattr(source, "seed", None)
    quote = getattr(source, "quote", None)
    url = getattr(source, "url", None)
    if seed:
        return f"quote ({seed}): {_one_line(quote)}"
    if url:
        return f"quote ({url}): {_one_line(quote)}"
    reason = getattr(source, "none", None)
    return f"source: none ({_one_line(reason)})" if reason else "source: none"


def render_claim_failure(claim: Any, slot: Any, failure: Any, profile: Any,
                         seed_option: str) -> tuple[str, str | None]:
    """(message, snippet) for a claim whose expectations failed on an example (the ``long`` form)."""
    from .repro import given_lines, snippet

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


def render_verdict_mismatch(claim: Any, slot: Any, mismatch: Any) -> str:
    lines = header(claim, slot)
    lines.append("verdict check failed:")
    lines.append("  " + mismatch.render())
    lines.append("  the article's statement as stated:")
    for step in claim.stated_steps or []:
        lines.append(f"    {step.at.where()} step: {step.written.splitlines()[0]}")
    for check in claim.stated_checks or []:
        lines.append(f"    {check.at.where()} {check.kind}: {check.written}")
    return "\n".join(lines)


def render_verdict_error(claim: Any, slot: Any, error: Any) -> str:
    """An as-stated block that failed for another reason than its named check (Note [Checked verdicts])."""
    from .repro import given_lines

    lines = header(claim, slot)
    lines.append("verdict check error (the verdict is NOT confirmed):")
    lines.append("  " + error.render())
    if claim.refutation is not None:
        lines.append(f"  only this check may refute the article: {claim.refutation.describe()}")
    if error.example is not None:
        lines.append("example")
        lines.extend("  " + line for line in given_lines(claim.plans, error.example))
    return "\n".join(lines)


# -- sized reports (Note [Failure size]) ----------------------------------------------------------

def report_for(claim: Any, slot: Any, exc: BaseException, profile: Any, *, rerun: str, style: str,
               repro_dir: Path, shown_from: Path) -> FailureReport | None:
    """The sized report for a failure the suite understands, or None for any other exception."""
    from .assertions import ClaimFailure
    from .running import SpecRuntimeError, VerdictMismatch
    from .verdicts import VerdictCheckError

    c = claim.claim
    crash_at = (claim.file, claim.line)
    if isinstance(exc, ClaimFailure):
        what = _first_line(exc.render())
        sections = {"expectation": ["expectation that failed:", textwrap.indent(exc.render(), "  ")]}
        snip = None
        ex = getattr(exc, "example", None)
        if ex is not None:
            from .repro import given_lines, snippet

            sections["example"] = (["example (shrunk by Hypothesis)" if not ex.pinned else
                                    "example (pinned in the spec)"]
                                   + ["  " + line for line in given_lines(claim.plans, ex)])
            snip = snippet(claim, slot, ex)
    elif isinstance(exc, VerdictMismatch):
        what = f"verdict '{c.verdict}' no longer matches torch"
        sections = {"expectation": render_verdict_mismatch(claim, slot, exc).splitlines()[len(header(claim, slot)):]}
        snip = None
    elif isinstance(exc, VerdictCheckError):
        what = "verdict check error (the verdict is NOT confirmed)"
        sections = {"expectation": render_verdict_error(claim, slot, exc).splitlines()[len(header(claim, slot)):]}
        snip = None
    elif isinstance(exc, SpecRuntimeError):
        what = f"spec error while running: {_first_line(str(exc))}"
        sections = {"expectation": [f"spec error while running: {exc}"]}
        snip = None
    else:
        return None
    repro_line = None
    if snip:
        path = write_repro(repro_dir, c.id, slot.label, snip)
        repro_line = f"standalone reproduction (plain torch): python {_shown(path, shown_from)}" if path else None
    return _assemble(claim, slot, style, what, sections, rerun, repro_line, snip, crash_at)


def unexpected_error(claim: Any, slot: Any, excinfo: Any, style: str, traceback: Callable[[], Any]) -> FailureReport:
    """An exception the suite does not know (torch crashed, a broken environment): spec terms first."""
    exc = excinfo.value
    what = f"raised {type(exc).__name__}: {_first_line(str(exc))}"
    lines = [f"claim {claim.claim.id} [{slot.label}] {what} ({claim.file}:{claim.line})"]
    message = "\n".join(lines)
    if style in ("long", "auto", "native"):
        lines.append(str(traceback()))
    elif style == "short":
        lines.append("(--tb=long shows the traceback)")
    text = lines[0] if style == "line" else "\n".join(lines)
    return FailureReport(text=text, reprcrash=Crash(claim.file, claim.line, f"{claim.claim.id} [{slot.label}] {what}"),
                         message=_bounded(message), quiet=style == "line")


def _assemble(claim, slot, style, what, sections, rerun, repro_line, snip, crash_at) -> FailureReport:
    c = claim.claim
    repro_path = repro_line.rsplit(" ", 1)[-1] if repro_line else None
    crash = Crash(crash_at[0], crash_at[1], f"{c.id} [{slot.label}] {what}"
                  + (f" (repro: {repro_path})" if repro_path else ""))
    full = header(claim, slot) + sections["expectation"] + sections.get("example", []) + [f"rerun: {rerun}"]
    if repro_line:
        full.append(repro_line)
    message = _bounded("\n".join(full))
    if style == "line":
        text = str(crash)
    elif style == "short":
        text = "\n".join([f"claim {c.id} [{slot.label}] failed ({claim.file}:{claim.line})"]
                         + sections["expectation"] + sections.get("example", []) + [f"rerun: {rerun}"]
                         + ([repro_line] if repro_line else []))
    elif style == "long" and snip:
        text = "\n".join(full + [textwrap.indent(snip, "  | ", lambda _: True)])
    else:
        text = "\n".join(full)
    return FailureReport(text=text, reprcrash=crash, message=message, snippet=snip, quiet=style == "line")


def write_repro(directory: Path, claim_id: str, slot: str, snip: str) -> Path | None:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{claim_id}-{slot}") + ".py"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        path.write_text(snip, encoding="utf-8")
        return path
    except OSError:
        return None


def _shown(path: Path, base: Path) -> str:
    import os

    try:
        rel = os.path.relpath(path, base)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith(".." + os.sep + "..") else rel


def _bounded(text: str) -> str:
    if len(text) <= MAX_MESSAGE:
        return text
    return text[: MAX_MESSAGE - 40].rstrip() + f"\n... ({len(text) - MAX_MESSAGE + 40} more characters)"


def _first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())
