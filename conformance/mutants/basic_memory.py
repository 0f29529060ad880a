"""Mutants of shared memory: the NumPy bridge, views and in-place ops.

See Note [Mutants] in ``conformance/mutants/__init__.py``.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import _IS_LEAF, _ORIG_CLONE, _ORIG_DETACH, _Patches, _REQUIRES_GRAD, _check, _leaf, _mutant, _raises

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
