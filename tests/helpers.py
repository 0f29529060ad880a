"""Shared helpers for the plugin's own tests: a known-good claim, spec text, and running specs.

Two ways to drive a spec, used throughout the tests:

* the Python API (``compile_text``/``spec_errors``): load, validate and compile YAML text exactly
  as the plugin's collector does, then run a claim with ``run_item`` -- fast, in-process;
* pytest itself through ``pytester`` (``write_specs`` + ``run_specs``), for what only a real run
  shows: items, markers, skips, the failure report, the header, xdist.
"""
from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Iterable

from conformance import loading, schema
from conformance.compiling import CompiledClaim, compile_file
from conformance.devices import Slot
from conformance.errors import SpecError, SpecErrors
from conformance.profiles import RunProfile
from conformance.running import RunStats, run_claim
from conformance.versions import installed_torch_version

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(os.environ.get("CONFORMANCE_SEEDS", ROOT.parent / "shared" / "seeds")).resolve()
TORCH = installed_torch_version()

# A quote that is verbatim in its article (checked by test_claims_corpus as well).
SEED_FILE = "004_6f3e9c265744f9b6.txt"
QUOTE = "共享数据的存储空间,二者指向同一块内存"

# Two claims about accumulation: one true, one deliberately wrong (it says the second backward
# overwrites), so a run has a pass and a failure to report, list as known, or record.
ACCUMULATION_SPEC = textwrap.dedent("""\
    topic: backward
    claims:
      - id: grads-accumulate
        sources: [{seed: 002_6f65035d0d7de381.txt, quote: 該張量的梯度將累加到.grad屬性中}]
        statement: backward adds into .grad.
        verdict: holds
        given:
          x: {tensor: {dtype: float, requires_grad: true}}
        do:
          - (x * 3).sum().backward()
          - (x * 3).sum().backward()
        expect:
          - close: {actual: x.grad, expected: 6.0}
      - id: grads-overwritten
        sources: [{seed: 002_6f65035d0d7de381.txt, quote: 該張量的梯度將累加到.grad屬性中}]
        statement: a deliberately wrong claim, as a broken build would fail it.
        verdict: holds
        given:
          x: {tensor: {dtype: float, requires_grad: true}}
        do:
          - (x * 3).sum().backward()
          - (x * 3).sum().backward()
        expect:
          - close: {actual: x.grad, expected: 3.0}
    """)

# Options every pytester run gets: no cache files, CPU only unless a test asks otherwise.
BASE_ARGS = ("-p", "no:cacheprovider", "--conformance-specs=specs")


def claim_yaml(claim_id: str = "detach-no-grad", *, given: str | None = None, do: str | None = None,
               expect: str | None = None, extra: str = "", verdict: str = "holds") -> str:
    """One claim as YAML (indented for a ``claims:`` list). Blocks are given without indentation."""
    given = given if given is not None else "x: {tensor: {dtype: float, requires_grad: true}}"
    do = do if do is not None else "- y = x.detach()"
    expect = expect if expect is not None else "- that: not y.requires_grad"
    parts = [
        f"- id: {claim_id}",
        "  sources:",
        f"    - seed: {SEED_FILE}",
        f"      quote: {QUOTE}",
        "  statement: x.detach() returns a tensor that does not require grad.",
        f"  verdict: {verdict}",
    ]
    if given.strip():
        parts += ["  given:", textwrap.indent(given.strip("\n"), "    ")]
    if do.strip():
        parts += ["  do:", textwrap.indent(do.strip("\n"), "    ")]
    parts += ["  expect:", textwrap.indent(expect.strip("\n"), "    ")]
    if extra.strip():
        parts.append(textwrap.indent(extra.strip("\n"), "  "))
    return "\n".join(parts) + "\n"


def spec_yaml(*claims: str, topic: str = "detach") -> str:
    """A spec file from claims made by ``claim_yaml`` (default: one good claim)."""
    claims = claims or (claim_yaml(),)
    body = "".join(textwrap.indent(c, "  ") for c in claims)
    return f"topic: {topic}\nclaims:\n{body}"


def compile_text(text: str, file: str = "specs/t.yaml", seeds_dir: Path | None = SEEDS) -> list[CompiledClaim]:
    """Load, validate and compile spec text as the plugin does; raises SpecError/SpecErrors."""
    doc = loading.load_text(text, file)
    spec = schema.validate(doc)
    return compile_file(doc, spec, TORCH, seeds_dir)


def compile_path(path: Path, file: str, seeds_dir: Path | None = SEEDS) -> list[CompiledClaim]:
    doc = loading.load_file(path, file)
    spec = schema.validate(doc)
    return compile_file(doc, spec, TORCH, seeds_dir)


def error_lines(exc: BaseException) -> list[str]:
    """The one-line messages of a SpecError or SpecErrors, as the plugin prints them."""
    if isinstance(exc, SpecErrors):
        return [e.render() for e in exc.errors]
    if isinstance(exc, SpecError):
        return [exc.render()]
    raise TypeError(f"not a spec error: {type(exc).__name__}: {exc}")


def spec_errors(text: str, file: str = "specs/t.yaml", seeds_dir: Path | None = SEEDS) -> list[str]:
    """The error lines for ``text``; [] when it compiles."""
    try:
        compile_text(text, file, seeds_dir)
    except (SpecError, SpecErrors) as exc:
        return error_lines(exc)
    return []


def profile(seed: int = 0, max_examples: int = 10, name: str = "ci") -> RunProfile:
    return RunProfile(name=name, max_examples=max_examples, base_seed=seed)


CPU = Slot("cpu", "cpu")


def run_item(claim: CompiledClaim, seed: int = 0, max_examples: int = 10, slot: Slot = CPU) -> RunStats:
    """Run one claim on one slot as the plugin's item would; raises what the item would raise."""
    stats = RunStats()
    run_claim(claim, slot, profile(seed, max_examples), stats)
    return stats


def write_specs(pytester, files: dict[str, str]) -> list[Path]:
    """Write ``{name: text}`` as ``specs/<name>`` (``.yaml`` added when missing) in the pytester dir."""
    out = []
    for name, text in files.items():
        if not name.endswith((".yaml", ".yml")):
            name += ".yaml"
        path = pytester.path / "specs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def run_specs(pytester, *args: str, subprocess: bool = False, devices: str | None = "cpu",
              profile_name: str = "ci", seeds: bool = False):
    """Run pytest on the pytester dir's ``specs/`` with the conformance options filled in."""
    argv = ["specs", *BASE_ARGS, f"--conformance-profile={profile_name}"]
    if devices is not None:
        argv.append(f"--conformance-devices={devices}")
    if seeds:
        argv.append(f"--conformance-seeds-dir={SEEDS}")
    argv += list(args)
    if subprocess:
        return pytester.runpytest_subprocess(*argv)
    return pytester.runpytest(*argv)


def outcomes_by_id(reports: Iterable) -> dict[str, str]:
    """{nodeid: outcome} for the reports of a run: the setup outcome when setup did not pass."""
    out: dict[str, str] = {}
    for rep in reports:
        if rep.when == "setup" and not rep.passed:
            out[rep.nodeid] = "error" if rep.failed else rep.outcome
        elif rep.when == "call":
            out[rep.nodeid] = rep.outcome
    return out
