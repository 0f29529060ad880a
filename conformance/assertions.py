"""What must hold: every expectation kind, and the one message template they all share.

Note [One message template]
Every failed expectation raises ``CheckFailed`` carrying: where it is (``expect[2]``, line 31),
what kind it is, the expectation as written in the spec, and the actual and expected values.
``CheckFailed.render`` is the only place that formats that, so every failure reads alike:

    expect[2] (line 31) close: x.grad ~= 4.5 (rtol=0, atol=1e-06)
        actual:   tensor([[4.4, 4.5]])
        expected: 4.5
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from . import portable


# Note [Device-safe printing]
# A failure report must read in spec terms on any backend, including one whose tensor ``repr``
# (or the ops it needs) raise. Tensors off the CPU are printed as their CPU copy with the device
# appended; a tensor that cannot be printed even so is described by shape, dtype, layout and
# device, which needs no kernel. The drawn example is printed from its raw (numpy) values
# (``Example.__repr__``), never from the live tensors, and comparisons run on CPU copies
# (``portable.close``/``equal``), so a missing device kernel cannot turn a verdict into noise.


class ClaimFailure(Exception):
    """Base of everything that means: torch did not behave as the claim says."""

    example = None  # the Example it failed on; set by the runner

    def render(self) -> str:
        return str(self)


@dataclass
class Located:
    label: str  # e.g. "expect[2]" or "do[1]" or "as_stated.expect[0]"
    line: int | None

    def where(self) -> str:
        return f"{self.label} (line {self.line})" if self.line else self.label


class CheckFailed(ClaimFailure):
    def __init__(self, at: Located, kind: str, written: str, actual: Any = None, expected: Any = None,
                 detail: str | None = None):
        self.at, self.kind, self.written = at, kind, written
        self.actual, self.expected, self.detail = actual, expected, detail
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.at.where()} {self.kind}: {self.written}"]
        if self.detail:
            lines.append(f"    {self.detail}")
        if self.actual is not None or self.expected is not None:
            lines.append(f"    actual:   {short_repr(self.actual)}")
            lines.append(f"    expected: {short_repr(self.expected)}")
        return "\n".join(lines)


class StepFailed(ClaimFailure):
    """A step raised when it should not have, or did not raise/warn as it should."""

    def __init__(self, at: Located, written: str, detail: str):
        self.at, self.written, self.detail = at, written, detail
        super().__init__(self.render())

    def render(self) -> str:
        return f"{self.at.where()} step: {self.written}\n    {self.detail}"


def short_repr(value: Any, limit: int = 600) -> str:
    text = device_safe_repr(value)
    text = text.replace("\n", "\n              ")
    return text if len(text) <= limit else text[:limit] + " ..."


def device_safe_repr(value: Any, depth: int = 0) -> str:
    """``repr`` that holds up on any backend (Note [Device-safe printing])."""
    import torch

    if isinstance(value, (list, tuple)) and depth < 3 and any(isinstance(v, torch.Tensor) for v in value):
        inner = ", ".join(device_safe_repr(v, depth + 1) for v in value[:20]) + (", ..." if len(value) > 20 else "")
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, torch.Tensor) and value.device.type != "cpu":
        try:
            host = repr(value.detach().to("cpu"))
            return host[:-1] + f", device='{value.device}')" if host.endswith(")") else host
        except Exception:
            return describe_tensor(value)
    try:
        return repr(value)
    except Exception as exc:  # a repr that itself fails must not hide the failure
        if isinstance(value, torch.Tensor):
            return describe_tensor(value)
        return f"<unprintable {type(value).__name__}: {type(exc).__name__}: {first_line(exc)}>"


def describe_tensor(t: Any) -> str:
    """A tensor by its metadata only: what every backend can answer without running a kernel."""
    parts = []
    for name in ("shape", "dtype", "layout", "device", "requires_grad"):
        try:
            shown = getattr(t, name)
            parts.append(f"{name}={tuple(shown) if name == 'shape' else shown}")
        except Exception:
            parts.append(f"{name}=?")
    return "<tensor " + ", ".join(parts) + " (values not printable)>"


# --- the expectation kinds ---------------------------------------------------------------

def check_that(at: Located, written: str, value: Any) -> None:
    try:
        ok = bool(value)
    except Exception as exc:  # e.g. a multi-element tensor
        raise CheckFailed(at, "that", written, detail=f"the expression did not give a truth value: {exc}") from None
    if not ok:
        raise CheckFailed(at, "that", written, actual=value, expected=True)


def check_close(at: Located, written: str, actual: Any, expected: Any, rtol: float, atol: float) -> None:
    try:
        ok = portable.close(actual, expected, rtol, atol)
    except Exception as exc:
        raise CheckFailed(at, "close", written, actual, expected, detail=f"values are not comparable: {exc}") from None
    if not ok:
        raise CheckFailed(at, "close", written, actual, expected)


def check_equal(at: Located, written: str, actual: Any, expected: Any) -> None:
    try:
        ok = portable.equal(actual, expected)
    except Exception as exc:
        raise CheckFailed(at, "equal", written, actual, expected, detail=f"values are not comparable: {exc}") from None
    if not ok:
        raise CheckFailed(at, "equal", written, actual, expected)


def check_storage(at: Located, written: str, a: Any, b: Any, shared: bool) -> None:
    kind = "shares_storage" if shared else "distinct_storage"
    try:
        actual = portable.share_memory(a, b)
    except TypeError as exc:
        raise CheckFailed(at, kind, written, detail=str(exc)) from None
    if actual != shared:
        raise CheckFailed(at, kind, written, detail="the two values share memory" if actual
                          else "the two values do not share memory")


def check_gradients(at: Located, written: str, fn: Callable, inputs: list, order: int, atol: float, rtol: float) -> None:
    import torch

    prepared = []
    for value in inputs:
        if not isinstance(value, torch.Tensor):
            raise CheckFailed(at, "gradcheck", written, detail=f"input is a {type(value).__name__}, not a tensor")
        wide = torch.complex128 if value.is_complex() else torch.float64
        prepared.append(value.detach().to(wide).requires_grad_(True))
    checker = torch.autograd.gradcheck if order == 1 else torch.autograd.gradgradcheck
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok = checker(fn, tuple(prepared), eps=1e-6, atol=atol, rtol=rtol, raise_exception=True)
    except Exception as exc:  # GradcheckError carries the numerical and analytical Jacobians
        first = str(exc).strip().splitlines()
        raise CheckFailed(at, "gradcheck", written, detail=" ".join(first[:6])[:900]) from None
    if not ok:
        raise CheckFailed(at, "gradcheck", written, detail="the analytical and numerical gradients differ")


def expect_exception(at: Located, written: str, run: Callable[[], None], kind: type, pattern: str | None) -> None:
    try:
        with warnings.catch_warnings():  # a step expected to raise may warn first; that is not news
            warnings.simplefilter("ignore")
            run()
    except ClaimFailure:
        raise
    except Exception as exc:
        if not isinstance(exc, kind):
            raise StepFailed(at, written, f"expected {kind.__name__}{_matching(pattern)}, "
                             f"got {type(exc).__name__}: {first_line(exc)}") from None
        if pattern is not None and not re.search(pattern, str(exc)):
            raise StepFailed(at, written, f"raised {type(exc).__name__} as expected, but its message "
                             f"{first_line(exc)!r} does not match {pattern!r}") from None
        return
    raise StepFailed(at, written, f"expected {kind.__name__}{_matching(pattern)}, but the step completed")


def _warnings_of(at: Located, written: str, run: Callable[[], None], expecting: str) -> list:
    """Run a step recording every warning it emits; a step that raises instead is a failure."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run()
        except ClaimFailure:
            raise
        except Exception as exc:
            raise StepFailed(at, written, f"expected {expecting}, but the step raised "
                             f"{type(exc).__name__}: {first_line(exc)}") from None
    return caught


def expect_warning(at: Located, written: str, run: Callable[[], None], kind: type, pattern: str | None) -> None:
    caught = _warnings_of(at, written, run, f"{kind.__name__}{_matching(pattern)}")
    for item in caught:
        if issubclass(item.category, kind) and (pattern is None or re.search(pattern, str(item.message))):
            return
    seen = "; ".join(f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught) or "no warnings"
    raise StepFailed(at, written, f"expected {kind.__name__}{_matching(pattern)}; saw {seen}")


def expect_no_warning(at: Located, written: str, run: Callable[[], None], kind: type) -> None:
    caught = _warnings_of(at, written, run, f"no {kind.__name__}")
    emitted = [w for w in caught if issubclass(w.category, kind)]
    if emitted:
        raise StepFailed(at, written, f"expected no {kind.__name__}, but saw {emitted[0].category.__name__}: "
                         f"{str(emitted[0].message).splitlines()[0]}")


def _matching(pattern: str | None) -> str:
    return f" matching {pattern!r}" if pattern is not None else ""


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
