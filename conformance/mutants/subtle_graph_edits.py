"""Subtle mutants of the recorded graph: retained non-leaf gradients over several backward calls,
in-place ops through views of leaves, on non-leaves and through views of non-leaves, and the
alias detach() returns (its shared version counter, its cut from the graph) for some layouts and dtypes.

See Note [Mutants] in ``conformance/mutants/__init__.py``. Each of these leaves the common case
(a contiguous float32 tensor of rank 1 to 3, one backward call, a with-block left normally)
intact, as a plausible fork, backend or release bug would: the suite kills them only where its
draws and claims are as wide as the articles' statements.
"""
from __future__ import annotations

import torch

from .base import _HALF, _IS_LEAF, _check, _leaf, _mutant, _Patches, _raises


def _leaf_flag(t: torch.Tensor) -> bool:
    return bool(_IS_LEAF.__get__(t))


# ---- leaves: retain_grad over several backward calls -----------------------------------------

def _probe_retain_grad_accumulates() -> None:
    x = _leaf(2)
    r = x * 2
    r.retain_grad()
    s = (r * 3).sum()
    s.backward(retain_graph=True)
    s.backward()
    _check(torch.equal(r.grad, torch.full((2,), 6.0)), "a retained non-leaf grad did not accumulate over two backwards")


@_mutant("retain-grad-overwrites", "leaves",
         "a non-leaf's retained .grad (retain_grad()) is overwritten by each backward instead of accumulated",
         _probe_retain_grad_accumulates, "a claim with retain_grad() and several backward calls")
def _(p: _Patches) -> None:
    def make(original):
        def retain_grad(self):
            result = original(self)
            if not _leaf_flag(self):
                def reset(grad, tensor=self):
                    tensor.grad = None
                    return grad
                self.register_hook(reset)
            return result
        return retain_grad

    p.wrap(torch.Tensor, "retain_grad", make)


# ---- views and in-place ops on the autograd graph --------------------------------------------

_INPLACE = ("add_", "mul_", "sub_", "div_", "zero_", "fill_", "copy_", "pow_", "__iadd__", "__imul__", "__isub__")


def _probe_view_of_leaf_refused() -> None:
    x = _leaf(4)
    _raises(RuntimeError, lambda: x[1:].add_(1), "an in-place op on a view of a leaf that requires grad did not raise")
    _raises(RuntimeError, lambda: x.view(2, 2).mul_(2), "an in-place op on a view of a leaf that requires grad did not raise")


@_mutant("inplace-on-view-of-leaf-allowed", "views_inplace",
         "an in-place op on a view of a leaf that requires grad runs silently (untracked) instead of raising",
         _probe_view_of_leaf_refused, "a claim that x[1:].add_(1) / x.view(...).mul_(2) raises for a leaf x that requires grad")
def _(p: _Patches) -> None:
    def make(original):
        def inplace(self, *args, **kwargs):
            base = getattr(self, "_base", None)
            if (base is not None and _leaf_flag(base) and base.requires_grad and torch.is_grad_enabled()):
                with torch.no_grad():
                    return original(self, *args, **kwargs)
            return original(self, *args, **kwargs)
        return inplace

    for name in _INPLACE:
        p.wrap(torch.Tensor, name, make)


def _probe_inplace_nonleaf_recorded() -> None:
    x = _leaf(3)
    y = x * 1
    y.mul_(3)
    y.add_(1)
    y.sum().backward()
    _check(torch.equal(x.grad, torch.full((3,), 3.0)), "an in-place mul_ on a non-leaf was not recorded in the graph")


@_mutant("inplace-nonleaf-not-recorded", "views_inplace",
         "an in-place op on a non-leaf that requires grad changes the values but is not recorded: "
         "gradients ignore it",
         _probe_inplace_nonleaf_recorded, "a claim that y.mul_(k) on a non-leaf y scales the gradient by k")
def _(p: _Patches) -> None:
    def make(original):
        def inplace(self, *args, **kwargs):
            if (not _leaf_flag(self)) and self.requires_grad and torch.is_grad_enabled():
                with torch.no_grad():
                    return original(self, *args, **kwargs)
            return original(self, *args, **kwargs)
        return inplace

    for name in _INPLACE:
        p.wrap(torch.Tensor, name, make)


def _probe_inplace_view_of_nonleaf() -> None:
    x = _leaf(4)
    y = x * 1
    y[:2].mul_(3)
    y.sum().backward()
    _check(torch.equal(x.grad, torch.tensor([3.0, 3.0, 1.0, 1.0])),
           "an in-place mul_ on a view of a non-leaf was not recorded in the base's graph")


# Pending: survives the shipped suite (docs/mutation.md, "Pending mutants").
@_mutant("inplace-on-view-of-nonleaf-not-recorded", "views_inplace",
         "an in-place op on a view of a non-leaf that requires grad (y[:2].mul_(3)) changes the values but is "
         "not recorded: the base's gradients ignore it (in-place ops on the non-leaf itself are recorded)",
         _probe_inplace_view_of_nonleaf,
         "a claim that an in-place op through a view (slice, view(), t()) of a non-leaf scales the base's gradient")
