"""A verdict is confirmed only by the check it names (Note [Checked verdicts] in conformance/verdicts.py).

The corpus tests sabotage every refined/refuted claim of specs/ in two ways and require a
verdict-check error, never a confirmation:
  * a first as-stated step that fails for its own reason (``probe = torch.ones(2).view(3)``: a
    RuntimeError). A typo such as ``.detatch()`` no longer gets that far: the allowlist refuses
    it when the spec is compiled (test_a_typo_in_the_as_stated_block_is_refused_at_compile_time);
  * an unrelated false conjunct: an extra expectation that is false (for a claim refuted by an
    expectation), or an extra step that says it raises and does not (for one refuted by a step).
They work on the compiled claims (the Python API), so they are fast and see every claim the
installed torch compiles.
"""
from __future__ import annotations

import dataclasses
import textwrap

import pytest
from helpers import CPU, ROOT, claim_yaml, compile_path, compile_text, run_item, spec_errors, spec_yaml

from conformance import expressions
from conformance.assertions import Located
from conformance.compiling import CompiledCheck, CompiledStep
from conformance.running import VerdictMismatch
from conformance.verdicts import VerdictCheckError


def corpus_verdict_claims():
    out = []
    for path in sorted((ROOT / "specs").rglob("*.yaml")):
        for claim in compile_path(path, str(path.relative_to(ROOT))):
            if claim.claim.verdict != "holds" and _runs_on_cpu(claim):
                out.append(claim)
    return out


def _runs_on_cpu(claim) -> bool:
    devices = claim.claim.devices
    if devices == "cross":
        return False
    if hasattr(devices, "only"):
        return "cpu" in devices.only
    return True


CLAIMS = corpus_verdict_claims()
IDS = [c.id for c in CLAIMS]


def _step(code: str, **kind) -> CompiledStep:
    block = expressions.compile_block(code, set())
    return CompiledStep(at=Located("as_stated.do[sabotage]", None), written=code, block=block, **kind)


def _shifted(claim, *, steps=None, checks=None, step_shift=0, check_shift=0):
    refutation = claim.refutation
    shift = step_shift if refutation.kind == "step" else check_shift
    return dataclasses.replace(
        claim, stated_steps=steps if steps is not None else claim.stated_steps,
        stated_checks=checks if checks is not None else claim.stated_checks,
        refutation=dataclasses.replace(refutation, index=refutation.index + shift))


def test_the_corpus_has_verdicts_to_sabotage():
    assert len(CLAIMS) >= 15


@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_each_verdict_is_confirmed_as_shipped(claim):
    stats = run_item(claim, max_examples=10)
    assert stats.verdict_check == "confirmed" and stats.refuted_by


@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_a_typo_in_the_as_stated_block_is_an_error_not_a_confirmation(claim):
    probe = _step("probe = torch.ones(2).view(3)")
    sabotaged = _shifted(claim, steps=[probe] + claim.stated_steps, step_shift=1)
    with pytest.raises(VerdictCheckError) as info:
        run_item(sabotaged, max_examples=5)
    assert info.value.render().startswith("as_stated could not run: RuntimeError")
    assert "as_stated.do[sabotage]" in info.value.render()


def test_a_typo_in_the_as_stated_block_is_refused_at_compile_time():
    errors = spec_errors(spec_yaml(claim_yaml(given=X, verdict="refuted", extra=(
        "refinement: r.\nas_stated:\n  do:\n    - probe = torch.ones(1).detatch()\n  expect:\n"
        "    - that: probe.requires_grad\n  refuted_by: {expect: 0}"))))
    assert any("'detatch' is not on the spec language's allowlist" in e for e in errors), errors


@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_an_unrelated_false_conjunct_is_an_error_not_a_confirmation(claim):
    if claim.refutation.kind == "expect":
        fn = expressions.compile_expression("torch.ones(1).sum().item() == 2.0", set())
        from conformance.assertions import check_that

        at = Located("as_stated.expect[sabotage]", None)
        false = CompiledCheck(at, "that", "torch.ones(1).sum().item() == 2.0",
                              lambda env: check_that(at, "torch.ones(1).sum().item() == 2.0", fn(env)))
        sabotaged = _shifted(claim, checks=[false] + claim.stated_checks, check_shift=1)
    else:
        silent = _step("probe = torch.ones(1) + 1", raises=RuntimeError)
        sabotaged = _shifted(claim, steps=[silent] + claim.stated_steps, step_shift=1)
    with pytest.raises(VerdictCheckError) as info:
        run_item(sabotaged, max_examples=5)
    assert "sabotage" in info.value.render()


# --- the rules on small claims -------------------------------------------------------------------

X = "x: {tensor: {dtype: float, requires_grad: true}}"


def refuted(as_stated: str, do: str = "- y = x.detach()", expect: str = "- that: not y.requires_grad") -> str:
    return spec_yaml(claim_yaml("said-to-require-grad", given=X, do=do, expect=expect, verdict="refuted",
                                extra="refinement: detach() gives a tensor that does not require grad.\n"
                                      "as_stated:\n" + textwrap.indent(textwrap.dedent(as_stated), "  ")))


