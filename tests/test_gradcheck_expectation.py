"""The gradcheck expectation backs literal gradient values with a numerical check of the formula."""
from __future__ import annotations

import textwrap

import pytest
import torch

from conformance import compiling, loading, schema
from conformance.assertions import CheckFailed
from conformance.devices import Slot
from conformance.profiles import choose
from conformance.running import RunStats, run_claim
from conformance.versions import installed_torch_version

SPEC = textwrap.dedent("""\
    topic: backward
    claims:
      - id: mean-of-squares-gradient
        sources: [{seed: 003_3805b9a03866d634.txt, quote: "Out[69]:"}]
        statement: d/dx mean(3 (x+2)^2) = 6 (x+2) / n, checked numerically.
        verdict: holds
        given:
          x: {tensor: {dtype: float64, shape: [2, 2], requires_grad: true}}
        expect:
          - gradcheck: {fn: "lambda t: ((t + 2) * (t + 2) * 3).mean()", inputs: [x]}
          - gradcheck: {fn: "lambda t: ((t + 2) * (t + 2) * 3).mean()", inputs: [x], order: 2}
        max_examples: 5
    """)


def compiled():
    doc = loading.load_text(SPEC, "specs/grad.yaml")
    return compiling.compile_file(doc, schema.validate(doc), installed_torch_version())[0]


def test_gradcheck_passes_on_real_torch():
    run_claim(compiled(), Slot("cpu", "cpu"), choose("ci", None), RunStats())


class WrongMean(torch.autograd.Function):
    """mean with a backward that is off by a factor of two."""

    @staticmethod
    def forward(ctx, t):
        ctx.save_for_backward(t)
        return t.sum() / t.numel()

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad.expand_as(t) * 2.0 / t.numel()


def test_gradcheck_catches_a_wrong_gradient_formula(monkeypatch):
    monkeypatch.setattr(torch.Tensor, "mean", lambda self, *a, **k: WrongMean.apply(self))
    with pytest.raises(CheckFailed) as info:
        run_claim(compiled(), Slot("cpu", "cpu"), choose("ci", None), RunStats())
    text = info.value.render()
    assert "expect[0]" in text and "gradcheck" in text
    assert "Jacobian mismatch" in text or "gradients differ" in text
