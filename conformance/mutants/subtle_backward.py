"""Subtle backward mutants: accumulation and gradient formulas that go wrong only for some dtypes,
layouts, ranks, call counts or layers.

See Note [Mutants] in ``conformance/mutants/__init__.py``. Each of these leaves the common case
(a contiguous float32 tensor of rank 1 to 3, one backward call, a with-block left normally)
intact, as a plausible fork, backend or release bug would: the suite kills them only where its
draws and claims are as wide as the articles' statements.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import torch

from .base import _HALF, _check, _leaf, _mutant, _ORIG_CLONE, _Patches, _scale_grad
from .basic_autograd import _as_tuple, _graph_leaves


def _noncontiguous(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and not t.is_contiguous()


def _offset(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.storage_offset() != 0


def _strided_leaf(n: int = 4, value: float = 1.0) -> torch.Tensor:
    """A leaf that requires grad and is not contiguous (every other element of its storage)."""
    return torch.full((2 * n,), value)[::2].detach().requires_grad_(True)


def _offset_leaf(n: int = 4, value: float = 1.0) -> torch.Tensor:
    """A contiguous leaf that requires grad and starts 2 elements into its storage."""
    return torch.full((n + 2,), value)[2:].detach().requires_grad_(True)


def _wrap_backward(p: _Patches, before: Callable[[list, dict], Any], after: Callable[[Any], None] = None) -> None:
    """Wrap torch.autograd.backward (which Tensor.backward calls): ``before(leaves, kwargs)`` may
    return "skip" to drop the call; ``after(state)`` runs with what ``before`` returned."""
    def make(original):
        def backward(tensors, *args, **kwargs):
            state = before(_graph_leaves(tensors), dict(kwargs, _tensors=tensors, _args=args))
            if state == "skip":
                return None
            result = original(tensors, *args, **kwargs)
            if after is not None:
                after(state)
            return result
        return backward

    p.wrap(torch.autograd, "backward", make)


# ---- backward: accumulation by dtype, layout, call count and retained graphs ------------------

def _probe_retained_second() -> None:
    x = _leaf(3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    _check(torch.equal(x.grad, torch.full((3,), 4.0)), "second backward through a retained graph did not accumulate")


@_mutant("retained-second-backward-dropped", "backward",
         "a second backward() through a graph kept with retain_graph=True silently does nothing",
         _probe_retained_second, "a claim that k backward calls on one root with retain_graph=True accumulate k gradients")
def _(p: _Patches) -> None:
    retained: Dict[int, Any] = {}  # id(root grad_fn) -> the node (kept alive so ids stay unique)

    def before(leaves, kwargs):
        roots = [t.grad_fn for t in _as_tuple(kwargs["_tensors"]) if isinstance(t, torch.Tensor) and t.grad_fn]
        if roots and all(id(r) in retained for r in roots):
            return "skip"
        if kwargs.get("retain_graph") or (len(kwargs["_args"]) >= 2 and kwargs["_args"][1]):
            retained.update((id(r), r) for r in roots)
        return None

    _wrap_backward(p, before)


def _probe_half_accumulates() -> None:
    for dtype in _HALF:
        x = torch.ones(3, dtype=dtype).requires_grad_(True)
        (x * 2).sum().backward()
        (x * 2).sum().backward()
        _check(torch.equal(x.grad, torch.full((3,), 4.0, dtype=dtype)), f"{dtype} gradients did not accumulate")


@_mutant("half-grad-overwrites", "backward",
         "for float16/bfloat16 leaves backward() overwrites .grad instead of accumulating into it "
         "(float32/float64 accumulate)",
         _probe_half_accumulates, "an accumulation claim that draws float16/bfloat16 leaves")
def _(p: _Patches) -> None:
    def before(leaves, kwargs):
        for leaf in leaves:
            if leaf.dtype in _HALF:
                leaf.grad = None

    _wrap_backward(p, before)


def _probe_noncontiguous_grad_accumulates() -> None:
    x = _leaf(4)
    x.grad = torch.ones(8)[::2]
    (x * 3).sum().backward()
    _check(torch.equal(x.grad, torch.full((4,), 4.0)), "backward did not accumulate into a non-contiguous .grad")


@_mutant("noncontiguous-grad-overwritten", "backward",
         "when a leaf's existing .grad is not contiguous, backward() replaces it instead of adding to it",
         _probe_noncontiguous_grad_accumulates,
         "an accumulation claim whose leaf already has a non-contiguous .grad (set by the spec or from a strided draw)")
def _(p: _Patches) -> None:
    def before(leaves, kwargs):
        for leaf in leaves:
            if leaf.grad is not None and not leaf.grad.is_contiguous():
                leaf.grad = None

    _wrap_backward(p, before)


def _probe_third_accumulation() -> None:
    x = _leaf(2)
    for _ in range(4):
        (x * 1).sum().backward()
    _check(torch.equal(x.grad, torch.full((2,), 4.0)), "four backward calls did not accumulate four gradients")


@_mutant("third-accumulation-dropped", "backward",
         "the third backward() that reaches a leaf is dropped: its .grad keeps the value of two calls",
         _probe_third_accumulation, "an accumulation claim with k >= 3 backward calls (pin an example with k = 3 or 4)")
def _(p: _Patches) -> None:
    counts: Dict[int, list] = {}  # id(leaf) -> [leaf, count]

    def before(leaves, kwargs):
        saved = []
        for leaf in leaves:
            entry = counts.setdefault(id(leaf), [leaf, 0])
            entry[1] += 1
            if entry[1] == 3:
                saved.append((leaf, None if leaf.grad is None else _ORIG_CLONE(leaf.grad)))
        return saved

    def after(saved):
        for leaf, grad in saved:
            leaf.grad = grad

    _wrap_backward(p, before, after)


def _probe_gradient_argument() -> None:
    x = _leaf(3)
    (x * 2).backward(torch.tensor([1.0, 2.0, 3.0]))
    _check(torch.equal(x.grad, torch.tensor([2.0, 4.0, 6.0])), "backward(gradient) ignored its gradient argument")


@_mutant("backward-gradient-argument-ignored", "backward",
         "y.backward(g) on a non-scalar y uses ones instead of the gradient g it is given",
         _probe_gradient_argument, "a claim that y.backward(g) gives x.grad = dy/dx * g for a drawn g")
def _(p: _Patches) -> None:
    def make(original):
        def backward(tensors, grad_tensors=None, *args, **kwargs):
            if isinstance(grad_tensors, torch.Tensor):
                grad_tensors = torch.ones_like(grad_tensors)
            return original(tensors, grad_tensors, *args, **kwargs)
        return backward

    p.wrap(torch.autograd, "backward", make)


def _probe_autograd_grad() -> None:
    x = _leaf(3, value=2.0)
    (g,) = torch.autograd.grad((x * x).sum(), [x])
    _check(torch.equal(g, torch.full((3,), 4.0)), "torch.autograd.grad of sum(x * x) is not 2x")


@_mutant("autograd-grad-doubled", "backward",
         "torch.autograd.grad returns twice the gradient (backward() and .grad are right)",
         _probe_autograd_grad, "a claim that checks torch.autograd.grad against a closed form, or any gradcheck")
def _(p: _Patches) -> None:
    def make(original):
        def grad(outputs, inputs, *args, **kwargs):
            result = original(outputs, inputs, *args, **kwargs)
            return tuple(None if g is None else g * 2 for g in result)
        return grad

    p.wrap(torch.autograd, "grad", make)


# Gradient formulas that are wrong only for some inputs: the forward value is always right.

def _scale_inputs(p: _Patches, names: List[str], factor: float, when: Callable[[Any], bool]) -> None:
    """Wrap each ``torch``/``torch.Tensor`` callable so that tensor arguments for which ``when``
    holds get ``factor`` times their gradient (forward unchanged)."""
    for name in names:
        owner = torch.Tensor if name.startswith(("__", ".")) else torch
        attr = name.lstrip(".")

        def make(original):
            def wrapper(*args, **kwargs):
                args = tuple(_scale_grad(a, factor) if isinstance(a, torch.Tensor) and when(a) else a for a in args)
                return original(*args, **kwargs)
            return wrapper

        p.wrap(owner, attr, make)


def _probe_sum_rank4() -> None:
    x = torch.ones(2, 1, 2, 1).requires_grad_(True)
    x.sum().backward()
    _check(torch.equal(x.grad, torch.ones(2, 1, 2, 1)), "the gradient of sum over a rank-4 tensor is not ones")


@_mutant("sum-grad-doubled-rank4", "backward",
         "the gradient of sum (Tensor.sum, torch.sum) is doubled for inputs of rank 4 or more",
         _probe_sum_rank4, "a gradient claim through a sum that draws tensors of rank 4")
def _(p: _Patches) -> None:
    _scale_inputs(p, [".sum", "sum"], 2.0, lambda t: t.dim() >= 4)


def _probe_sum_half() -> None:
    for dtype in _HALF:
        x = torch.ones(3, dtype=dtype).requires_grad_(True)
        x.sum().backward()
        _check(torch.equal(x.grad, torch.ones(3, dtype=dtype)), f"the gradient of sum for {dtype} is not ones")


@_mutant("sum-grad-doubled-half", "backward",
         "the gradient of sum is doubled for float16/bfloat16 inputs",
         _probe_sum_half, "a gradient claim through a sum that draws float16/bfloat16 tensors")
def _(p: _Patches) -> None:
    _scale_inputs(p, [".sum", "sum"], 2.0, lambda t: t.dtype in _HALF)


def _probe_mul_noncontiguous() -> None:
    x = _strided_leaf()
    (x * 3).sum().backward()
    _check(torch.equal(x.grad, torch.full((4,), 3.0)), "d(3x)/dx for a non-contiguous x is not 3")


@_mutant("mul-grad-doubled-noncontiguous", "backward",
         "the gradient of x * y is doubled for an operand that is not contiguous",
         _probe_mul_noncontiguous, "a gradient claim through a product that draws non-contiguous layouts")
def _(p: _Patches) -> None:
    _scale_inputs(p, ["__mul__", "__rmul__", ".mul", "mul"], 2.0, _noncontiguous)


def _probe_add_offset() -> None:
    x = _offset_leaf()
    (x + 1).sum().backward()
    _check(torch.equal(x.grad, torch.ones(4)), "d(x + 1)/dx for x with a storage offset is not 1")


@_mutant("add-grad-halved-storage-offset", "backward",
         "the gradient of x + y is halved for an operand whose storage offset is not 0",
         _probe_add_offset, "a gradient claim through a sum of tensors that draws the offset layout")
def _(p: _Patches) -> None:
    _scale_inputs(p, ["__add__", "__radd__", ".add", "add"], 0.5, _offset)


def _probe_mean_half() -> None:
    for dtype in _HALF:
        x = torch.ones(4, dtype=dtype).requires_grad_(True)
        x.mean().backward()
        _check(torch.equal(x.grad, torch.full((4,), 0.25, dtype=dtype)), f"mean's gradient for {dtype} is not 1/n")


@_mutant("mean-grad-doubled-half", "backward",
         "the gradient of mean is doubled for float16/bfloat16 inputs",
         _probe_mean_half, "a gradient claim through a mean that draws float16/bfloat16 tensors")
def _(p: _Patches) -> None:
    _scale_inputs(p, [".mean", "mean"], 2.0, lambda t: t.dtype in _HALF)


def _probe_pow_rank0() -> None:
    x = torch.tensor(3.0, requires_grad=True)
    (x ** 2).backward()
    _check(x.grad.item() == 6.0, "d(x ** 2)/dx at 3 for a 0-dim x is not 6")


@_mutant("pow-grad-wrong-rank0", "backward",
         "the gradient of x ** n is doubled for 0-dim tensors",
         _probe_pow_rank0, "a gradient claim through a power that draws 0-dim tensors")
def _(p: _Patches) -> None:
    _scale_inputs(p, ["__pow__", ".pow", "pow"], 2.0, lambda t: t.dim() == 0)


def _probe_linear_weight() -> None:
    net = torch.nn.Linear(3, 2)
    x = torch.tensor([[1.0, 2.0, 3.0]])
    net(x).sum().backward()
    _check(torch.equal(net.weight.grad, x.expand(2, 3)), "Linear's weight gradient is not the input")
    _check(torch.equal(net.bias.grad, torch.ones(2)), "Linear's bias gradient is not ones")


@_mutant("linear-weight-grad-doubled", "backward",
         "F.linear (and so nn.Linear) gives the weight twice its gradient; input and bias gradients are right",
         _probe_linear_weight, "a claim that checks a Linear layer's weight.grad against its closed form (sum of inputs)")
def _(p: _Patches) -> None:
    def make(original):
        def linear(input, weight, bias=None):
            return original(input, _scale_grad(weight, 2.0), bias)
        return linear

    p.wrap(torch.nn.functional, "linear", make)


@_mutant("linear-bias-grad-dropped", "backward",
         "F.linear (and so nn.Linear) gives the bias a zero gradient",
         _probe_linear_weight, "a claim that checks a Linear layer's bias.grad (the batch size for a summed output)")
def _(p: _Patches) -> None:
    def make(original):
        def linear(input, weight, bias=None):
            return original(input, weight, None if bias is None else _scale_grad(bias, 0.0))
        return linear

    p.wrap(torch.nn.functional, "linear", make)


def _probe_mse() -> None:
    pred = torch.tensor([1.0, 3.0], requires_grad=True)
    torch.nn.functional.mse_loss(pred, torch.zeros(2)).backward()
    _check(torch.equal(pred.grad, torch.tensor([1.0, 3.0])), "d mse/d pred is not 2 (pred - target) / n")


@_mutant("mse-loss-grad-doubled", "backward",
         "F.mse_loss (and so nn.MSELoss) propagates twice the gradient to its input",
         _probe_mse, "a claim that checks the gradient of an MSE loss against 2 (pred - target) / n")
def _(p: _Patches) -> None:
    def make(original):
        def mse_loss(input, target, *args, **kwargs):
            return original(_scale_grad(input, 2.0), target, *args, **kwargs)
        return mse_loss

    p.wrap(torch.nn.functional, "mse_loss", make)


def _probe_conv_weight() -> None:
    x = torch.ones(1, 1, 3, 3)
    w = torch.ones(1, 1, 2, 2, requires_grad=True)
    torch.nn.functional.conv2d(x, w).sum().backward()
    _check(torch.equal(w.grad, torch.full((1, 1, 2, 2), 4.0)), "conv2d's weight gradient is not the summed input windows")


@_mutant("conv2d-weight-grad-doubled", "backward",
         "F.conv2d (and so nn.Conv2d) gives the weight twice its gradient",
         _probe_conv_weight, "a claim that checks a Conv2d weight gradient (finite differences or the summed windows)")
def _(p: _Patches) -> None:
    def make(original):
        def conv2d(input, weight, *args, **kwargs):
            return original(input, _scale_grad(weight, 2.0), *args, **kwargs)
        return conv2d

    p.wrap(torch.nn.functional, "conv2d", make)
