"""Subtle mutants of aliasing, values and optimizers: faults that show only for some layouts,
value ranges, parameter groups, module nestings or optimizer options.

See Note [Mutants] in ``conformance/mutants/__init__.py``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from .base import _check, _leaf, _mutant, _ORIG_CLONE, _ORIG_DETACH, _Patches

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


# ---- optimizers: update rules, parameter groups, nested modules -------------------------------

def _sgd_run(**options: Any) -> torch.Tensor:
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, **options)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    return w.detach()


def _sgd_reference(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0) -> torch.Tensor:
    w, buf = torch.tensor([1.0, -2.0]), None
    for i in range(3):
        g = 2 * w + weight_decay * w
        if momentum:
            buf = g.clone() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        w = w - 0.1 * g
    return w


def _probe_sgd(**options: Any) -> Callable[[], None]:
    def probe() -> None:
        _check(torch.allclose(_sgd_run(**options), _sgd_reference(**options), rtol=1e-5, atol=1e-6),
               f"three SGD steps with {options} do not follow the SGD update rule")
    return probe


def _with_group_options(p: _Patches, cls: type, change: Callable[[dict], None]) -> None:
    """Wrap ``cls.step`` so that each group's options are ``change``d during the step only."""
    def make(original):
        def step(self, *args, **kwargs):
            saved = [dict(g) for g in self.param_groups]
            for group in self.param_groups:
                change(group)
            try:
                return original(self, *args, **kwargs)
            finally:
                for group, old in zip(self.param_groups, saved):
                    group.update({k: v for k, v in old.items() if k != "params"})
        return step

    p.wrap(cls, "step", make)


@_mutant("sgd-dampening-ignored", "optimizers",
         "SGD with momentum ignores dampening (uses 0)",
         _probe_sgd(momentum=0.9, dampening=0.5), "a multi-step SGD claim with dampening checked against the update rule")
def _(p: _Patches) -> None:
    _with_group_options(p, torch.optim.SGD, lambda g: g.update(dampening=0))


@_mutant("sgd-nesterov-ignored", "optimizers",
         "SGD(nesterov=True) takes plain momentum steps",
         _probe_sgd(momentum=0.9, nesterov=True), "a multi-step SGD claim with nesterov checked against the update rule")
def _(p: _Patches) -> None:
    _with_group_options(p, torch.optim.SGD, lambda g: g.update(nesterov=False))


@_mutant("sgd-weight-decay-sign-flipped", "optimizers",
         "SGD subtracts weight_decay * p from the gradient instead of adding it",
         _probe_sgd(weight_decay=0.3), "a multi-step SGD claim with weight_decay checked against the update rule")
def _(p: _Patches) -> None:
    _with_group_options(p, torch.optim.SGD, lambda g: g.update(weight_decay=-g["weight_decay"]))


@_mutant("sgd-momentum-restarts", "optimizers",
         "SGD forgets its momentum buffer at every step (so momentum never builds up)",
         _probe_sgd(momentum=0.9), "a claim over two or more SGD steps with momentum, checked against the update rule")
def _(p: _Patches) -> None:
    def make(original):
        def step(self, *args, **kwargs):
            for group in self.param_groups:
                for q in group["params"]:
                    self.state.get(q, {}).pop("momentum_buffer", None)
            return original(self, *args, **kwargs)
        return step

    p.wrap(torch.optim.SGD, "step", make)


def _adam_reference(decoupled: bool, weight_decay: float) -> torch.Tensor:
    w = torch.tensor([1.0, -2.0])
    m, v, lr, b1, b2, eps = torch.zeros(2), torch.zeros(2), 0.1, 0.9, 0.999, 1e-8
    for t in range(1, 4):
        g = 2 * w
        if decoupled:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps)
    return w


def _adam_run(cls: type, weight_decay: float) -> torch.Tensor:
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = cls([w], lr=0.1, weight_decay=weight_decay)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    return w.detach()


def _probe_adam() -> None:
    _check(torch.allclose(_adam_run(torch.optim.Adam, 0.0), _adam_reference(False, 0.0), rtol=1e-5, atol=1e-6),
           "three Adam steps do not follow the Adam update rule (with bias correction)")


def _probe_adamw() -> None:
    _check(torch.allclose(_adam_run(torch.optim.AdamW, 0.5), _adam_reference(True, 0.5), rtol=1e-5, atol=1e-6),
           "three AdamW steps do not follow the AdamW rule (decoupled weight decay)")


@_mutant("adam-no-bias-correction", "optimizers",
         "Adam and AdamW skip the bias correction of their moment estimates",
         _probe_adam, "a multi-step Adam claim checked against the update rule with bias correction")
def _(p: _Patches) -> None:
    def make(original):
        def step(self, *args, **kwargs):
            steps = []
            for group in self.param_groups:
                for q in group["params"]:
                    if q.grad is None:
                        continue
                    state = self.state[q]
                    if not state:  # what Adam would make on its first step
                        state["step"] = torch.tensor(0.0)
                        state["exp_avg"] = torch.zeros_like(q, memory_format=torch.preserve_format)
                        state["exp_avg_sq"] = torch.zeros_like(q, memory_format=torch.preserve_format)
                        if group.get("amsgrad"):
                            state["max_exp_avg_sq"] = torch.zeros_like(q, memory_format=torch.preserve_format)
                    real = float(state["step"])
                    steps.append((state, real))
                    state["step"] = torch.tensor(1e7)  # 1 - beta ** 1e7 == 1: no correction
            try:
                return original(self, *args, **kwargs)
            finally:
                for state, real in steps:
                    state["step"] = torch.tensor(real + 1)
        return step

    p.wrap(torch.optim.Adam, "step", make)
    if "step" in vars(torch.optim.AdamW):
        p.wrap(torch.optim.AdamW, "step", make)