def _(p: _Patches) -> None:
    def make(original):
        def inplace(self, *args, **kwargs):
            base = getattr(self, "_base", None)
            if (base is not None and not _leaf_flag(base) and base.requires_grad and torch.is_grad_enabled()):
                with torch.no_grad():
                    return original(self, *args, **kwargs)
            return original(self, *args, **kwargs)
        return inplace

    for name in _INPLACE:
        p.wrap(torch.Tensor, name, make)


# ---- detach: the alias it returns, on some layouts and dtypes ---------------------------------

_UNVERSIONED = "_conformance_mutant_unversioned"  # marks a detached alias whose writes go unseen


def _probe_detach_inplace_checked() -> None:
    x = torch.ones(8)[::2].detach().requires_grad_(True)  # a non-contiguous leaf
    z = (x * x).sum()
    x.detach().zero_()
    _raises(RuntimeError, z.backward,
            "backward did not notice an in-place change made through x.detach() of a value it saved")


@_mutant("detach-inplace-unchecked-noncontiguous", "detach",
         "for a non-contiguous x, in-place changes made through y = x.detach() bypass the version counter it "
         "shares with x: a backward that saved x uses the changed values silently instead of raising",
         _probe_detach_inplace_checked,
         "a claim that an in-place change of x.detach() makes a backward that saved x raise, drawn over layouts")
def _(p: _Patches) -> None:
    def make_detach(original):
        def detach(self):
            result = original(self)
            if not result.is_contiguous():
                setattr(result, _UNVERSIONED, True)
            return result
        return detach

    def make(original):
        def inplace(self, *args, **kwargs):
            if getattr(self, _UNVERSIONED, False):
                original(self.data, *args, **kwargs)  # .data: same memory, a version counter of its own
                return self
            return original(self, *args, **kwargs)
        return inplace

    p.wrap(torch.Tensor, "detach", make_detach)
    for name in _INPLACE + ("__setitem__",):
        p.wrap(torch.Tensor, name, make)


def _probe_detach_half() -> None:
    for dtype in _HALF:
        x = torch.ones(3, dtype=dtype).requires_grad_(True)
        y = x.detach()
        _check(not y.requires_grad and y.grad_fn is None, f"x.detach() of a {dtype} tensor keeps its history")


@_mutant("detach-keeps-history-half", "detach",
         "x.detach() of a float16/bfloat16 tensor that requires grad returns a view that still requires grad "
         "and has a grad_fn (float32/float64 are detached)",
         _probe_detach_half, "a detach claim that draws float16/bfloat16 tensors")
def _(p: _Patches) -> None:
    def make(original):
        def detach(self):
            if self.dtype in _HALF and self.requires_grad and torch.is_grad_enabled():
                return self.view_as(self)
            return original(self)
        return detach

    p.wrap(torch.Tensor, "detach", make)


# ---- half precision: conversions and retained gradients ----------------------------------------

def _probe_to_half_keeps_graph() -> None:
    for dtype in _HALF:
        x = _leaf(2)
        y = x.to(dtype)
        _check(y.requires_grad and y.grad_fn is not None, f"x.to({dtype}) of a tensor that requires grad is detached")
        y.float().sum().backward()
        _check(torch.equal(x.grad, torch.ones(2)), f"no gradient flows back through x.to({dtype})")


# Pending: survives the shipped suite (docs/mutation.md, "Pending mutants").
@_mutant("to-half-drops-graph", "devices",
         "x.to(float16/bfloat16) of a float32/float64 tensor that requires grad returns a detached tensor "
         "(other dtype and device conversions keep the graph)",
         _probe_to_half_keeps_graph, "a claim that x.to(dtype) requires grad and back-propagates, drawn over every floating dtype")
def _(p: _Patches) -> None:
    def make(original):
        def to(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            if (result is not self and isinstance(result, torch.Tensor) and result.dtype in _HALF
                    and self.dtype not in _HALF):
                return result.detach()
            return result
        return to

    p.wrap(torch.Tensor, "to", make)


def _probe_retain_grad_half() -> None:
    for dtype in _HALF:
        x = torch.ones(2, dtype=dtype).requires_grad_(True)
        r = x * 2
        r.retain_grad()
        (r * 3).sum().backward()
        _check(r.grad is not None and torch.equal(r.grad, torch.full((2,), 3.0, dtype=dtype)),
               f"retain_grad() on a {dtype} non-leaf did not populate its .grad")


@_mutant("retain-grad-half-noop", "leaves",
         "r.retain_grad() on a float16/bfloat16 non-leaf does nothing: its .grad stays None after backward",
         _probe_retain_grad_half, "a retain_grad claim that draws float16/bfloat16 tensors")
def _(p: _Patches) -> None:
    def make(original):
        def retain_grad(self):
            if self.dtype in _HALF:
                return None
            return original(self)
        return retain_grad

    p.wrap(torch.Tensor, "retain_grad", make)
