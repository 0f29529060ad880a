"""Repro snippets are standalone scripts that fail the same way the claim did.

``conformance.repro.snippet`` turns a compiled claim and an Example into a plain-torch script.
Each script here is written to a file and run as ``__main__`` in a subprocess of this
interpreter (cwd a temporary directory; one subprocess runs them all, each in a fresh namespace,
so torch is imported once): a failing example must end in AssertionError, or in the very
exception that made the claim's step fail; a passing example must print "no failure". The
snippet the plugin prints after "standalone reproduction" (lines prefixed ``  | ``) is the same
script; it is run on its own with ``python repro.py`` and fails the same way.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance.assertions import ClaimFailure, StepFailed
from conformance.repro import snippet
from conformance.running import run_once
from helpers import CPU, claim_yaml, compile_text, run_specs, spec_yaml, write_specs

X = "x: {tensor: {dtype: float, requires_grad: true}}"

# name -> (claim YAML, which example to use (index into the pinned examples), stated?, outcome)
# outcome: "pass" (prints no failure), or the name of the exception the script must end with.
CASES = {
    "wrong-close": (claim_yaml(
        "grads-doubled", given=X, do="- (x * 3).sum().backward()",
        expect="- close: {actual: x.grad, expected: 2.0}", extra="examples:\n  - {x: [1.0, 2.0]}"),
        False, "AssertionError"),
    "right-close": (claim_yaml(
        "grads-tripled", given=X, do="- (x * 3).sum().backward()",
        expect="- close: {actual: x.grad, expected: 3.0, rtol: 0, atol: 0}", extra="examples:\n  - {x: [1.0, 2.0]}"),
        False, "pass"),
    "step-raises": (claim_yaml(
        "backward-needs-gradient", given=X, do="- y = x * 2\n- y.backward()",
        expect="- that: x.grad is not None", extra="examples:\n  - {x: [1.0, 2.0]}"),
        False, "RuntimeError"),
    "expected-raise-missing": (claim_yaml(
        "scalar-backward-raises", given=X,
        do="- y = (x * 2).sum()\n- {do: y.backward(), raises: RuntimeError, match: scalar}",
        expect="- that: x.grad is None", extra="examples:\n  - {x: [1.0, 2.0]}"),
        False, "AssertionError"),
    "every-kind-passes": (claim_yaml(
        "every-kind", given=X + "\nnet: {module: 'nn.Linear(2, 1)'}\nk: {integer: {min: 1, max: 3}}",
        do=textwrap.dedent("""\
            - y = x.detach()
            - {do: z = x * 2, raises: null}
            - {do: "g = (x * 2).grad", warns: UserWarning, match: "not a leaf"}
            - {do: (x * 2).backward(), raises: RuntimeError, match: "only for (real )?scalar outputs"}
            - out = net(x.reshape(1, 2))
            - |
              with torch.no_grad():
                  w = net.weight * k
            """),
        expect=textwrap.dedent("""\
            - that: not w.requires_grad
            - shares_storage: [x, y]
            - distinct_storage: [x, z]
            - equal: {actual: out.shape, expected: [1, 1]}
            - close: {actual: w, expected: net.weight * k}
            - gradcheck: {fn: "lambda t: (t * t).sum()", inputs: [x]}
            """),
        extra="examples:\n  - {x: [1.0, 2.0], k: 2, torch_seed: 11}"),
        False, "pass"),
    "as-stated-fails": (claim_yaml(
        "detach-said-to-require-grad", given=X, verdict="refuted", extra=textwrap.dedent("""\
            refinement: detach() gives a tensor that does not require grad.
            as_stated:
              expect:
                - that: y.requires_grad
              refuted_by: {expect: 0}
            examples:
              - {x: [1.0]}
            """)),
        True, "AssertionError"),
}


def run_script(path: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.Popen([sys.executable, str(path), *args], cwd=path.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def last_exception(stderr: str) -> str:
    """The exception type a script died with (the last line of its traceback)."""
    lines = [line for line in stderr.strip().splitlines() if line and not line.startswith(" ")]
    return lines[-1].split(":", 1)[0] if lines else ""


# Runs each script given on its command line as __main__ in a fresh namespace (one torch import
# for all of them) and prints, per script, a JSON line: its output and how it ended.
DRIVER = """\
import contextlib, io, json, runpy, sys, traceback
for path in sys.argv[1:]:
    out = io.StringIO()
    ended = None
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name="__main__")
    except BaseException as exc:
        ended = [type(exc).__name__, "".join(traceback.format_exception_only(type(exc), exc))]
    print(json.dumps({"path": path, "stdout": out.getvalue(), "ended": ended}))
