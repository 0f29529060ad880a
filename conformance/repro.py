"""A standalone Python script that reproduces a failed claim against plain torch.

Note [Repro snippets]
The snippet is built from the same pieces the run used: the example's raw values written as
``torch.tensor`` literals (exact: float32 values are printed as the Python floats that hold them
exactly), ``torch.manual_seed`` with the example's torch seed before any module is built, the
spec's steps verbatim (expected exceptions and warnings become try/except and
``warnings.catch_warnings`` blocks), and every expectation as an ``assert``. The comparison
helpers are pasted from ``portable`` (Note [One source for checks and snippets]), so the script
needs nothing from this project and fails for the same reason the claim did.

Note [Inert snippets]
Users are told to run the snippet, so no spec text may reach it as anything but the code it
was validated as.  Spec code (steps, expectations, given expressions, gradcheck functions) is
not pasted: it is parsed again and regenerated with ``ast.unparse``, so the snippet holds
exactly the statements the spec language compiled, with every string literal re-escaped.  Prose
(statement, quote, file, claim id) goes into comments through ``comment``, which escapes every
character that could end a comment line (``repr`` escapes CR, LF and the other line breaks);
messages and patterns are ``repr`` literals; names must be identifiers.  A fuzz test checks
that the snippet parses to the expected statements whatever quotes, names and code contain.
"""
from __future__ import annotations

import ast
import inspect
import keyword
import textwrap

import torch

from . import portable
from .compiling import CompiledCheck, CompiledClaim, CompiledStep
from .devices import Slot
from .strategies import Example, GivenPlan, TensorRaw, placement

HEADER = """\
import math
import re
import warnings

import numpy as np
import torch

nn, F, optim = torch.nn, torch.nn.functional, torch.optim


def type_is(obj, cls):
    return type(obj) is cls


def same_data(a, b):
    return a.data_ptr() == b.data_ptr()


def parses_as_python(text):
    import ast
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True
"""


def comment(text: object) -> str:
    """One comment line holding ``text``; nothing in it can end the line (Note [Inert snippets])."""
    return "# " + repr(str(text))[1:-1]


def code(text: str, mode: str = "exec") -> str:
    """Spec code regenerated from its syntax tree (Note [Inert snippets])."""
    return ast.unparse(ast.parse(text.strip(), mode=mode))


def expr(text: str) -> str:
    return "(" + code(text, "eval") + ")"


def name(text: str) -> str:
    if not (isinstance(text, str) and text.isidentifier() and not keyword.iskeyword(text)):
        raise ValueError(f"not an identifier: {text!r}")
    return text


def given_lines(plans: list[GivenPlan], ex: Example) -> list[str]:
    lines = [f"torch.manual_seed({ex.torch_seed})"]
    for plan in plans:
        if plan.drawn:
            lines.append(f"{name(plan.name)} = {value_source(plan, ex.raw[plan.name])}")
        elif plan.kind == "module":
            lines.append(f"{name(plan.name)} = {expr(plan.source)}.to(device)")
        else:
            lines.append(f"{name(plan.name)} = {expr(plan.source)}")
    return lines


def value_source(plan: GivenPlan, raw) -> str:
    if not isinstance(raw, TensorRaw):
        return repr(raw)
    spec = plan.spec.tensor
    device = {"device": "device", "cpu": "torch.device('cpu')", "other_device": "other_device"}[spec.device]
    array = raw.array
    # A drawn layout (strategies, Note [Drawn layouts]) is rebuilt as the same storage cut with as_strided.
    where = placement(raw) if raw.layout != "contiguous" else None
    if where is not None:
        array = where.storage
    if array.size == 0:
        text = f"torch.empty({tuple(array.shape)!r}, dtype=torch.{raw.dtype}, device={device})"
    elif raw.dtype == "bfloat16":
        text = f"torch.tensor({array.tolist()!r}, dtype=torch.float32).to(device={device}, dtype=torch.bfloat16)"
    else:
        text = f"torch.tensor({array.tolist()!r}, dtype=torch.{raw.dtype}, device={device})"
    if where is not None:
        text += f".as_strided({list(where.size)!r}, {list(where.stride)!r}, {where.offset}).detach()"
    flag = spec.requires_grad
    if flag is True:
        text += ".requires_grad_(True)"
    elif isinstance(flag, str):
        text += f".requires_grad_(bool({expr(flag)}))"
    return text


