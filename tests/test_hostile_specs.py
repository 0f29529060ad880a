"""Hostile spec text is refused before it can do anything.

Every case below puts one hostile expression into an otherwise valid spec: in a step, an
expectation, a ``given`` expression, module or shape, a gradcheck function, a ``raises:`` name,
``as_stated``, or a pinned example value. Each must be refused either when the file is compiled
(a ``SpecError``: the plugin shows it as the file's error item) or when the claim runs (a
``SpecRuntimeError``: the item fails with "spec error while running"), and nothing may have
happened: no canary file in the working directory, and torch's functions and classes untouched.
"""
from __future__ import annotations

import builtins
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from conformance.errors import SpecError, SpecErrors
from conformance.running import SpecRuntimeError
from helpers import claim_yaml, compile_text, error_lines, run_item, run_specs, spec_yaml, write_specs

CANARY = "CANARY"
GIVEN = "x: {tensor: {dtype: float, requires_grad: true, shape: [2]}}"


def _q(code: str) -> str:
    return json.dumps(code)  # a JSON string is a YAML string: no quoting surprises


def in_step(code: str) -> str:
    return spec_yaml(claim_yaml(given=GIVEN, do=f"- y = x.detach()\n- {_q(code)}"))


def in_block(code: str) -> str:
    return spec_yaml(claim_yaml(given=GIVEN, do="- y = x.detach()\n- |\n" + textwrap.indent(code, "  ")))


def in_that(code: str) -> str:
    return spec_yaml(claim_yaml(given=GIVEN, expect=f"- that: {_q(code)}"))


def in_close_expected(code: str) -> str:
    return spec_yaml(claim_yaml(given=GIVEN, expect=f"- close: {{actual: y, expected: {_q(code)}}}"))


def in_given_expr(code: str) -> str:
    return spec_yaml(claim_yaml(given=f"{GIVEN}\nh: {{expr: {_q(code)}}}"))


def in_given_module(code: str) -> str:
    return spec_yaml(claim_yaml(given=f"{GIVEN}\nh: {{module: {_q(code)}}}"))


def in_shape(code: str) -> str:
    return spec_yaml(claim_yaml(given=f"x: {{tensor: {{dtype: float, requires_grad: true, shape: {_q(code)}}}}}"))


def in_requires_grad(code: str) -> str:
    return spec_yaml(claim_yaml(given=f"x: {{tensor: {{dtype: float, requires_grad: {_q(code)}}}}}"))


def in_gradcheck(code: str) -> str:
    return spec_yaml(claim_yaml(given=GIVEN, expect=f"- gradcheck: {{fn: {_q(code)}, inputs: [x]}}"))


def in_raises(code: str) -> str:
    return spec_yaml(claim_yaml(given=GIVEN, do=f"- y = x.detach()\n- {{do: y.sum().backward(), raises: {_q(code)}}}"))


def in_as_stated(code: str) -> str:
    return spec_yaml(claim_yaml(given=GIVEN, verdict="refuted", extra=(
        "refinement: detach() gives a tensor that does not require grad.\n"
        f"as_stated:\n  expect:\n    - that: {_q(code)}\n  refuted_by: {{expect: 0}}")))


def in_pinned(value: str) -> str:
    return spec_yaml(claim_yaml(given=GIVEN, extra=f"examples:\n  - {{x: {_q(value)}}}"))


