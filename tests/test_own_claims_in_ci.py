"""A user's own claim, run as the CI recipes of docs/ci.md run it, fails as a failure, not a crash.

Own claims may cite no source (``{none: REASON}``, docs/spec-format.md). Found by running the
shell recipe of docs/ci.md with such a claim made wrong: building the standalone reproduction read
the source's quote, which is None there, and pytest stopped with INTERNALERROR.
"""
from __future__ import annotations

import json

from conformance import results_check

OWN = """\
topic: mylib_grads
claims:
  - id: mylib-scale-backward-is-the-scale
    sources:
      - none: "our own API contract: scaling by k scales the gradient by k"
    statement: The gradient of (x * k).sum() with respect to x is k everywhere.
    verdict: holds
    given:
      x: {tensor: {dtype: float, requires_grad: true}}
      k: {integer: {min: -4, max: 4}}
    do:
      - (x * k).sum().backward()
    expect:
      - close:
          actual: x.grad
          expected: torch.full_like(x, k)
"""
ARGS = ("-p", "no:cacheprovider", "--conformance-specs=conformance-claims", "--conformance-devices=cpu",
        "--conformance-profile=ci")


def _run(pytester, text: str):
    path = pytester.path / "conformance-claims" / "mylib_grads.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    results = pytester.path / "out" / "torch-{torch}.json"
    return pytester.runpytest_subprocess(*ARGS, f"--conformance-results={results}",
                                         f"--conformance-repro-dir={pytester.path / 'repro'}")


def test_a_failing_own_claim_without_a_source_is_reported_and_checked(pytester):
    ok = _run(pytester, OWN)
    ok.assert_outcomes(passed=1)
    assert results_check.main([str(pytester.path / "out")]) == 0

    bad = _run(pytester, OWN.replace("torch.full_like(x, k)", "torch.full_like(x, k + 1)"))
    bad.assert_outcomes(failed=1)
    assert "INTERNALERROR" not in bad.stdout.str() + bad.stderr.str()
    [script] = (pytester.path / "repro").rglob("*.py")
    assert "# No source (our own API contract: scaling by k scales the gradient by k)" in script.read_text()
    [results] = (pytester.path / "out").glob("*.json")
    claim = json.loads(results.read_text(encoding="utf-8"))["claims"][0]
    assert results_check.failures({"claims": [claim]}) == ["mylib-scale-backward-is-the-scale[cpu]: failed"]
    assert results_check.main([str(pytester.path / "out")]) == 1
