"""Mutants of the autograd basics: requires_grad, grad modes, backward, detach, leaves.

See Note [Mutants] in ``conformance/mutants/__init__.py``.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import torch

from .base import *  # noqa: F401,F403 - the building blocks
from .base import (_IS_LEAF, _MISSING, _ORIG_CLONE, _ORIG_DETACH, _ORIG_MUL, _Patches, _REQUIRES_GRAD, _ScaleGrad, _check, _detached, _floating, _leaf, _mutant, _ops, _quiet, _raises, _results, _scale_grad, _tensor_property, _warns)

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


