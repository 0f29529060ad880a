"""Built-in mutants of torch: each one breaks one behaviour the articles describe, in-process.

Note [Mutants]
A conformance suite is only worth running if it fails when torch misbehaves. A mutant is a
deliberately broken torch: ``Mutant.patch()`` monkeypatches Python-visible attributes of the
running torch (methods and properties of ``torch.Tensor``, functions of ``torch`` and
``torch.autograd``, methods of ``torch.nn.Module``, ``torch.nn.Parameter``, the optimizers and
the grad-mode context managers) and returns an ``undo`` callable that puts every attribute
back exactly as it was (the raw class-``__dict__`` entry, or nothing when the attribute was
inherited). Nothing is compiled or rebuilt: the C++ kernels are the real ones, and every
mutant is a thin Python wrapper that changes what one behaviour looks like from Python, e.g.
``x + y`` whose result is detached, a ``detach()`` that copies, a ``backward()`` that
overwrites ``.grad`` instead of accumulating into it, a ``mean`` whose gradient is doubled.

Why this reaches the specs: spec expressions are run by ``conformance.expressions``, which
evaluates ``x * 2``, ``x.detach()``, ``torch.no_grad()`` ... by calling the very same Python
attributes (operators through ``operator.mul`` and hence the ``torch.Tensor.__mul__`` slot,
methods by attribute look-up at call time, ``with`` through ``__enter__``/``__exit__`` of the
real grad-mode classes, which are patched in place rather than replaced, so the evaluator's
``isinstance`` check on context managers still passes). torch's own Python code looks those
attributes up at call time too (``Tensor.backward`` calls ``torch.autograd.backward``,
``no_grad.__enter__`` calls ``torch.set_grad_enabled``), so a mutant also breaks what torch
builds on the broken piece, as a real regression would.

Each mutant carries a ``probe``: a few lines of plain torch (no spec engine) that return on
real torch and raise ``AssertionError`` under the mutant. ``tests/test_mutants.py`` runs every
probe before, during and after the mutant (positive controls), so a mutant that silently stops
breaking anything (say, because a torch release moved the attribute it patches) is caught
there rather than showing up as a spurious "survivor" of the suite.

Use: ``apply(name)`` (what ``--conformance-mutant=NAME`` / env ``CONFORMANCE_MUTANT`` do in the
plugin's ``pytest_configure``, before any spec is collected) or ``applied(name)`` as a context
manager. ``python -m conformance mutate`` runs the suite once per mutant (``conformance.mutation``).
Everything here works on torch 1.13 and later: only long-standing attributes are patched, and
the handful that moved are looked up defensively.
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


def _mutant(name: str, topic: str, description: str, probe: Callable[[], None], hint: str = "",
            fast: bool = False) -> Callable[[Callable[[_Patches], None]], Callable[[_Patches], None]]:
    assert topic in TOPICS, topic
    assert name not in MUTANTS, name

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

        MUTANTS[name] = Mutant(name=name, topic=topic, description=description, patch=patch,
                               probe=quiet_probe, hint=hint, fast=fast)
        return body

    return register


def _leaf(*shape: int, value: float = 1.0) -> torch.Tensor:
    return torch.full(shape or (2,), value).requires_grad_(True)


# ---- requires_grad ---------------------------------------------------------------------------

def _probe_add() -> None:
    x = _leaf()
    _check((x + 1).requires_grad and torch.add(x, 1).requires_grad, "x + 1 does not require grad")


@_mutant("add-result-detached", "requires_grad",
         "x + y (Tensor.__add__/__radd__/add, torch.add) returns a detached result: it never requires grad",
         _probe_add, "a claim that a + b requires grad when a or b does (and has a grad_fn)", fast=True)
def _(p: _Patches) -> None:
    _results(p, _ops("__add__", "__radd__", ".add", "add"), _detached)


def _probe_mul() -> None:
    x = _leaf()
    _check((x * 2).requires_grad and (2 * x).requires_grad and torch.mul(x, 2).requires_grad,
           "x * 2 does not require grad")


@_mutant("mul-result-detached", "requires_grad",
         "x * y (Tensor.__mul__/__rmul__/mul, torch.mul) returns a detached result: it never requires grad",
         _probe_mul, "a claim that x * w requires grad when w does (the article's y = x * w)")
def _(p: _Patches) -> None:
    _results(p, _ops("__mul__", "__rmul__", ".mul", "mul"), _detached)


def _probe_int_requires_grad() -> None:
    _raises(RuntimeError, lambda: torch.tensor([1, 2]).requires_grad_(True),
            "requires_grad_(True) on an int tensor did not raise")
    _raises(RuntimeError, lambda: torch.tensor([3, 4], requires_grad=True),
            "torch.tensor([3, 4], requires_grad=True) did not raise")


@_mutant("int-requires-grad-accepted", "requires_grad",
         "asking an integer/bool tensor to require grad (requires_grad_(True), torch.tensor(..., "
         "requires_grad=True)) is silently ignored instead of raising RuntimeError",
         _probe_int_requires_grad, "a claim that int tensors cannot require grad (raises RuntimeError)")
def _(p: _Patches) -> None:
    def make_method(original):
        def requires_grad_(self, requires_grad=True):
            if requires_grad and not _floating(self):
                return self
            return original(self, requires_grad)
        return requires_grad_

    def make_factory(original):
        def tensor(*args, **kwargs):
            if kwargs.get("requires_grad"):
                kwargs["requires_grad"] = False
                result = original(*args, **kwargs)
                return result.requires_grad_(True) if _floating(result) else result
            return original(*args, **kwargs)
        return tensor

    p.wrap(torch.Tensor, "requires_grad_", make_method)
    p.wrap(torch, "tensor", make_factory)


def _probe_factory_default() -> None:
    for made in (torch.tensor([1.0, 2.0]), torch.ones(2), torch.zeros(2), torch.randn(2), torch.rand(2)):
        _check(not made.requires_grad, "a new float tensor requires grad by default")


@_mutant("new-tensors-require-grad", "requires_grad",
         "float tensors made by torch.tensor/ones/zeros/randn/rand require grad unless told otherwise "
         "(the default is False)",
         _probe_factory_default, "a claim that a freshly created tensor does not require grad")
def _(p: _Patches) -> None:
    def make(original):
        def factory(*args, **kwargs):
            result = original(*args, **kwargs)
            if "requires_grad" not in kwargs and isinstance(result, torch.Tensor) and _floating(result):
                result.requires_grad_(True)
            return result
        return factory

    for name in ("tensor", "ones", "zeros", "randn", "rand"):
        p.wrap(torch, name, make)


def _probe_requires_grad_default() -> None:
    _check(torch.zeros(2).requires_grad_().requires_grad, "requires_grad_() did not set requires_grad")


@_mutant("requires-grad-default-false", "requires_grad",
         "Tensor.requires_grad_() with no argument sets requires_grad False (its default is True)",
         _probe_requires_grad_default, "a claim that a.requires_grad_() makes a require grad (the article's a.requires_grad_())")
def _(p: _Patches) -> None:
    def make(original):
        def requires_grad_(self, requires_grad=False):
            return original(self, requires_grad)
        return requires_grad_

    p.wrap(torch.Tensor, "requires_grad_", make)


def _probe_parameters_default() -> None:
    net = torch.nn.Linear(2, 2)
    _check(all(q.requires_grad for q in net.parameters()), "module parameters do not require grad")


@_mutant("parameters-frozen-by-default", "requires_grad",
         "nn.Parameter defaults to requires_grad=False, so a new module's parameters do not require grad",
         _probe_parameters_default, "a claim that every parameter of a new nn module requires grad")
def _(p: _Patches) -> None:
    original = torch.nn.Parameter.__new__

    def __new__(cls, data=None, requires_grad=False):
        return original(cls, data, requires_grad)

    p.set(torch.nn.Parameter, "__new__", staticmethod(__new__))


def _probe_requires_grad_setter() -> None:
    net = torch.nn.Linear(2, 2)
    net.weight.requires_grad = False
    _check(not net.weight.requires_grad, "setting requires_grad = False had no effect")


@_mutant("requires-grad-false-ignored", "requires_grad",
         "assigning t.requires_grad = False is ignored (frozen parameters stay trainable)",
         _probe_requires_grad_setter,
         "a claim that after p.requires_grad = False, p.requires_grad is False / p.grad stays None")
def _(p: _Patches) -> None:
    def setter(self, value):
        if value:
            _REQUIRES_GRAD.__set__(self, value)

    p.set(torch.Tensor, "requires_grad", property(_REQUIRES_GRAD.__get__, setter, doc=_REQUIRES_GRAD.__doc__))


# ---- grad_modes ------------------------------------------------------------------------------

def _probe_no_grad() -> None:
    x = _leaf()
    with torch.no_grad():
        _check(not torch.is_grad_enabled(), "grad is enabled inside no_grad()")
        _check(not (x * 2).requires_grad, "x * 2 requires grad inside no_grad()")
    _check(torch.is_grad_enabled(), "grad is not enabled after no_grad()")


@_mutant("no-grad-noop", "grad_modes",
         "torch.no_grad() does not disable grad: results computed inside it still require grad",
         _probe_no_grad, "a claim that results computed under torch.no_grad() do not require grad", fast=True)
def _(p: _Patches) -> None:
    def __enter__(self):
        self.prev = torch.is_grad_enabled()

    p.set(torch.no_grad, "__enter__", __enter__)


@_mutant("no-grad-exit-leaves-disabled", "grad_modes",
         "leaving torch.no_grad() keeps grad disabled instead of restoring the previous mode",
         _probe_no_grad, "a claim that grad mode is restored after a with torch.no_grad(): block")
def _(p: _Patches) -> None:
    def __exit__(self, *exc):
        torch._C._set_grad_enabled(False)

    p.set(torch.no_grad, "__exit__", __exit__)


def _probe_set_grad_enabled() -> None:
    torch.set_grad_enabled(False)
    try:
        _check(not torch.is_grad_enabled(), "set_grad_enabled(False) left grad enabled")
    finally:
        torch.set_grad_enabled(True)
    with torch.set_grad_enabled(False):
        _check(not (_leaf() * 2).requires_grad, "x * 2 requires grad under set_grad_enabled(False)")


@_mutant("set-grad-enabled-ignores-arg", "grad_modes",
         "torch.set_grad_enabled(mode) always enables grad, whatever mode says (and so does no_grad(), "
         "which torch builds on it)",
         _probe_set_grad_enabled, "a claim about torch.set_grad_enabled(False), as a call or a with block")
def _(p: _Patches) -> None:
    def make(original):
        def __init__(self, mode):
            original(self, True)
        return __init__

    p.wrap(torch.set_grad_enabled, "__init__", make)


def _probe_enable_grad() -> None:
    x = _leaf()
    with torch.no_grad():
        with torch.enable_grad():
            _check(torch.is_grad_enabled() and (x * 2).requires_grad, "enable_grad() inside no_grad() had no effect")


@_mutant("enable-grad-noop", "grad_modes",
         "torch.enable_grad() inside torch.no_grad() does not re-enable grad",
         _probe_enable_grad, "a claim that torch.enable_grad() re-enables grad inside torch.no_grad()")
def _(p: _Patches) -> None:
    def __enter__(self):
        self.prev = torch.is_grad_enabled()

    p.set(torch.enable_grad, "__enter__", __enter__)


def _probe_is_grad_enabled() -> None:
    with torch.no_grad():
        _check(not torch.is_grad_enabled(), "is_grad_enabled() is True inside no_grad()")


@_mutant("is-grad-enabled-lies", "grad_modes",
         "torch.is_grad_enabled() always answers True",
         _probe_is_grad_enabled, "a claim that torch.is_grad_enabled() is False inside torch.no_grad()")
def _(p: _Patches) -> None:
    def make(original):
        def is_grad_enabled():
            return True
        return is_grad_enabled

    p.wrap(torch, "is_grad_enabled", make)


# ---- backward --------------------------------------------------------------------------------

def _as_tuple(tensors: Any) -> tuple:
    return (tensors,) if isinstance(tensors, torch.Tensor) else tuple(tensors)


def _graph_leaves(tensors: Any) -> List[torch.Tensor]:
    """The leaf tensors that ``backward`` from ``tensors`` would accumulate into."""
    leaves: List[torch.Tensor] = []
    seen: Dict[int, Any] = {}  # keeps the node wrappers alive so ids stay unique
    stack = []
    for t in _as_tuple(tensors):
        if not isinstance(t, torch.Tensor):
            continue
        if t.grad_fn is None:
            if t.requires_grad:
                leaves.append(t)
        else:
            stack.append(t.grad_fn)
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        variable = getattr(node, "variable", None)  # AccumulateGrad nodes hold their leaf
        if isinstance(variable, torch.Tensor):
            leaves.append(variable)
        stack.extend(nxt for nxt, _ in getattr(node, "next_functions", ()))
    return leaves


def _probe_accumulate() -> None:
    x = _leaf(2)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    _check(torch.equal(x.grad, torch.full((2,), 6.0)), "two backward() calls did not accumulate into .grad")


@_mutant("backward-overwrites-grad", "backward",
         "backward() overwrites each leaf's .grad instead of accumulating into it",
         _probe_accumulate, "a claim that gradients accumulate across backward() calls", fast=True)
def _(p: _Patches) -> None:
    def make(original):
        def backward(tensors, *args, **kwargs):
            for leaf in _graph_leaves(tensors):
                leaf.grad = None
            return original(tensors, *args, **kwargs)
        return backward

    p.wrap(torch.autograd, "backward", make)


def _probe_nonscalar() -> None:
    x = _leaf(3)
    _raises(RuntimeError, lambda: (x * 2).backward(), "backward() on a non-scalar did not raise")


@_mutant("backward-nonscalar-implicit-ones", "backward",
         "backward() on a non-scalar output without a gradient silently uses ones instead of raising",
         _probe_nonscalar, "a claim that y.backward() on a non-scalar y raises RuntimeError")
def _(p: _Patches) -> None:
    def make(original):
        def backward(tensors, grad_tensors=None, *args, **kwargs):
            if grad_tensors is None and kwargs.get("grad_variables") is None:
                outs = _as_tuple(tensors)
                if any(isinstance(t, torch.Tensor) and t.numel() != 1 for t in outs):
                    ones = [torch.ones_like(t) if isinstance(t, torch.Tensor) and t.numel() != 1 else None
                            for t in outs]
                    grad_tensors = ones[0] if isinstance(tensors, torch.Tensor) else ones
            return original(tensors, grad_tensors, *args, **kwargs)
        return backward

    p.wrap(torch.autograd, "backward", make)


def _probe_backward_without_grad() -> None:
    _raises(RuntimeError, lambda: torch.ones(2).sum().backward(),
            "backward() through a tensor that does not require grad did not raise")


@_mutant("backward-without-graph-silent", "backward",
         "backward() on a tensor that does not require grad returns quietly instead of raising "
         "'element 0 of tensors does not require grad'",
         _probe_backward_without_grad,
         "a claim that backward() on a result of tensors that do not require grad raises RuntimeError")
def _(p: _Patches) -> None:
    def make(original):
        def backward(tensors, *args, **kwargs):
            outs = [t for t in _as_tuple(tensors) if isinstance(t, torch.Tensor)]
            if outs and not any(t.requires_grad for t in outs):
                return None
            return original(tensors, *args, **kwargs)
        return backward

    p.wrap(torch.autograd, "backward", make)


def _probe_mean() -> None:
    x = _leaf(2, 2)
    y = x + 2
    z = y * y * 3
    z.mean().backward()
    _check(torch.allclose(x.grad, torch.full((2, 2), 4.5)), "d(mean(3(x+2)^2))/dx at 1 is not 4.5")
    x2 = _leaf(4)
    torch.mean(x2).backward()
    _check(torch.allclose(x2.grad, torch.full((4,), 0.25)), "torch.mean's gradient is not 1/n")


@_mutant("mean-grad-doubled", "backward",
         "the gradient of mean (Tensor.mean, torch.mean) is twice the right value; forward values are unchanged",
         _probe_mean, "a claim with a mean in the graph checking x.grad (the article's out = z.mean(); x.grad == 4.5), or a gradcheck through mean")
def _(p: _Patches) -> None:
    _results(p, _ops(".mean", "mean"), lambda r: _scale_grad(r, 2.0))


def _probe_mul_grad() -> None:
    x = _leaf(3)
    (x * 3).sum().backward()
    _check(torch.equal(x.grad, torch.full((3,), 3.0)), "d(sum(3x))/dx is not 3")


@_mutant("mul-grad-doubled", "backward",
         "the gradient through * (Tensor.__mul__/__rmul__/mul, torch.mul) is twice the right value",
         _probe_mul_grad, "a claim checking x.grad after backward through a product (e.g. (x * 3).sum())")
def _(p: _Patches) -> None:
    _results(p, _ops("__mul__", "__rmul__", ".mul", "mul"), lambda r: _scale_grad(r, 2.0))


def _probe_pow_grad() -> None:
    x = _leaf(2, value=3.0)
    (x ** 2).sum().backward()
    _check(torch.equal(x.grad, torch.full((2,), 6.0)), "d(x ** 2)/dx at 3 is not 6")


@_mutant("pow-grad-halved", "backward",
         "the gradient through ** (Tensor.__pow__/pow, torch.pow) is half the right value",
         _probe_pow_grad, "a claim checking x.grad after backward through x ** k, or a gradcheck of a power")
def _(p: _Patches) -> None:
    _results(p, _ops("__pow__", ".pow", "pow"), lambda r: _scale_grad(r, 0.5))


def _probe_backend() -> None:
    _check(not hasattr(torch.ones(1), "backend"), "tensors have a backend attribute")


@_mutant("backend-method-exists", "backward",
         "tensors gain a .backend() method (an alias of backward), the name one article uses by mistake",
         _probe_backend, "a claim that Tensor has no attribute backend (the method is backward)")
def _(p: _Patches) -> None:
    p.set(torch.Tensor, "backend", torch.Tensor.backward)


# ---- detach ----------------------------------------------------------------------------------

def _probe_detach_shares() -> None:
    x = _leaf(2)
    y = x.detach()
    _check(y.data_ptr() == x.data_ptr(), "x.detach() does not share memory with x")
    y[0] = 5.0
    _check(x[0].item() == 5.0, "writing into x.detach() did not change x")


@_mutant("detach-copies", "detach",
         "x.detach() returns a copy instead of a tensor sharing x's memory",
         _probe_detach_shares, "a claim that x.detach() shares storage with x (writing into it changes x)", fast=True)
def _(p: _Patches) -> None:
    def make(original):
        def detach(self):
            return _ORIG_CLONE(original(self))
        return detach

    p.wrap(torch.Tensor, "detach", make)


def _probe_detach_no_grad() -> None:
    y = _leaf(2).detach()
    _check(not y.requires_grad and y.grad_fn is None, "x.detach() requires grad")


@_mutant("detach-result-requires-grad", "detach",
         "x.detach() of a tensor that requires grad returns a (shared-memory) leaf that requires grad",
         _probe_detach_no_grad, "a claim that x.detach().requires_grad is False")
def _(p: _Patches) -> None:
    def make(original):
        def detach(self):
            result = original(self)
            if _REQUIRES_GRAD.__get__(self) and _floating(result):
                result.requires_grad_(True)
            return result
        return detach

    p.wrap(torch.Tensor, "detach", make)


def _probe_detach_cuts() -> None:
    x = _leaf(2)
    y = _leaf(2)
    (x.detach() * 3 + y).sum().backward()
    _check(x.grad is None, "gradient flowed through x.detach() back to x")
    _check(torch.equal(y.grad, torch.ones(2)), "y.grad is wrong")


@_mutant("detach-keeps-history", "detach",
         "x.detach() returns a view still attached to the graph: gradients flow back through it to x",
         _probe_detach_cuts, "a claim that backward() through x.detach() leaves x.grad None (the GAN example)")
def _(p: _Patches) -> None:
    def make(original):
        def detach(self):
            if _REQUIRES_GRAD.__get__(self):
                return self.view_as(self)
            return original(self)
        return detach

    p.wrap(torch.Tensor, "detach", make)


def _probe_data_shares() -> None:
    x = _leaf(2)
    d = x.data
    d[0] = 7.0
    _check(x[0].item() == 7.0, "writing into x.data did not change x")
    _check(not d.requires_grad, "x.data requires grad")


@_mutant("data-copies", "detach",
         "x.data returns a copy instead of a tensor sharing x's memory",
         _probe_data_shares, "a claim that x.data shares memory with x (changes through it are invisible to autograd)")
def _(p: _Patches) -> None:
    data = _tensor_property("data")

    def getter(self):
        return _ORIG_CLONE(data.__get__(self))

    p.set(torch.Tensor, "data", property(getter, data.__set__, doc=data.__doc__))


# ---- leaves ----------------------------------------------------------------------------------

def _probe_is_leaf() -> None:
    x = _leaf(2)
    _check(x.is_leaf and not (x * 2).is_leaf and torch.ones(2).is_leaf, "is_leaf is wrong")


@_mutant("is-leaf-inverted", "leaves",
         "Tensor.is_leaf answers the opposite (user-created tensors are not leaves, results are)",
         _probe_is_leaf, "a claim that a user-created tensor is a leaf and an op result of it is not", fast=True)
def _(p: _Patches) -> None:
    p.set(torch.Tensor, "is_leaf", property(lambda self: not _IS_LEAF.__get__(self), doc=_IS_LEAF.__doc__))


def _probe_grad_fn() -> None:
    x = _leaf(2)
    _check((x + 2).grad_fn is not None and x.grad_fn is None, "grad_fn is wrong")


@_mutant("grad-fn-always-none", "leaves",
         "Tensor.grad_fn is None for every tensor, results of operations included",
         _probe_grad_fn, "a claim that y = x + 2 has a grad_fn (AddBackward0) when x requires grad")
def _(p: _Patches) -> None:
    grad_fn = _tensor_property("grad_fn")
    p.set(torch.Tensor, "grad_fn", property(lambda self: None, doc=grad_fn.__doc__))


def _probe_retain_grad() -> None:
    x = _leaf(2)
    y = x * 2
    y.retain_grad()
    y.sum().backward()
    _check(y.grad is not None, "y.retain_grad() did not keep y.grad")


@_mutant("retain-grad-noop", "leaves",
         "y.retain_grad() does nothing: a non-leaf's .grad stays None after backward()",
         _probe_retain_grad, "a claim that a non-leaf gets .grad after y.retain_grad() and backward()")
def _(p: _Patches) -> None:
    def make(original):
        def retain_grad(self):
            return None
        return retain_grad

    p.wrap(torch.Tensor, "retain_grad", make)


def _probe_nonleaf_warning() -> None:
    y = _leaf(2) * 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y.grad
    _check(any("not a leaf Tensor" in str(w.message) for w in caught), "no warning reading a non-leaf's .grad")


@_mutant("nonleaf-grad-silent", "leaves",
         "reading .grad of a non-leaf tensor no longer warns (UserWarning '... is not a leaf Tensor ...')",
         _probe_nonleaf_warning, "a claim that reading a non-leaf's .grad warns (UserWarning, 'not a leaf Tensor')")
def _(p: _Patches) -> None:
    grad = _tensor_property("grad")

    def getter(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return grad.__get__(self)

    p.set(torch.Tensor, "grad", property(getter, grad.__set__, grad.__delete__, doc=grad.__doc__))


# ---- optimizers ------------------------------------------------------------------------------

def _frozen_net() -> Tuple[torch.nn.Module, torch.Tensor]:
    net = torch.nn.Linear(3, 2)
    net.weight.requires_grad = False
    return net, net.weight.detach().clone()


def _probe_frozen(make_optimizer: Callable) -> Callable[[], None]:
    def probe() -> None:
        net, before = _frozen_net()
        opt = make_optimizer(net.parameters())
        net(torch.ones(1, 3)).sum().backward()
        bias = net.bias.detach().clone()
        opt.step()
        _check(torch.equal(net.weight.detach(), before), "the optimizer moved a frozen parameter")
        _check(not torch.equal(net.bias.detach(), bias), "the optimizer did not move a trainable parameter")
    return probe


def _move_gradless(p: _Patches, cls: type) -> None:
    def make(original):
        def step(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            with torch.no_grad():
                for group in self.param_groups:
                    for param in group["params"]:
                        if param.grad is None:
                            param.sub_(float(group["lr"]))
            return result
        return step

    p.wrap(cls, "step", make)


@_mutant("sgd-moves-frozen-params", "optimizers",
         "SGD.step() also moves parameters whose .grad is None (frozen ones), as if their gradient were ones",
         _probe_frozen(lambda ps: torch.optim.SGD(ps, lr=0.1)),
         "a claim that SGD.step() leaves a parameter with requires_grad False (grad None) unchanged", fast=True)
def _(p: _Patches) -> None:
    _move_gradless(p, torch.optim.SGD)


@_mutant("adam-moves-frozen-params", "optimizers",
         "Adam.step() also moves parameters whose .grad is None (frozen ones), as if their gradient were ones",
         _probe_frozen(lambda ps: torch.optim.Adam(ps, lr=0.1)),
         "a claim that Adam.step() leaves a parameter with requires_grad False unchanged (the article's frozen conv1)")
def _(p: _Patches) -> None:
    _move_gradless(p, torch.optim.Adam)


def _probe_sgd_direction() -> None:
    w = torch.tensor([1.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.5)
    (w * 2).sum().backward()
    opt.step()
    _check(torch.equal(w.detach(), torch.tensor([0.0])), "SGD step is not w - lr * grad")


@_mutant("sgd-ascends", "optimizers",
         "SGD.step() moves parameters along +grad (p += lr * grad) instead of -grad",
         _probe_sgd_direction, "a claim that one SGD step equals p - lr * p.grad (the article's manual update)")
def _(p: _Patches) -> None:
    def make(original):
        def step(self, *args, **kwargs):
            grads = [q.grad for g in self.param_groups for q in g["params"] if q.grad is not None]
            for grad in grads:
                grad.neg_()
            try:
                return original(self, *args, **kwargs)
            finally:
                for grad in grads:
                    grad.neg_()
        return step

    p.wrap(torch.optim.SGD, "step", make)


def _probe_zero_grad_optimizer() -> None:
    w = _leaf(2)
    opt = torch.optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad()
    _check(w.grad is None or not bool(w.grad.any()), "optimizer.zero_grad() left the gradient")


@_mutant("optimizer-zero-grad-noop", "optimizers",
         "optimizer.zero_grad() leaves the gradients as they are",
         _probe_zero_grad_optimizer, "a claim that after optimizer.zero_grad() every parameter's grad is None or zero")
def _(p: _Patches) -> None:
    p.wrap(torch.optim.Optimizer, "zero_grad", lambda original: lambda self, *a, **k: None)


def _probe_zero_grad_module() -> None:
    net = torch.nn.Linear(2, 1)
    net(torch.ones(1, 2)).sum().backward()
    net.zero_grad()
    _check(all(q.grad is None or not bool(q.grad.any()) for q in net.parameters()), "module.zero_grad() left gradients")


@_mutant("module-zero-grad-noop", "optimizers",
         "model.zero_grad() leaves the parameters' gradients as they are",
         _probe_zero_grad_module, "a claim that after model.zero_grad() every parameter's grad is None or zero")
def _(p: _Patches) -> None:
    p.wrap(torch.nn.Module, "zero_grad", lambda original: lambda self, *a, **k: None)


def _probe_set_to_none() -> None:
    w = _leaf(2)
    opt = torch.optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=True)
    _check(w.grad is None, "zero_grad(set_to_none=True) did not set grad to None")
    net = torch.nn.Linear(2, 1)
    net(torch.ones(1, 2)).sum().backward()
    net.zero_grad(set_to_none=True)
    _check(net.weight.grad is None, "module.zero_grad(set_to_none=True) did not set grad to None")


@_mutant("zero-grad-ignores-set-to-none", "optimizers",
         "zero_grad() (optimizer and module) always fills gradients with zeros instead of setting them to "
         "None (the default since torch 2.0)",
         _probe_set_to_none, "a claim that p.grad is None after zero_grad() on torch >= 2.0")
def _(p: _Patches) -> None:
    def make(original):
        def zero_grad(self, set_to_none=True):
            return original(self, set_to_none=False)
        return zero_grad

    p.wrap(torch.optim.Optimizer, "zero_grad", make)
    p.wrap(torch.nn.Module, "zero_grad", make)


# ---- devices ---------------------------------------------------------------------------------

def _probe_to_same() -> None:
    x = torch.ones(2)
    _check(x.to("cpu") is x and x.to(torch.float32) is x and x.to(x.device) is x,
           "x.to(its own device/dtype) is not x")


@_mutant("to-same-device-copies", "devices",
         "x.to(device/dtype) returns a copy even when nothing changes (it should return x itself)",
         _probe_to_same, "a claim that x.to(x.device) is x (no copy when already there)", fast=True)
def _(p: _Patches) -> None:
    def make(original):
        def to(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            if result is self:
                return original(self, *args, **{**kwargs, "copy": True})
            return result
        return to

    p.wrap(torch.Tensor, "to", make)


def _probe_cpu_same() -> None:
    x = torch.ones(2)
    _check(x.cpu() is x, "x.cpu() of a CPU tensor is not x")


@_mutant("cpu-copies", "devices",
         "x.cpu() of a tensor already on the CPU returns a copy instead of x itself",
         _probe_cpu_same, "a claim that x.cpu() is x for a CPU tensor (shares memory)")
def _(p: _Patches) -> None:
    def make(original):
        def cpu(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            return _ORIG_CLONE(result) if result is self else result
        return cpu

    p.wrap(torch.Tensor, "cpu", make)


def _probe_to_keeps_graph() -> None:
    x = _leaf(2)
    y = x.to(torch.float64)
    _check(y.requires_grad, "x.to(float64) does not require grad")
    y.sum().backward()
    _check(torch.equal(x.grad, torch.ones(2)), "no gradient through x.to(...)")


@_mutant("to-new-tensor-detached", "devices",
         "x.to(...) that makes a new tensor (another device or dtype) drops it from the graph: no gradient flows back",
         _probe_to_keeps_graph,
         "a claim that loss computed on output.to(device) still back-propagates into the model (or x.to(dtype) requires grad)")
def _(p: _Patches) -> None:
    def make(original):
        def to(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            return result if result is self else _detached(result)
        return to

    p.wrap(torch.Tensor, "to", make)


# ---- numpy -----------------------------------------------------------------------------------

def _probe_numpy_shares() -> None:
    a = torch.ones(5)
    b = a.numpy()
    a.add_(a)
    _check(bool((b == 2).all()), "b = a.numpy() did not follow a.add_(a)")


@_mutant("numpy-copies", "numpy",
         "t.numpy() returns a copy: the array no longer follows in-place changes of the tensor",
         _probe_numpy_shares, "a claim that b = a.numpy() changes when a is changed in place", fast=True)
def _(p: _Patches) -> None:
    def make(original):
        def numpy(self, *args, **kwargs):
            return original(self, *args, **kwargs).copy()
        return numpy

    p.wrap(torch.Tensor, "numpy", make)


def _probe_from_numpy_shares() -> None:
    a = np.ones(5)
    b = torch.from_numpy(a)
    np.add(a, 1, out=a)
    _check(bool((b == 2).all()), "torch.from_numpy(a) did not follow changes of a")


@_mutant("from-numpy-copies", "numpy",
         "torch.from_numpy(a) copies: the tensor no longer follows changes of the array",
         _probe_from_numpy_shares, "a claim that torch.from_numpy(a) shares memory with a")
def _(p: _Patches) -> None:
    def make(original):
        def from_numpy(array):
            return _ORIG_CLONE(original(array))
        return from_numpy

    p.wrap(torch, "from_numpy", make)


def _probe_from_numpy_dtype() -> None:
    _check(torch.from_numpy(np.ones(5)).dtype == torch.float64, "torch.from_numpy(float64 array) is not float64")


@_mutant("from-numpy-float32", "numpy",
         "torch.from_numpy of a float64 array gives a float32 tensor (a converted copy) instead of keeping float64",
         _probe_from_numpy_dtype, "a claim that torch.from_numpy(np.ones(5)).dtype is torch.float64 (the article's output)")
def _(p: _Patches) -> None:
    def make(original):
        def from_numpy(array):
            result = original(array)
            return result.float() if result.dtype == torch.float64 else result
        return from_numpy

    p.wrap(torch, "from_numpy", make)


def _probe_numpy_grad() -> None:
    _raises(RuntimeError, lambda: _leaf(2).numpy(), "numpy() of a tensor that requires grad did not raise")


@_mutant("numpy-ignores-requires-grad", "numpy",
         "t.numpy() of a tensor that requires grad succeeds instead of raising (use t.detach().numpy())",
         _probe_numpy_grad, "a claim that .numpy() on a tensor requiring grad raises RuntimeError")
def _(p: _Patches) -> None:
    def make(original):
        def numpy(self, *args, **kwargs):
            return original(_ORIG_DETACH(self), *args, **kwargs)
        return numpy

    p.wrap(torch.Tensor, "numpy", make)


# ---- views_inplace ---------------------------------------------------------------------------

def _probe_view_shares() -> None:
    x = torch.zeros(4, 4)
    y = x.view(16)
    y[0] = 1.0
    _check(x[0, 0].item() == 1.0 and y.data_ptr() == x.data_ptr(), "x.view(16) does not share memory with x")


@_mutant("view-copies", "views_inplace",
         "x.view(shape) returns a reshaped copy instead of a view sharing x's memory",
         _probe_view_shares, "a claim that x.view(...) shares storage with x (writing through the view changes x)", fast=True)
def _(p: _Patches) -> None:
    def make(original):
        def view(self, *args, **kwargs):
            return _ORIG_CLONE(original(self, *args, **kwargs))
        return view

    p.wrap(torch.Tensor, "view", make)


def _probe_add_inplace() -> None:
    y = torch.zeros(2)
    out = y.add_(torch.ones(2))
    _check(out is y and torch.equal(y, torch.ones(2)), "y.add_(x) did not modify y in place")


@_mutant("add-inplace-not-inplace", "views_inplace",
         "y.add_(x) returns a new tensor and leaves y unchanged",
         _probe_add_inplace, "a claim that y.add_(x) changes y (and returns y itself)")
def _(p: _Patches) -> None:
    add = torch.Tensor.add

    def make(original):
        def add_(self, *args, **kwargs):
            return add(self, *args, **kwargs)
        return add_

    p.wrap(torch.Tensor, "add_", make)


def _probe_copy_inplace() -> None:
    x = torch.zeros(3)
    x.copy_(torch.ones(3))
    _check(torch.equal(x, torch.ones(3)), "x.copy_(y) did not change x")


@_mutant("copy-inplace-not-inplace", "views_inplace",
         "x.copy_(y) returns a new tensor holding y's values and leaves x unchanged",
         _probe_copy_inplace, "a claim that x.copy_(y) changes x")
def _(p: _Patches) -> None:
    def make(original):
        def copy_(self, src, *args, **kwargs):
            return original(_ORIG_CLONE(self), src, *args, **kwargs)
        return copy_

    p.wrap(torch.Tensor, "copy_", make)


def _probe_leaf_inplace() -> None:
    x = _leaf(2)
    _raises(RuntimeError, lambda: x.add_(1), "an in-place add_ on a leaf that requires grad did not raise")
    _raises(RuntimeError, lambda: x.__setitem__(0, 5.0), "x[0] = 5.0 on a leaf that requires grad did not raise")


_INPLACE = ("add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_", "__iadd__", "__isub__", "__imul__",
            "__itruediv__", "__setitem__")


@_mutant("inplace-on-leaf-allowed", "views_inplace",
         "in-place ops (add_, sub_, mul_, copy_, x[i] = v, +=, ...) on a leaf that requires grad run silently "
         "instead of raising 'a leaf Variable that requires grad is being used in an in-place operation'",
         _probe_leaf_inplace, "a claim that an in-place op on a leaf requiring grad (outside no_grad) raises RuntimeError")
def _(p: _Patches) -> None:
    def make(original):
        def inplace(self, *args, **kwargs):
            if (isinstance(self, torch.Tensor) and _IS_LEAF.__get__(self) and _REQUIRES_GRAD.__get__(self)
                    and torch.is_grad_enabled()):
                with torch.no_grad():
                    return original(self, *args, **kwargs)
            return original(self, *args, **kwargs)
        return inplace

    for name in _INPLACE:
        p.wrap(torch.Tensor, name, make)


def _probe_view_infer() -> None:
    _check(torch.zeros(4, 4).view(-1, 8).shape == (2, 8), "view(-1, 8) of a 4x4 tensor is not 2x8")


@_mutant("view-infers-wrong-dim", "views_inplace",
         "x.view(-1, n) infers the -1 dimension wrongly (puts every element in one row and drops the rest)",
         _probe_view_infer, "a claim that x.view(-1, 8) of a 4x4 tensor has size [2, 8]")
def _(p: _Patches) -> None:
    def make(original):
        def view(self, *args, **kwargs):
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size)) else args
            if -1 in tuple(shape) and len(shape) > 1 and all(isinstance(s, int) for s in shape):
                fixed = tuple(1 if s == -1 else s for s in shape)
                n = 1
                for s in fixed:
                    n *= s
                return original(self.reshape(-1)[:n], *fixed)
            return original(self, *args, **kwargs)
        return view

    p.wrap(torch.Tensor, "view", make)


# ---- item ------------------------------------------------------------------------------------

def _probe_item_value() -> None:
    _check(torch.tensor(2.75).item() == 2.75 and torch.tensor([-1.25]).item() == -1.25, "item() changed the value")


@_mutant("item-rounds", "item",
         "t.item() of a float tensor returns the value rounded to the nearest integer",
         _probe_item_value, "a claim that x.item() equals the element's value exactly (e.g. for a float that is not whole)",
         fast=True)
def _(p: _Patches) -> None:
    def make(original):
        def item(self):
            value = original(self)
            return float(round(value)) if isinstance(value, float) else value
        return item

    p.wrap(torch.Tensor, "item", make)


def _probe_item_type() -> None:
    _check(type(torch.tensor([3.5]).item()) is float and type(torch.tensor(4).item()) is int,
           "item() did not return a Python number")


@_mutant("item-returns-tensor", "item",
         "t.item() returns a 0-dim tensor instead of a Python number",
         _probe_item_type, "a claim that x.item() is a Python float/int (isinstance(x.item(), float))")
def _(p: _Patches) -> None:
    def make(original):
        def item(self):
            original(self)  # keeps the error for tensors with more than one element
            return _ORIG_CLONE(_ORIG_DETACH(self)).reshape(())
        return item

    p.wrap(torch.Tensor, "item", make)


def _probe_item_many() -> None:
    # RuntimeError since torch 2.0; ValueError on 1.13
    _raises((RuntimeError, ValueError), lambda: torch.ones(2).item(), "item() of a 2-element tensor did not raise")


@_mutant("item-multi-element-first", "item",
         "t.item() of a tensor with several elements returns the first one instead of raising",
         _probe_item_many, "a claim that item() on a tensor with more than one element raises (RuntimeError; ValueError on torch 1.13)")
def _(p: _Patches) -> None:
    def make(original):
        def item(self):
            return original(self.reshape(-1)[0] if self.numel() > 1 else self)
        return item

    p.wrap(torch.Tensor, "item", make)


# ---- deprecated ------------------------------------------------------------------------------

def _variable_module() -> Any:
    import torch.autograd.variable as variable

    return variable


def _replace_variable(p: _Patches, new: Callable[..., Any]) -> None:
    original = torch.autograd.Variable

    class Variable(original):  # same metaclass: isinstance(t, Variable) keeps meaning "is a tensor"
        def __new__(cls, *args, **kwargs):
            return new(original, *args, **kwargs)

    Variable.__module__ = original.__module__
    Variable.__qualname__ = original.__qualname__
    p.set(torch.autograd, "Variable", Variable)
    p.set(_variable_module(), "Variable", Variable)


def _probe_variable_requires_grad() -> None:
    v = torch.autograd.Variable(torch.ones(2), requires_grad=True)
    _check(isinstance(v, torch.Tensor) and v.requires_grad and v.is_leaf,
           "Variable(t, requires_grad=True) is not a leaf tensor that requires grad")


@_mutant("variable-ignores-requires-grad", "deprecated",
         "torch.autograd.Variable(t, requires_grad=True) returns a tensor that does not require grad",
         _probe_variable_requires_grad,
         "a claim that Variable(t, requires_grad=True) is a plain Tensor that requires grad (Variable and Tensor merged)")
def _(p: _Patches) -> None:
    def new(original, data=None, requires_grad=False, volatile=False):
        return original(data, volatile=volatile) if volatile else original(data)

    _replace_variable(p, new)


def _probe_volatile() -> None:
    v = _warns("volatile", lambda: torch.autograd.Variable(torch.ones(2), volatile=True))
    _check(isinstance(v, torch.Tensor) and not v.requires_grad, "Variable(t, volatile=True) is not a plain tensor")


@_mutant("volatile-silent", "deprecated",
         "Variable(t, volatile=True) no longer warns that volatile was removed and has no effect "
         "(use torch.no_grad())",
         _probe_volatile, "a claim that volatile=True warns 'volatile was removed and now has no effect'", fast=True)
def _(p: _Patches) -> None:
    def new(original, data=None, requires_grad=False, volatile=False):
        return original(data, requires_grad=requires_grad)

    _replace_variable(p, new)


def _probe_size_average() -> None:
    _warns("size_average", lambda: torch.nn.MSELoss(size_average=False))


@_mutant("size-average-silent", "deprecated",
         "the deprecated size_average/reduce loss arguments no longer warn (use reduction='sum'/'mean')",
         _probe_size_average, "a claim that MSELoss(size_average=False) warns that size_average is deprecated")
def _(p: _Patches) -> None:
    from torch.nn import _reduction

    def make(original):
        def legacy_get_string(size_average, reduce, emit_warning=True):
            return original(size_average, reduce, emit_warning=False)
        return legacy_get_string

    p.wrap(_reduction, "legacy_get_string", make)


# ---- tensor_basics ---------------------------------------------------------------------------

def _probe_tensor_dtype() -> None:
    _check(torch.tensor([5.5, 3]).dtype == torch.float32, "torch.tensor([5.5, 3]) is not float32")


@_mutant("tensor-default-float64", "tensor_basics",
         "torch.tensor of Python floats gives float64 instead of the default float32",
         _probe_tensor_dtype, "a claim that torch.tensor([5.5, 3]).dtype is torch.float32", fast=True)
def _(p: _Patches) -> None:
    def make(original):
        def tensor(data, *args, **kwargs):
            result = original(data, *args, **kwargs)
            if ("dtype" not in kwargs and not args and not isinstance(data, (torch.Tensor, np.ndarray))
                    and result.dtype == torch.get_default_dtype()):
                return original(data, dtype=torch.float64, **kwargs)
            return result
        return tensor

    p.wrap(torch, "tensor", make)


def _probe_ones_dtype() -> None:
    _check(torch.ones(2).dtype == torch.float32 and torch.zeros(2).dtype == torch.float32,
           "torch.ones/zeros are not float32 by default")


@_mutant("ones-default-float64", "tensor_basics",
         "torch.ones/torch.zeros without dtype give float64 instead of float32",
         _probe_ones_dtype, "a claim that torch.ones(5).dtype is torch.float32 (the article's a = torch.ones(5); a.numpy() is float32)")
def _(p: _Patches) -> None:
    def make(original):
        def factory(*args, **kwargs):
            if kwargs.get("dtype") is None and kwargs.get("out") is None:
                kwargs["dtype"] = torch.float64
            return original(*args, **kwargs)
        return factory

    p.wrap(torch, "ones", make)
    p.wrap(torch, "zeros", make)


def _probe_new_ones_dtype() -> None:
    _check(torch.zeros(2).new_ones(5, 3, dtype=torch.double).dtype == torch.float64,
           "x.new_ones(..., dtype=torch.double) is not float64")


@_mutant("new-ones-ignores-dtype", "tensor_basics",
         "x.new_ones(..., dtype=...) ignores dtype and uses x's dtype",
         _probe_new_ones_dtype, "a claim that x.new_ones(5, 3, dtype=torch.double).dtype is torch.float64")
def _(p: _Patches) -> None:
    def make(original):
        def new_ones(self, *args, **kwargs):
            kwargs.pop("dtype", None)
            return original(self, *args, **kwargs)
        return new_ones

    p.wrap(torch.Tensor, "new_ones", make)


def _probe_new_ones_inherits() -> None:
    x = torch.zeros(2, dtype=torch.float64)
    _check(x.new_ones(5, 3).dtype == torch.float64, "x.new_ones(5, 3) does not take x's dtype")


@_mutant("new-ones-default-dtype", "tensor_basics",
         "x.new_ones(shape) without dtype uses the default dtype instead of x's dtype",
         _probe_new_ones_inherits, "a claim that x.new_ones(5, 3) has x's dtype (float64 after new_ones(..., dtype=torch.double))")
def _(p: _Patches) -> None:
    def make(original):
        def new_ones(self, *args, **kwargs):
            if kwargs.get("dtype") is None:
                kwargs["dtype"] = torch.get_default_dtype()
            return original(self, *args, **kwargs)
        return new_ones

    p.wrap(torch.Tensor, "new_ones", make)


def _probe_size_type() -> None:
    size = torch.ones(5, 3).size()
    _check(isinstance(size, torch.Size) and size == torch.Size([5, 3]), "x.size() is not a torch.Size")


@_mutant("size-returns-list", "tensor_basics",
         "x.size() returns a plain list instead of a torch.Size",
         _probe_size_type, "a claim that x.size() is a torch.Size equal to x.shape")
def _(p: _Patches) -> None:
    def make(original):
        def size(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            return list(result) if isinstance(result, torch.Size) else result
        return size

    p.wrap(torch.Tensor, "size", make)


def _probe_randn_like() -> None:
    x = torch.zeros(2, 2, dtype=torch.float64)
    _check(torch.randn_like(x, dtype=torch.float).dtype == torch.float32, "randn_like(x, dtype=torch.float) ignored dtype")


@_mutant("randn-like-ignores-dtype", "tensor_basics",
         "torch.randn_like(x, dtype=...) ignores dtype and keeps x's",
         _probe_randn_like, "a claim that torch.randn_like(x, dtype=torch.float).dtype is torch.float32")
def _(p: _Patches) -> None:
    def make(original):
        def randn_like(x, *args, **kwargs):
            kwargs.pop("dtype", None)
            return original(x, *args, **kwargs)
        return randn_like

    p.wrap(torch, "randn_like", make)


# --- public API -------------------------------------------------------------------------------

_ACTIVE: Dict[str, Undo] = {}


def get(name: str) -> Mutant:
    try:
        return MUTANTS[name]
    except KeyError:
        raise KeyError(f"unknown mutant {name!r}; known: {', '.join(MUTANTS)}") from None


def apply(name: str) -> Undo:
    """Break torch in this process as mutant ``name`` says; returns the callable that undoes it."""
    mutant = get(name)
    undo_patches = mutant.patch()

    def undo() -> None:
        if _ACTIVE.get(name) is undo:
            del _ACTIVE[name]
        undo_patches()

    _ACTIVE[name] = undo
    return undo


@contextlib.contextmanager
def applied(name: str) -> Iterator[Mutant]:
    undo = apply(name)
    try:
        yield MUTANTS[name]
    finally:
        undo()


def active() -> List[str]:
    """Names of the mutants applied in this process (normally at most one)."""
    return list(_ACTIVE)


def fast_names() -> List[str]:
    return [m.name for m in MUTANTS.values() if m.fast]


__all__ = ["Mutant", "MUTANTS", "TOPICS", "apply", "applied", "active", "get", "fast_names"]