# (id, spec text, a fragment of the refusal message)
CASES = [
    ("import-os-system", in_step("__import__('os').system('touch CANARY')"), "'_'"),
    ("open-for-writing", in_step("open('CANARY', 'w')"), "not available"),
    ("torch-save", in_step("torch.save(x, 'CANARY')"), "'save'"),
    ("numpy-save", in_step("np.save('CANARY', x.detach().numpy())"), "'save'"),
    ("ndarray-tofile", in_step("x.detach().numpy().tofile('CANARY')"), "'tofile'"),
    ("ndarray-dump", in_step("x.detach().numpy().dump('CANARY')"), "'dump'"),
    ("torch-hub", in_step("m = torch.hub.load('pytorch/vision', 'resnet18')"), "'hub'"),
    ("torch-utils-data", in_step("d = torch.utils.data"), "'utils'"),
    ("getattr-torch-load", in_step("f = getattr(torch, 'load')"), "not available"),
    ("subclasses-escape", in_step("s = ().__class__.__bases__[0].__subclasses__()"), "'_'"),
    ("format-escape", in_step("s = '{0.__class__}'.format(x)"), "'format'"),
    ("str-format-unbound", in_step("s = str.format('{0.__class__}', x)"), "'format'"),
    ("ops-load-library", in_step("torch.ops.load_library('x')"), "'ops'"),
    ("torch-compile", in_step("f = torch.compile(lambda t: t)"), "'compile'"),
    ("torch-jit", in_step("f = torch.jit.script(lambda t: t)"), "'jit'"),
    ("torch-from-file", in_step("z = torch.from_file('CANARY', True, 10)"), "'from_file'"),
    ("numpy-memmap", in_step("z = np.memmap('CANARY', mode='w+', shape=(3,))"), "'memmap'"),
    ("huge-list", in_step("z = [1] * 10**9"), "exceeds"),
    ("huge-power", in_step("z = 10 ** 10 ** 10"), "exceeds"),
    ("huge-tensor", in_step("z = torch.ones(100000, 100000)"), "allocation limit"),
    ("huge-repeat", in_step("z = x.detach().repeat(10**6, 10**6)"), "allocation limit"),
    ("huge-numpy", in_step("z = np.zeros((100000, 100000))"), "allocation limit"),
    ("huge-string-pad", in_step("z = 'x'.ljust(10**9)"), "exceeds"),
    ("huge-range", in_step("z = list(range(10**9))"), "exceeds"),
    ("nested-loops", in_block("for i in range(100000):\n    for j in range(100000):\n        z = i"), "budget"),
    ("self-application", in_step("z = (lambda f: f(f))(lambda f: f(f))"), "recursed"),
    ("assign-torch-sum", in_step("torch.sum = None"), "cannot assign"),
    ("assign-linear-forward", in_step("nn.Linear.forward = None"), "cannot assign"),
    ("assign-tensor-detach", in_step("torch.Tensor.detach = None"), "cannot assign"),
    ("setattr-builtin", in_step("setattr(torch, 'sum', None)"), "not available"),
    ("lambda-import", in_step("f = lambda: __import__('os')"), "'_'"),
    ("with-open", in_block("with open('CANARY', 'w') as f:\n    pass"), "'with' only accepts"),
    ("module-outside-allowed", in_step("m = torch.nn.modules.module"), "outside the allowed set"),
    ("private-c-extension", in_step("m = torch._C"), "'_'"),
    ("set-default-dtype", in_step("torch.set_default_dtype(torch.float64)"), "'set_default_dtype'"),
    ("that-system", in_that("__import__('os').system('touch CANARY') == 0"), "'_'"),
    ("that-open", in_that("open('CANARY', 'w') is not None"), "not available"),
    ("close-expected-tofile", in_close_expected("x.numpy().tofile('CANARY')"), "'tofile'"),
    ("given-expr-import", in_given_expr("__import__('os')"), "'_'"),
    ("given-expr-save", in_given_expr("torch.save(x, 'CANARY')"), "'save'"),
    ("given-expr-huge", in_given_expr("[1] * 10**9"), "exceeds"),
    ("given-module-hub", in_given_module("torch.hub.load('pytorch/vision', 'resnet18')"), "'hub'"),
    ("shape-import", in_shape("(lambda: __import__('os'))()"), "'_'"),
    ("shape-huge", in_shape("[10**9, 10**9]"), "at most"),
    ("shape-huge-allocation", in_shape("torch.ones(100000, 100000).shape"), "allocation limit"),
    ("requires-grad-open", in_requires_grad("open('CANARY', 'w') is None"), "not available"),
    ("gradcheck-fn-save", in_gradcheck("lambda t: torch.save(t, 'CANARY')"), "'save'"),
    ("gradcheck-fn-dunder", in_gradcheck("lambda t: t.__class__"), "'_'"),
    ("raises-expression", in_raises("__import__('os').system('touch CANARY')"), "not the name of an exception"),
    ("raises-huge-power", in_raises("10 ** 10 ** 10"), "not the name of an exception"),
    ("as-stated-open", in_as_stated("open('CANARY', 'w') is not None"), "not available"),
    ("pinned-value-code", in_pinned("__import__('os').system('touch CANARY')"), "cannot make a float32 tensor"),
]