"""


@pytest.fixture(scope="module")
def snippets(tmp_path_factory):
    """Every case's claim, example and snippet, and how the snippet ended when run."""
    folder = tmp_path_factory.mktemp("snippets")
    prepared = {}
    for name, (yaml, stated, outcome) in CASES.items():
        (claim,) = compile_text(spec_yaml(yaml))
        ex = claim.examples[0]
        text = snippet(claim, CPU, ex, stated=stated)
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
        prepared[name] = (claim, ex, text, stated, outcome)
    driver = folder / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    code, out, err = finished(run_script(driver, *[f"{name}.py" for name in prepared]))
    assert code == 0, err
    ended = {Path(entry["path"]).stem: entry for entry in map(json.loads, out.splitlines())}
    return {name: (*prepared[name], ended[name]) for name in prepared}


@pytest.mark.parametrize("name", sorted(CASES))
def test_snippet_behaves_like_the_claim_on_that_example(snippets, name):
    claim, ex, text, stated, outcome, ended = snippets[name]
    # What the claim itself does on the example:
    try:
        # as stated, a refutation is returned (Note [Checked verdicts]), not raised
        claim_failed = run_once(claim, CPU, ex, stated=stated)
    except ClaimFailure as failure:
        claim_failed = failure
    if outcome == "pass":
        assert claim_failed is None
        assert ended["ended"] is None, ended
        assert "no failure: the claim held on this example" in ended["stdout"]
        return
    assert claim_failed is not None, "the claim passed on this example"
    assert ended["ended"] is not None and "no failure" not in ended["stdout"]
    assert ended["ended"][0] == outcome, ended
    if outcome != "AssertionError":  # the step's own exception, as the claim reported it
        assert isinstance(claim_failed, StepFailed) and f"raised {outcome}" in claim_failed.detail


def test_snippet_needs_nothing_from_this_project(snippets):
    for name, (_, _, text, *_rest) in snippets.items():
        assert "import conformance" not in text and "from conformance" not in text, name


def test_snippet_names_the_claim_and_uses_the_spec_names(snippets):
    claim, ex, text, *_ = snippets["wrong-close"]
    assert text.startswith(f"# Reproduces claim grads-doubled (specs/t.yaml:{claim.line}) on cpu")
    assert "x = torch.tensor([1.0, 2.0], dtype=torch.float32, device=device).requires_grad_(True)" in text
    assert "(x * 3).sum().backward()" in text


def test_the_plugin_prints_the_same_runnable_snippet(pytester, tmp_path):
    yaml, _, _ = CASES["wrong-close"]
    write_specs(pytester, {"grads": spec_yaml(yaml)})
    result = run_specs(pytester, "--tb=long", "--conformance-repro-dir=repro")
    result.assert_outcomes(failed=1)
    lines = result.stdout.lines
    (named,) = [line for line in lines if line.startswith("standalone reproduction (plain torch): python ")]
    written = (pytester.path / named.rsplit(" ", 1)[1]).read_text(encoding="utf-8")
    start = lines.index(named) + 1  # --tb=long also shows it inline
    body = []
    for line in lines[start:]:
        if not line.startswith("  |"):
            break
        body.append(line[4:] if line.startswith("  | ") else "")
    text = "\n".join(body) + "\n"
    (call,) = [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.when == "call"]
    assert dict(call.user_properties)["snippet"] == text == written
    path = tmp_path / "repro.py"
    path.write_text(text, encoding="utf-8")
    code, out, err = finished(run_script(path))
    assert code != 0 and last_exception(err) == "AssertionError", err
    assert "expect[0] (line 14) close: x.grad ~= 2.0" in err
