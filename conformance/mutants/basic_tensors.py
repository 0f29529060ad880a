"""Mutants of optimizers, devices, the NumPy bridge, views and in-place ops, item, deprecated APIs and tensor basics.

See Note [Mutants] in ``conformance/mutants/__init__.py``.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import torch

from .base import *  # noqa: F401,F403 - the building blocks
from .base import (_IS_LEAF, _MISSING, _ORIG_CLONE, _ORIG_DETACH, _ORIG_MUL, _Patches, _REQUIRES_GRAD, _ScaleGrad, _check, _detached, _floating, _leaf, _mutant, _ops, _quiet, _raises, _results, _scale_grad, _tensor_property, _warns)

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