def _guarded():
    """Objects a hostile spec might try to replace, by where they live."""
    return {
        "torch.sum": torch.sum, "torch.load": torch.load, "torch.save": torch.save,
        "torch.Tensor.detach": torch.Tensor.detach, "torch.Tensor.backward": torch.Tensor.backward,
        "torch.nn.Linear.forward": torch.nn.Linear.forward, "np.save": np.save, "builtins.open": builtins.open,
        "default dtype": torch.get_default_dtype(),
    }


def refusal(text: str) -> tuple[str, str]:
    """('compile' | 'run', message) for a spec that is refused; fails the test if it is not."""
    try:
        claims = compile_text(text)
    except (SpecError, SpecErrors) as exc:
        lines = error_lines(exc)
        assert len(lines) == 1, lines
        return "compile", lines[0]
    try:
        run_item(claims[0], max_examples=2)
    except SpecRuntimeError as exc:
        return "run", str(exc)
    pytest.fail("the hostile spec compiled and ran without being refused")


@pytest.mark.parametrize("text, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_expression_is_refused_before_it_acts(tmp_path: Path, monkeypatch, text: str, fragment: str):
    monkeypatch.chdir(tmp_path)
    before = _guarded()
    phase, message = refusal(text)
    assert fragment in message, (phase, message)
    assert not (tmp_path / CANARY).exists()
    assert _guarded() == before


def test_there_are_enough_cases_in_every_kind_of_place():
    assert len(CASES) >= 30
    places = {in_step, in_block, in_that, in_close_expected, in_given_expr, in_given_module, in_shape,
              in_requires_grad, in_gradcheck, in_raises, in_as_stated, in_pinned}
    assert len(places) == 12


def test_harmless_neighbours_still_run(tmp_path: Path, monkeypatch):
    # The refusals above are not blanket ones: nearby legitimate uses compile and pass.
    monkeypatch.chdir(tmp_path)
    for text in (in_step("z = x.detach().numpy().sum()"), in_step("z = torch.ones(100, 100).sum()"),
                 in_block("for i in range(10):\n    z = x * i"), in_given_module("nn.Linear(2, 2)"),
                 in_shape("(2, 3)"), in_gradcheck("lambda t: (t * 2).sum()")):
        run_item(compile_text(text)[0], max_examples=2)


def test_a_plugin_run_refuses_a_handful_and_runs_the_rest(pytester: pytest.Pytester):
    picked = {"import-os-system", "open-for-writing", "torch-save", "assign-torch-sum", "with-open",
              "raises-expression", "given-module-hub", "pinned-value-code"}
    files = {name: text for name, text, _ in CASES if name in picked}
    loops = "for i in range(100000):\n    for j in range(100000):\n        z = i"
    # Refused only when they run: one file, three items that fail as spec errors, one that passes.
    claims = [claim_yaml("runtime-huge-list", given=GIVEN, do="- y = x.detach()\n- z = [1] * 10**9"),
              claim_yaml("runtime-nested-loops", given=GIVEN, do="- y = x.detach()\n- |\n" + textwrap.indent(loops, "  ")),
              claim_yaml("runtime-huge-shape", given="x: {tensor: {dtype: float, requires_grad: true, shape: '[10**9, 10**9]'}}"),
              claim_yaml("still-fine", given=GIVEN)]
    files["runtime"] = spec_yaml(*claims)
    write_specs(pytester, files)
    before = _guarded()

    result = run_specs(pytester, "--conformance-profile=ci")
    result.assert_outcomes(passed=1, failed=3, errors=len(picked))
    result.stdout.fnmatch_lines(["*spec error while running: specs/runtime.yaml:*runtime-huge-list*exceeds*"])
    result.stdout.fnmatch_lines(["*spec error while running: specs/runtime.yaml:*runtime-nested-loops*budget*"])
    result.stdout.fnmatch_lines(["*spec error while running: specs/runtime.yaml:*runtime-huge-shape: given: *"])
    assert not (pytester.path / CANARY).exists()
    assert _guarded() == before
