"""The pieces every mutant is built from: the Mutant record, exact patching and undo, the registry.

See Note [Mutants] in ``conformance/mutants/__init__.py``.
"""
from __future__ import annotations

import contextlib
import functools
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Tuple

import numpy as np
import torch

TOPICS = ("requires_grad", "grad_modes", "backward", "detach", "leaves", "optimizers", "devices",
          "numpy", "views_inplace", "item", "deprecated", "tensor_basics")

Undo = Callable[[], None]


@dataclass(frozen=True)
class Mutant:
    name: str
    topic: str
    description: str  # what is broken, in the articles' terms
    patch: Callable[[], Undo]  # break torch in this process; returns the undo
    probe: Callable[[], None]  # returns on real torch, raises AssertionError under the mutant
    hint: str = ""  # the kind of claim that kills it (shown for survivors)
    fast: bool = False  # part of ``mutate --fast`` (at least one per topic)


# --- patching ---------------------------------------------------------------------------------

_MISSING = object()


class _Patches:
    """Records every attribute it sets so that ``undo`` restores the exact previous state."""

    def __init__(self) -> None:
        self._saved: List[Tuple[Any, str, Any]] = []

    def set(self, owner: Any, name: str, value: Any) -> None:
        raw = vars(owner).get(name, _MISSING)  # the raw entry (staticmethod, descriptor) or inherited
        setattr(owner, name, value)
        self._saved.append((owner, name, raw))

    def wrap(self, owner: Any, name: str, make: Callable[[Callable], Callable]) -> None:
        """Replace ``owner.name`` by ``make(original)``; the original is looked up as Python sees it."""
        original = getattr(owner, name)
        replacement = make(original)
        try:
            functools.update_wrapper(replacement, original)
        except (AttributeError, TypeError):  # pragma: no cover - a builtin without some metadata
            pass
        self.set(owner, name, replacement)

    def undo(self) -> None:
        while self._saved:
            owner, name, raw = self._saved.pop()
            if raw is _MISSING:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
            else:
                setattr(owner, name, raw)


def _tensor_property(name: str) -> Any:
    """The C-level descriptor behind ``torch.Tensor.<name>`` (a getset descriptor on the base class)."""
    for klass in torch.Tensor.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    raise AttributeError(name)  # pragma: no cover


def _floating(t: torch.Tensor) -> bool:
    return t.is_floating_point() or t.is_complex()


_HALF = (torch.float16, torch.bfloat16)  # the half-precision dtypes many subtle mutants single out


# Originals captured at import, before any mutant runs: helpers below must not call patched code.
_ORIG_MUL = torch.Tensor.mul
_ORIG_DETACH = torch.Tensor.detach
_ORIG_CLONE = torch.Tensor.clone
_IS_LEAF = _tensor_property("is_leaf")
_REQUIRES_GRAD = _tensor_property("requires_grad")


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; multiplies the incoming gradient by ``factor``: a wrong backward formula."""

    @staticmethod
    def forward(ctx, x, factor):  # noqa: D401 - autograd.Function protocol
        ctx.factor = factor
        return _ORIG_CLONE(x)

    @staticmethod
    def backward(ctx, grad):
        return _ORIG_MUL(grad, ctx.factor), None


def _scale_grad(result: Any, factor: float) -> Any:
    if isinstance(result, torch.Tensor) and result.requires_grad and torch.is_grad_enabled():
        return _ScaleGrad.apply(result, factor)
    return result


def _detached(result: Any) -> Any:
    return _ORIG_DETACH(result) if isinstance(result, torch.Tensor) else result


def _results(p: _Patches, owners_names: List[Tuple[Any, str]], change: Callable[[Any], Any]) -> None:
    """Wrap each callable so that its result goes through ``change``."""
    for owner, name in owners_names:
        def make(original, change=change):
            def wrapper(*args, **kwargs):
                return change(original(*args, **kwargs))
            return wrapper
        p.wrap(owner, name, make)


def _ops(*names: str) -> List[Tuple[Any, str]]:
    """``Tensor.__add__`` and friends plus ``torch.add``: every spelling of one operation."""
    out: List[Tuple[Any, str]] = []
    for name in names:
        owner = torch if not name.startswith(("__", ".")) else torch.Tensor
        out.append((owner, name.lstrip(".")))
    return out


def _check(condition: Any, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _raises(kind: type, fn: Callable[[], Any], message: str) -> None:
    try:
        fn()
    except kind:
        return
    raise AssertionError(message)


def _warns(pattern: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` and return its result; AssertionError unless a warning containing ``pattern`` was emitted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    _check(any(pattern in str(w.message) for w in caught), f"no warning containing {pattern!r}")
    return result


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --- the registry -----------------------------------------------------------------------------

MUTANTS: Dict[str, Mutant] = {}
# Survivors: mutants the shipped suite does not kill yet (the claim that would kill them is in
# docs/mutation.md, "Pending mutants"). Not listed, not run by ``mutate``, not in the doc's kill
# matrix; ``--conformance-mutant=NAME`` still applies one, to check a proposed claim against it.
PENDING: Dict[str, Mutant] = {}


def _mutant(name: str, topic: str, description: str, probe: Callable[[], None], hint: str = "",
            fast: bool = False, shipped: bool = True) -> Callable[[Callable[[_Patches], None]], Callable[[_Patches], None]]:
    assert topic in TOPICS, topic
    assert name not in MUTANTS and name not in PENDING, name
    assert shipped or not fast, name

    def register(body: Callable[[_Patches], None]) -> Callable[[_Patches], None]:
        def patch() -> Undo:
            patches = _Patches()
            try:
                body(patches)
            except BaseException:
                patches.undo()
                raise
            return patches.undo

        def quiet_probe() -> None:
            grad_mode = torch._C.is_grad_enabled()  # a failing probe may leave grad mode broken
            try:
                with _quiet():
                    probe()
            finally:
                torch._C._set_grad_enabled(grad_mode)

        (MUTANTS if shipped else PENDING)[name] = Mutant(name=name, topic=topic, description=description,
                                                         patch=patch, probe=quiet_probe, hint=hint, fast=fast)
        return body

    return register


def _leaf(*shape: int, value: float = 1.0) -> torch.Tensor:
    return torch.full(shape or (2,), value).requires_grad_(True)


