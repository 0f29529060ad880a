"""Mutants of values and APIs: item(), the deprecated Variable/volatile/size_average, and tensor basics
(default dtypes, new_ones, size, randn_like).

See Note [Mutants] in ``conformance/mutants/__init__.py``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from .base import _ORIG_CLONE, _ORIG_DETACH, _Patches, _check, _mutant, _raises, _warns

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
