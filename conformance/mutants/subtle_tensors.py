"""Subtle mutants of aliasing and values: faults that show only for some layouts (non-contiguous,
offset) or value ranges (int64 beyond 2**53). The optimizer ones are in ``subtle_optimizers``.

See Note [Mutants] in ``conformance/mutants/__init__.py``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .base import _check, _mutant, _ORIG_CLONE, _Patches

_ORIG_CONTIGUOUS = torch.Tensor.contiguous


def _plain(t: Any) -> bool:
    """Contiguous and starting at the beginning of its storage: the layout a naive backend assumes."""
    return isinstance(t, torch.Tensor) and t.is_contiguous() and t.storage_offset() == 0


def _copy_unless_plain(p: _Patches, owner: Any, name: str) -> None:
    """``owner.name`` returns a fresh copy (distinct memory) when its tensor is not plain."""
    def make(original):
        def wrapper(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            if isinstance(self, torch.Tensor) and not _plain(self) and isinstance(result, torch.Tensor):
                return _ORIG_CLONE(result, memory_format=torch.contiguous_format)
            if isinstance(self, torch.Tensor) and not _plain(self) and isinstance(result, np.ndarray):
                return result.copy()
            return result
        return wrapper

    p.wrap(owner, name, make)


def _strided(n: int = 4) -> torch.Tensor:
    return torch.arange(2.0 * n)[::2]


def _offset(n: int = 4) -> torch.Tensor:
    return torch.arange(n + 2.0)[2:]


def _shares(a: Any, b: Any) -> bool:
    pa = a.data_ptr() if isinstance(a, torch.Tensor) else a.__array_interface__["data"][0]
    pb = b.data_ptr() if isinstance(b, torch.Tensor) else b.__array_interface__["data"][0]
    return pa == pb


# ---- detach / views / numpy on non-contiguous and offset tensors -------------------------------

def _probe_detach_layouts() -> None:
    for x in (_strided(), _offset(), torch.ones(2, 3).t()):
        y = x.detach()
        _check(_shares(x, y) and y.stride() == x.stride(), "detach() of a non-contiguous/offset tensor is a copy")


@_mutant("detach-copies-noncontiguous", "detach",
         "x.detach() returns a copy (new memory) when x is not contiguous or has a storage offset",
         _probe_detach_layouts, "a detach-shares-storage claim that draws transposed, sliced and offset layouts")
def _(p: _Patches) -> None:
    _copy_unless_plain(p, torch.Tensor, "detach")


def _probe_numpy_layouts() -> None:
    for x in (_strided(), _offset(), torch.ones(2, 3).t()):
        a = x.numpy()
        _check(a.__array_interface__["data"][0] == x.data_ptr(), "numpy() of a non-contiguous/offset tensor is a copy")


@_mutant("numpy-copies-noncontiguous", "numpy",
         "t.numpy() returns a copy when t is not contiguous or has a storage offset (plain tensors still share)",
         _probe_numpy_layouts, "a numpy-shares-memory claim that draws transposed, sliced and offset layouts")
def _(p: _Patches) -> None:
    _copy_unless_plain(p, torch.Tensor, "numpy")


def _probe_numpy_offset_values() -> None:
    x = _offset()
    _check(x.numpy().tolist() == x.tolist(), "numpy() of a tensor with a storage offset has the wrong values")


@_mutant("numpy-ignores-storage-offset", "numpy",
         "t.numpy() of a tensor with a storage offset reads from the start of the storage (wrong values)",
         _probe_numpy_offset_values, "a claim that t.numpy() has t's values, drawn with the offset layout")
def _(p: _Patches) -> None:
    def make(original):
        def numpy(self, *args, **kwargs):
            if isinstance(self, torch.Tensor) and self.storage_offset() != 0 and self.numel() > 0:
                moved = self.as_strided(self.size(), self.stride(), 0)
                return original(moved, *args, **kwargs)
            return original(self, *args, **kwargs)
        return numpy

    p.wrap(torch.Tensor, "numpy", make)


def _probe_from_numpy_strided() -> None:
    a = np.arange(8.0)[::2]
    _check(torch.from_numpy(a).data_ptr() == a.__array_interface__["data"][0],
           "torch.from_numpy of a strided array is a copy")


@_mutant("from-numpy-copies-noncontiguous", "numpy",
         "torch.from_numpy(a) copies a when a is not C-contiguous (contiguous arrays still share)",
         _probe_from_numpy_strided, "a from_numpy-shares-memory claim on a strided array (e.g. t.numpy() of a sliced t)")
def _(p: _Patches) -> None:
    def make(original):
        def from_numpy(array):
            if isinstance(array, np.ndarray) and not array.flags["C_CONTIGUOUS"]:
                return original(np.ascontiguousarray(array).copy())
            return original(array)
        return from_numpy

    p.wrap(torch, "from_numpy", make)


def _probe_view_offset() -> None:
    x = _offset(4)
    v = x.view(2, 2)
    _check(v.data_ptr() == x.data_ptr() and v.flatten().tolist() == x.tolist(), "view of an offset tensor is a copy")


@_mutant("view-copies-storage-offset", "views_inplace",
         "x.view(...) of a tensor with a storage offset returns a copy instead of a view",
         _probe_view_offset, "a view-shares-storage claim that draws the offset layout")
def _(p: _Patches) -> None:
    def make(original):
        def view(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            if self.storage_offset() != 0 and not (args and isinstance(args[0], torch.dtype)):
                return _ORIG_CLONE(result)
            return result
        return view

    p.wrap(torch.Tensor, "view", make)


def _probe_transpose_view() -> None:
    x = torch.ones(2, 3)
    _check(x.t().data_ptr() == x.data_ptr() and x.transpose(0, 1).data_ptr() == x.data_ptr(),
           "x.t() / x.transpose(0, 1) is a copy")


@_mutant("transpose-copies", "views_inplace",
         "x.t() and x.transpose(i, j) return contiguous copies instead of views",
         _probe_transpose_view, "a claim that x.t() shares storage with x (and is not contiguous)")
def _(p: _Patches) -> None:
    for name in ("t", "transpose"):
        def make(original):
            def wrapper(self, *args, **kwargs):
                return _ORIG_CONTIGUOUS(original(self, *args, **kwargs)).clone()
            return wrapper
        p.wrap(torch.Tensor, name, make)


def _probe_reshape_view() -> None:
    x = torch.ones(2, 3)
    _check(x.reshape(3, 2).data_ptr() == x.data_ptr() and x.reshape(-1).data_ptr() == x.data_ptr(),
           "reshape of a contiguous tensor is a copy")


@_mutant("reshape-always-copies", "views_inplace",
         "x.reshape(...) always returns a copy, even when x is contiguous and a view is possible",
         _probe_reshape_view, "a claim that reshape of a contiguous tensor shares its storage")
def _(p: _Patches) -> None:
    def make(original):
        def reshape(self, *args, **kwargs):
            return _ORIG_CLONE(original(self, *args, **kwargs), memory_format=torch.contiguous_format)
        return reshape

    p.wrap(torch.Tensor, "reshape", make)


def _probe_contiguous_self() -> None:
    x = torch.ones(2, 3)
    _check(x.contiguous() is x, "contiguous() of a contiguous tensor is not the tensor itself")
    t = x.t()
    c = t.contiguous()
    _check(c.is_contiguous() and c.data_ptr() != t.data_ptr(), "contiguous() of a transposed tensor is not a copy")


@_mutant("contiguous-copies-contiguous", "views_inplace",
         "x.contiguous() returns a copy even when x is already contiguous (it should return x itself)",
         _probe_contiguous_self, "a claim that x.contiguous() is x for a contiguous x, a new tensor otherwise")
def _(p: _Patches) -> None:
    def make(original):
        def contiguous(self, *args, **kwargs):
            return _ORIG_CLONE(original(self, *args, **kwargs))
        return contiguous

    p.wrap(torch.Tensor, "contiguous", make)


def _probe_clone_distinct() -> None:
    for x in (_strided(), torch.ones(2, 3).t()):
        _check(x.clone().data_ptr() != x.data_ptr(), "clone() of a non-contiguous tensor shares memory")


@_mutant("clone-aliases-noncontiguous", "detach",
         "x.clone() of a non-contiguous tensor returns an alias (shared memory) instead of a copy",
         _probe_clone_distinct, "a claim that x.clone() has distinct storage, drawn with non-contiguous layouts")
def _(p: _Patches) -> None:
    def make(original):
        def clone(self, *args, **kwargs):
            if not self.is_contiguous():
                return self.view_as(self)
            return original(self, *args, **kwargs)
        return clone

    p.wrap(torch.Tensor, "clone", make)


# ---- values over a dtype's whole range --------------------------------------------------------

_BIG = 2 ** 53 + 1


def _probe_item_int64() -> None:
    _check(torch.tensor([_BIG]).item() == _BIG and torch.tensor(-_BIG).item() == -_BIG,
           "item() of an int64 beyond 2**53 lost precision")


@_mutant("item-int64-through-float", "item",
         "t.item() of an int64 tensor goes through float64: values beyond 2**53 come back rounded",
         _probe_item_int64, "an item claim that draws int64 values over the dtype's full range")
def _(p: _Patches) -> None:
    def make(original):
        def item(self):
            value = original(self)
            return int(float(value)) if isinstance(value, int) and not isinstance(value, bool) else value
        return item

    p.wrap(torch.Tensor, "item", make)


def _probe_numpy_int64() -> None:
    x = torch.tensor([_BIG, -_BIG, 2 ** 62])
    _check(x.numpy().tolist() == x.tolist() == [_BIG, -_BIG, 2 ** 62], "numpy() of int64 values beyond 2**53 changed them")
    a = np.array([_BIG], dtype=np.int64)
    _check(torch.from_numpy(a).tolist() == [_BIG], "from_numpy of int64 values beyond 2**53 changed them")


@_mutant("numpy-int64-through-float", "numpy",
         "t.numpy() and torch.from_numpy(a) of int64 data round the values through float64 (beyond 2**53 they change)",
         _probe_numpy_int64, "a numpy round-trip claim that draws int64 values over the dtype's full range")
def _(p: _Patches) -> None:
    def make_numpy(original):
        def numpy(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            if result.dtype == np.int64:
                result[...] = result.astype(np.float64).astype(np.int64)
            return result
        return numpy

    def make_from(original):
        def from_numpy(array):
            result = original(array)
            if result.dtype == torch.int64:
                result.copy_(result.double().long())
            return result
        return from_numpy

    p.wrap(torch.Tensor, "numpy", make_numpy)
    p.wrap(torch, "from_numpy", make_from)


# ---- in-place ops and construction on some layouts and values ---------------------------------

def _probe_add_inplace_strided() -> None:
    y = torch.zeros(8)[::2]
    out = y.add_(torch.ones(4))
    _check(out is y and torch.equal(y, torch.ones(4)), "y.add_(x) on a non-contiguous y did not change y in place")


@_mutant("add-inplace-noncontiguous-lost", "views_inplace",
         "y.add_(x) on a non-contiguous y (a slice with a step, a transpose) returns a new tensor and leaves y "
         "unchanged (contiguous y are changed in place)",
         _probe_add_inplace_strided, "a claim that y.add_(x) changes y in place, drawn over layouts")
def _(p: _Patches) -> None:
    add = torch.Tensor.add

    def make(original):
        def add_(self, *args, **kwargs):
            if isinstance(self, torch.Tensor) and not self.is_contiguous():
                return add(self, *args, **kwargs)
            return original(self, *args, **kwargs)
        return add_

    p.wrap(torch.Tensor, "add_", make)


def _probe_tensor_int64_exact() -> None:
    big = 2 ** 53 + 1
    _check(torch.tensor([big, -big]).tolist() == [big, -big] and torch.tensor(big).tolist() == big,
           "torch.tensor of Python ints beyond 2**53 changed their values")


# Pending: survives the shipped suite (docs/mutation.md, "Pending mutants").
@_mutant("tensor-int64-through-float", "tensor_basics",
         "torch.tensor(data) of Python ints goes through float64: int64 values beyond 2**53 come back rounded",
         _probe_tensor_int64_exact,
         "a claim that torch.tensor(list of ints) keeps int64 values over the dtype's full range")
def _(p: _Patches) -> None:
    def make(original):
        def tensor(data, *args, **kwargs):
            result = original(data, *args, **kwargs)
            if result.dtype == torch.int64 and not isinstance(data, (torch.Tensor, np.ndarray)):
                with torch.no_grad():
                    result.copy_(result.double().long())
            return result
        return tensor

    p.wrap(torch, "tensor", make)
