"""No expectation in the corpus is a constant or restates a ``given`` constraint (Note [Checks that
cannot fail] in conformance/lint.py); fixture specs prove that each rule fires."""
from __future__ import annotations

import pytest
from helpers import ROOT, claim_yaml, spec_yaml

from conformance import loading, schema
from conformance.lint import vacuous_checks


def findings(text: str, file: str = "specs/t.yaml") -> list[str]:
    doc = loading.load_text(text, file)
    return [f.render() for f in vacuous_checks(schema.validate(doc))]


def test_no_expectation_in_the_corpus_cannot_fail():
    found = []
    for path in sorted((ROOT / "specs").rglob("*.yaml")):
        doc = loading.load_file(path, str(path.relative_to(ROOT)))
        found += [f"{path.name}: {f.render()}" for f in vacuous_checks(schema.validate(doc))]
    assert found == []


@pytest.mark.parametrize("given, do, expect, message", [
    # constants
    (None, None, '- that: "True"', "expect[0]: the that check is a constant"),
    (None, None, '- equal: {actual: "1 + 1", expected: 2}', "the equal check is a constant"),
    (None, None, '- that: len([1, 2]) == 2', "the that check is a constant"),
    # restated draws
    (None, None, "- that: x.requires_grad", "'x.requires_grad' restates given x's requires_grad (True)"),
    (None, None, "- that: x.requires_grad and not y.requires_grad", "restates given x's requires_grad"),
    (None, None, "- that: x.requires_grad is True", "restates given x's requires_grad"),
    ("x: {tensor: {dtype: int8}}", "- y = x + 1", "- equal: {actual: x.dtype, expected: torch.int8}",
     "equal restates given x's dtype ('int8')"),
    ("x: {tensor: {dtype: float64}}", "- y = x + 1", "- that: x.dtype == torch.double", "restates given x's dtype"),
    ("x: {tensor: {dtype: float, device: cpu}}", "- y = x + 1", "- that: x.device.type == 'cpu'",
     "restates given x's device"),
    ("x: {tensor: {dtype: float, shape: {min_dims: 2, max_dims: 2}}}", "- y = x + 1", "- that: len(x.shape) == 2",
     "restates given x's ndim (2)"),
    ("x: {tensor: {dtype: float, shape: [4, 4]}}", "- y = x + 1", "- equal: {actual: x.shape, expected: [4, 4]}",
     "restates given x's shape"),
    ("x: {tensor: {dtype: float, shape: [4, 4]}}", "- y = x + 1", "- that: x.dim() == 2", "restates given x's ndim"),
])
def test_each_rule_fires(given, do, expect, message):
    kwargs = {"expect": expect}
    if given is not None:
        kwargs["given"] = given
    if do is not None:
        kwargs["do"] = do
    found = findings(spec_yaml(claim_yaml(**kwargs)))
    assert len(found) == 1 and message in found[0], found


@pytest.mark.parametrize("do, expect", [
    ("- x = x * 2", "- that: x.requires_grad"),                     # rebound: now a result
    ("- x.requires_grad_(False)", "- that: not x.requires_grad"),   # changed in place
    ("- y = x.detach()", "- that: not y.requires_grad"),            # a step's result
    ("- y = x.detach()", "- that: not x.requires_grad_(False).requires_grad"),
    ("- y = x.detach()", '- that: not hasattr(torch.Tensor, "backend")'),  # reads torch: can fail
])
def test_checks_that_can_fail_are_not_flagged(do, expect):
    assert findings(spec_yaml(claim_yaml(do=do, expect=expect))) == []


def test_a_default_requires_grad_false_is_torchs_default_and_may_be_checked():
    text = spec_yaml(claim_yaml(given="x: {tensor: {dtype: float}}", do="- y = x + 1",
                                expect="- that: not x.requires_grad"))
    assert findings(text) == []


def test_as_stated_expectations_are_linted_too():
    text = spec_yaml(claim_yaml(verdict="refuted", extra=(
        "refinement: r\nas_stated:\n  expect:\n    - that: \"False\"\n  refuted_by: {expect: 0}\n")))
    (found,) = findings(text)
    assert "as_stated.expect[0]: the that check is a constant" in found