def run_text(text: str):
    (claim,) = compile_text(text)
    return run_item(claim, max_examples=10)


def test_a_named_expectation_that_fails_confirms_and_says_how():
    stats = run_text(refuted("expect:\n  - that: y.requires_grad\nrefuted_by: {expect: 0}\n"))
    assert stats.verdict_check == "confirmed"
    assert stats.refuted_by.startswith("as_stated.expect[0] (line ") and "y.requires_grad is false" in stats.refuted_by


def test_a_named_expectation_that_holds_everywhere_is_a_mismatch():
    with pytest.raises(VerdictMismatch, match=r"as_stated.expect\[0\] .*did not refute it"):
        run_text(refuted("expect:\n  - that: not y.requires_grad\nrefuted_by: {expect: 0}\n"))


def test_another_expectation_failing_is_an_error():
    with pytest.raises(VerdictCheckError, match=r"y.grad_fn is not None is false, and only as_stated.expect\[1\]"):
        run_text(refuted("expect:\n  - that: y.grad_fn is not None\n  - that: y.requires_grad\n"
                         "refuted_by: {expect: 1}\n"))


def test_an_expectation_that_cannot_be_evaluated_is_an_error():
    with pytest.raises(VerdictCheckError, match="raised RuntimeError"):
        run_text(refuted("expect:\n  - that: torch.ones(2).view(3).sum() == 0\nrefuted_by: {expect: 0}\n"))


def test_a_plain_step_refutes_only_with_the_named_exception():
    ok = refuted("reuse: all\ndo:\n  - y.backend()\n"
                 "refuted_by: {step: 0, raises: AttributeError, match: \"has no attribute 'backend'\"}\n")
    assert run_text(ok).verdict_check == "confirmed"
    wrong_message = ok.replace("'backend'", "'backward'")
    with pytest.raises(VerdictCheckError, match="AttributeError: 'Tensor' object has no attribute 'backend'"):
        run_text(wrong_message)
    wrong_type = ok.replace("raises: AttributeError", "raises: TypeError")
    with pytest.raises(VerdictCheckError):
        run_text(wrong_type)


def test_a_step_that_should_raise_refutes_by_completing():
    text = refuted("reuse: all\ndo:\n  - {do: y.add_(1), raises: RuntimeError}\nrefuted_by: {step: 0}\n")
    stats = run_text(text)
    assert stats.verdict_check == "confirmed" and "completed without raising RuntimeError" in stats.refuted_by


def test_reuse_runs_the_claims_first_steps_then_the_own_ones():
    text = refuted("reuse: 1\ndo:\n  - z = y * 2\nexpect:\n  - that: z.requires_grad\nrefuted_by: {expect: 0}\n",
                   do="- y = x.detach()\n- w = y + 1")
    (claim,) = compile_text(text)
    assert [s.at.label for s in claim.stated_steps] == ["do[0]", "as_stated.do[0]"]
    assert run_item(claim).verdict_check == "confirmed"


@pytest.mark.parametrize("as_stated, message", [
    ("expect:\n  - that: y.requires_grad\n", "missing required key 'refuted_by'"),
    ("expect:\n  - that: y.requires_grad\nrefuted_by: {expect: 1}\n", "there is no as_stated.expect[1]"),
    ("do:\n  - y = x.detach()\n  - z = y.sum()\nrefuted_by: {step: 1}\n",
     "is a plain step: name the exception"),
    ("do:\n  - y = x.detach()\n  - z = y * 2\nrefuted_by: {step: 0, raises: AttributeError, match: x}\n",
     "nothing after the refuting step"),
    ("reuse: all\ndo:\n  - {do: y.add_(1), raises: RuntimeError}\nrefuted_by: {step: 0, raises: RuntimeError, match: x}\n",
     "takes no 'raises' here"),
    ("reuse: 5\nexpect:\n  - that: y.requires_grad\nrefuted_by: {expect: 0}\n", "reuse: 5, but the claim has only 1 steps"),
    ("expect:\n  - that: y.requires_grad\nrefuted_by: {expect: 0, step: 0}\n", "exactly one of"),
    ("do:\n  - y.backend()\nrefuted_by: {step: 0, raises: AttributeError}\n", "needs 'match'"),
])
def test_malformed_refutations_are_located_spec_errors(as_stated, message):
    errors = spec_errors(refuted(as_stated))
    assert len(errors) == 1 and message in errors[0] and "as_stated" in errors[0], errors


# --- helpers ---------------------------------------------------------------------------------

def with_helpers(helpers: str, *claims: str) -> str:
    return spec_yaml(*claims).replace("claims:\n", f"helpers:\n{textwrap.indent(helpers, '  ')}claims:\n", 1)