@_mutant("adamw-decay-coupled", "optimizers",
         "AdamW adds weight_decay * p to the gradient (Adam's L2 penalty) instead of decaying the weights directly",
         _probe_adamw, "a multi-step AdamW claim checked against the decoupled weight-decay rule")
def _(p: _Patches) -> None:
    def make(original):
        def step(self, *args, **kwargs):
            changed = []
            for group in self.param_groups:
                decay, group["weight_decay"] = group["weight_decay"], 0.0
                for q in group["params"]:
                    if q.grad is not None and decay:
                        extra = decay * _ORIG_DETACH(q)
                        q.grad.add_(extra)
                        changed.append((q, extra))
                changed.append((group, decay))
            try:
                return original(self, *args, **kwargs)
            finally:
                for owner, value in changed:
                    if isinstance(owner, dict):
                        owner["weight_decay"] = value
                    else:
                        owner.grad.sub_(value)
        return step

    p.wrap(torch.optim.AdamW, "step", make)


def _two_groups(cls: type) -> tuple:
    a, b = _leaf(2), _leaf(2)
    opt = cls([{"params": [a]}, {"params": [b], "lr": 0.2}], lr=0.1)
    return a, b, opt


def _probe_second_group_step() -> None:
    for cls in (torch.optim.SGD, torch.optim.Adam):
        a, b, opt = _two_groups(cls)
        (a * 1 + b * 1).sum().backward()
        opt.step()
        _check(not torch.equal(b.detach(), torch.ones(2)), f"{cls.__name__}.step() left the second parameter group")
    a, b, opt = _two_groups(torch.optim.SGD)
    (a + b).sum().backward()
    opt.step()
    _check(torch.allclose(b.detach(), torch.full((2,), 0.8)), "SGD's second group did not use its own lr")


@_mutant("optimizer-step-first-group-only", "optimizers",
         "optimizer.step() (SGD, Adam, AdamW) updates only the first parameter group",
         _probe_second_group_step, "a claim with two parameter groups that checks every group's parameters after step()")
def _(p: _Patches) -> None:
    def make(original):
        def step(self, *args, **kwargs):
            groups = self.param_groups
            self.param_groups = groups[:1]
            try:
                return original(self, *args, **kwargs)
            finally:
                self.param_groups = groups
        return step

    for cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW):
        if "step" in vars(cls):
            p.wrap(cls, "step", make)


@_mutant("optimizer-groups-share-first-lr", "optimizers",
         "optimizer.step() uses the first parameter group's lr for every group",
         _probe_second_group_step, "a claim with parameter groups of different lr checked against p - lr_group * grad")
def _(p: _Patches) -> None:
    for cls in (torch.optim.SGD, torch.optim.Adam):
        def make(original):
            def step(self, *args, **kwargs):
                saved = [g["lr"] for g in self.param_groups]
                for g in self.param_groups:
                    g["lr"] = saved[0]
                try:
                    return original(self, *args, **kwargs)
                finally:
                    for g, lr in zip(self.param_groups, saved):
                        g["lr"] = lr
            return step
        p.wrap(cls, "step", make)


def _probe_zero_grad_groups() -> None:
    a, b, opt = _two_groups(torch.optim.SGD)
    (a + b).sum().backward()
    opt.zero_grad()
    _check(all(q.grad is None or not bool(q.grad.any()) for q in (a, b)), "optimizer.zero_grad() left a group's gradients")


@_mutant("optimizer-zero-grad-first-group-only", "optimizers",
         "optimizer.zero_grad() clears only the first parameter group's gradients",
         _probe_zero_grad_groups, "a claim with two parameter groups that checks every parameter after zero_grad()")
def _(p: _Patches) -> None:
    def make(original):
        def zero_grad(self, *args, **kwargs):
            groups = self.param_groups
            self.param_groups = groups[:1]
            try:
                return original(self, *args, **kwargs)
            finally:
                self.param_groups = groups
        return zero_grad

    p.wrap(torch.optim.Optimizer, "zero_grad", make)


def _probe_module_zero_grad_nested() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Linear(2, 1)))
    net(torch.ones(1, 2)).sum().backward()
    net.zero_grad()
    _check(all(q.grad is None or not bool(q.grad.any()) for q in net.parameters()),
           "module.zero_grad() left the gradients of a submodule")


@_mutant("module-zero-grad-skips-children", "optimizers",
         "module.zero_grad() clears only the module's own parameters, not those of its submodules",
         _probe_module_zero_grad_nested, "a claim that zero_grad() on a nested nn.Sequential clears every parameter")
def _(p: _Patches) -> None:
    def make(original):
        def zero_grad(self, set_to_none=True):
            for q in self.parameters(recurse=False):
                if q.grad is not None:
                    if set_to_none:
                        q.grad = None
                    else:
                        q.grad.zero_()
        return zero_grad

    p.wrap(torch.nn.Module, "zero_grad", make)