def step_lines(step: CompiledStep) -> list[str]:
    written = code(step.written)
    note = comment(step.at.where())
    if step.raises is not None:
        cls = _class_name(step.raises)
        check = f"    assert re.search({step.match!r}, str(exc)), str(exc)\n" if step.match else "    pass\n"
        return [note, "try:", textwrap.indent(written, "    "), f"except {cls} as exc:", check.rstrip("\n"),
                "else:", f"    raise AssertionError({'expected ' + cls + ' from: ' + step.written.splitlines()[0]!r})"]
    if step.warns is not None:
        cls = _class_name(step.warns)
        pattern = repr(step.match) if step.match else "''"
        return [note, "with warnings.catch_warnings(record=True) as caught:", "    warnings.simplefilter('always')",
                textwrap.indent(written, "    "),
                f"assert any(issubclass(w.category, {cls}) and re.search({pattern}, str(w.message)) for w in caught), "
                f"[str(w.message) for w in caught]"]
    if step.no_warning is not None:
        cls = _class_name(step.no_warning)
        return [note, "with warnings.catch_warnings(record=True) as caught:", "    warnings.simplefilter('always')",
                textwrap.indent(written, "    "),
                f"assert not [w for w in caught if issubclass(w.category, {cls})], [str(w.message) for w in caught]"]
    return [note, written]


def check_lines(check: CompiledCheck, claim: CompiledClaim, stated: bool) -> list[str]:
    spec_checks = claim.claim.as_stated.expect if stated else claim.claim.expect
    index = int(check.at.label.rsplit("[", 1)[1].rstrip("]"))
    spec = spec_checks[index]
    message = repr(f"{check.at.where()} {check.kind}: {check.written}")
    kind = check.kind
    if kind == "that":
        return [f"assert {expr(spec.that)}, {message}"]
    if kind == "close":
        body = spec.close
        return [f"assert close({expr(body.actual)}, {_literal(body.expected)}, {body.rtol!r}, {body.atol!r}), "
                f"({message}, {expr(body.actual)})"]
    if kind == "equal":
        body = spec.equal
        return [f"assert equal({expr(body.actual)}, {_literal(body.expected)}), ({message}, {expr(body.actual)})"]
    if kind in ("shares_storage", "distinct_storage"):
        a, b = getattr(spec, kind)
        negate = "" if kind == "shares_storage" else "not "
        return [f"assert {negate}share_memory({expr(a)}, {expr(b)}), {message}"]
    if kind == "gradcheck":
        body = spec.gradcheck
        fn = "torch.autograd.gradcheck" if body.order == 1 else "torch.autograd.gradgradcheck"
        inputs = ", ".join(f"{expr(n)}.detach().double().requires_grad_(True)" for n in body.inputs)
        return [f"assert {fn}({expr(body.fn)}, ({inputs},), eps=1e-6, atol={body.atol!r}, rtol={body.rtol!r}), {message}"]
    raise AssertionError(kind)


def _literal(value) -> str:
    return expr(value) if isinstance(value, str) else repr(value)


def _class_name(cls: type) -> str:
    if cls.__module__ in ("builtins",):
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


HELPERS_BY_KIND = {
    "close": (portable.on_host, portable.as_expected, portable.close),
    "equal": (portable.on_host, portable.as_expected, portable.equal),
    "shares_storage": (portable.memory_span, portable.share_memory),
    "distinct_storage": (portable.memory_span, portable.share_memory),
}


def helper_source(claim: CompiledClaim, stated: bool) -> str:
    """Source of the portable helpers the snippet's asserts call, each once, in a stable order."""
    needed = []
    for check in (claim.stated_checks if stated else claim.checks):
        for fn in HELPERS_BY_KIND.get(check.kind, ()):
            if fn not in needed:
                needed.append(fn)
    if not needed:
        return ""
    return "\n\n".join(inspect.getsource(fn).rstrip() for fn in needed) + "\n\n"


def snippet(claim: CompiledClaim, slot: Slot, ex: Example, stated: bool = False) -> str:
    """A complete script; running it raises AssertionError (or the unexpected exception)."""
    c = claim.claim
    source = c.sources[0]  # a seed article, a documentation page, or none (a user's own claim)
    quote = (source.quote or "").replace("\n", " ")
    cited = (f"Article ({source.seed})" if source.seed else f"Page ({source.url})" if source.url
             else f"No source ({source.none})")
    statement = c.statement.strip().splitlines()[0] if c.statement.strip() else ""
    parts = [
        comment(f"Reproduces claim {c.id} ({claim.file}:{claim.line}) on {slot.label}, torch {torch.__version__}."),
        comment(f"Statement: {statement}"),
        comment(f"{cited}: {quote[:200]}" if quote else cited),
        HEADER,
        helper_source(claim, stated),
        f"device = torch.device({slot.device!r})",
    ]
    if slot.other_device:
        parts.append(f"other_device = torch.device({slot.other_device!r})")
    parts.extend(given_lines(claim.plans, ex))
    parts.extend(f"{name} = {source}" for name, source, _ in claim.helpers)  # the spec file's helpers
    for step in (claim.stated_steps if stated else claim.steps):
        parts.extend(step_lines(step))
    for check in (claim.stated_checks if stated else claim.checks):
        parts.extend(check_lines(check, claim, stated))
    parts.append("print('no failure: the claim held on this example')")
    return "\n".join(parts) + "\n"