def test_helpers_are_usable_in_steps_expectations_and_the_repro_snippet():
    from conformance.repro import snippet

    text = with_helpers('double: "lambda t: t * 2"\nquad: "lambda t: double(double(t))"\n',
                        claim_yaml(do="- y = quad(x.detach())", expect="- close: {actual: y, expected: 4 * x}"))
    (claim,) = compile_text(text)
    stats = run_item(claim)
    assert stats.examples > 0
    from conformance.strategies import pinned_example

    ex = pinned_example(claim.plans, {"x": [1.0, 2.0]}, lambda key, msg: AssertionError(msg))
    script = snippet(claim, CPU, ex)
    assert 'double = lambda t: t * 2' in script and 'quad = lambda t: double(double(t))' in script


@pytest.mark.parametrize("helpers, message", [
    ('bad: "open(\'x\')"\n', "helpers.bad"),
    ('x: "1"\n', "given name 'x' is also the name of a helper"),
    ('_x: "1"\n', "helper name '_x'"),
    ('torch: "1"\n', "helper name 'torch' is reserved"),
    ('later: "first + 1"\nfirst: "1"\n', "helpers.later"),
])
def test_bad_helpers_are_located_spec_errors(helpers, message):
    errors = spec_errors(with_helpers(helpers, claim_yaml()))
    assert errors and message in errors[0], errors


def test_step_lists_run_in_place_with_their_own_labels_and_lines():
    text = with_helpers("prepare:\n  - y = x.detach()\n  - w = y * 2\n",
                        claim_yaml(do="- use: prepare\n- v = w + 1", expect="- that: not v.requires_grad"))
    (claim,) = compile_text(text)
    assert [s.at.label for s in claim.steps] == ["do[0] > prepare[0]", "do[0] > prepare[1]", "do[1]"]
    assert claim.steps[1].at.line == 5  # the helper's own line
    assert [s.index for s in claim.steps] == [0, 0, 1]
    assert run_item(claim).examples > 0


def test_a_failing_step_of_a_step_list_names_it():
    from conformance.assertions import StepFailed

    text = with_helpers("prepare:\n  - y = x.detach()\n  - y.backward()\n",
                        claim_yaml(do="- use: prepare", expect="- that: not y.requires_grad"))
    (claim,) = compile_text(text)
    with pytest.raises(StepFailed, match=r"do\[0\] > prepare\[1\] \(line 5\) step: y.backward\(\)"):
        run_item(claim)


@pytest.mark.parametrize("helpers, do, message", [
    ("prepare:\n  - y = x.detach()\n", "- use: other", "no step list 'other' under helpers: (step lists here: prepare)"),
    ("loop:\n  - use: loop\n", "- use: loop", "step list 'loop' uses itself (loop -> loop)"),
    ("prepare:\n  - y = x.detach()\n", "- {use: prepare, raises: RuntimeError}", "a 'use:' step takes no"),
    ("prepare: []\n", "- y = x.detach()", "helper 'prepare' is an empty step list"),
])
def test_bad_step_lists_are_located_spec_errors(helpers, do, message):
    errors = spec_errors(with_helpers(helpers, claim_yaml(do=do)))
    assert errors and message in errors[0], errors


def test_a_verdict_check_error_fails_the_item_and_says_why(pytester):
    import json

    from helpers import run_specs, write_specs

    write_specs(pytester, {"typo": refuted("do:\n  - probe = torch.ones(2).view(3)\n  - y = x.detach()\n"
                                           "expect:\n  - that: y.requires_grad\nrefuted_by: {expect: 0}\n")})
    result = run_specs(pytester, "--conformance-results=out.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "verdict check error (the verdict is NOT confirmed):",
        "  as_stated could not run: RuntimeError: shape '[[]3[]]' is invalid* at as_stated.do[[]0[]] (line *)",
        "  only this check may refute the article: as_stated.expect[[]0[]] (line *): that: y.requires_grad",
        "verdict checks: 0 confirmed, 0 mismatched, 1 errors",
    ])
    (result_entry,) = json.loads((pytester.path / "out.json").read_text())["claims"][0]["results"]
    assert result_entry["verdict_check"] == "error" and result_entry["refuted_by"] is None


def test_a_confirmed_verdict_is_recorded_with_its_check_and_example(pytester):
    import json

    from helpers import run_specs, write_specs

    write_specs(pytester, {"ok": refuted("expect:\n  - that: y.requires_grad\nrefuted_by: {expect: 0}\n")})
    result = run_specs(pytester, "--conformance-results=out.json")
    result.assert_outcomes(passed=1)
    (entry,) = json.loads((pytester.path / "out.json").read_text())["claims"][0]["results"]
    assert entry["verdict_check"] == "confirmed"
    assert entry["refuted_by"]["check"].startswith("as_stated.expect[0] (line ")
    assert entry["refuted_by"]["example"][0].startswith("torch.manual_seed(")
    assert any(line.startswith("x = torch.tensor(") for line in entry["refuted_by"]["example"])
