"""Subtle autograd mutants: faults that show only for some dtypes, layouts, ranks, call counts or paths.

See Note [Mutants] in ``conformance/mutants/__init__.py``. Each of these leaves the common case
(a contiguous float32 tensor of rank 1 to 3, one backward call, a with-block left normally)
intact, as a plausible fork, backend or release bug would: the suite kills them only where its
draws and claims are as wide as the articles' statements.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import torch

from .base import _check, _leaf, _mutant, _ORIG_CLONE, _ORIG_DETACH, _Patches, _raises, _scale_grad
from .basic_autograd import _as_tuple, _graph_leaves

_HALF = (torch.float16, torch.bfloat16)


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


# ---- grad modes: exceptions, nesting, plain calls and decorators -----------------------------

def _probe_exit_by_exception(make_block: Callable[[], Any]) -> Callable[[], None]:
    def probe() -> None:
        before = torch.is_grad_enabled()
        try:
            with make_block():
                raise KeyError("leave the block by an exception")
        except KeyError:
            pass
        _check(torch.is_grad_enabled() == before, "leaving the block by an exception did not restore grad mode")
        with torch.no_grad():
            try:
                with make_block():
                    raise KeyError("again, inside no_grad")
            except KeyError:
                pass
            _check(not torch.is_grad_enabled(), "leaving the block by an exception did not restore grad mode")
    return probe


def _keep_mode_on_exception(p: _Patches, cls: type) -> None:
    def make(original):
        def __exit__(self, exc_type, exc_value, traceback):
            if exc_type is None:
                return original(self, exc_type, exc_value, traceback)
            return None
        return __exit__

    p.wrap(cls, "__exit__", make)


@_mutant("no-grad-exception-keeps-disabled", "grad_modes",
         "leaving torch.no_grad() by an exception keeps grad disabled (a normal exit restores it)",
         _probe_exit_by_exception(torch.no_grad),
         "a claim that grad mode is restored after a no_grad block is left by an exception")
def _(p: _Patches) -> None:
    _keep_mode_on_exception(p, torch.no_grad)


@_mutant("enable-grad-exception-keeps-enabled", "grad_modes",
         "leaving torch.enable_grad() by an exception keeps grad enabled, even inside no_grad",
         _probe_exit_by_exception(torch.enable_grad),
         "a claim that grad mode is restored after an enable_grad block inside no_grad is left by an exception")
def _(p: _Patches) -> None:
    _keep_mode_on_exception(p, torch.enable_grad)


@_mutant("set-grad-enabled-exception-keeps-mode", "grad_modes",
         "leaving a with torch.set_grad_enabled(mode) block by an exception keeps mode",
         _probe_exit_by_exception(lambda: torch.set_grad_enabled(False)),
         "a claim that grad mode is restored after a set_grad_enabled block is left by an exception")
def _(p: _Patches) -> None:
    _keep_mode_on_exception(p, torch.set_grad_enabled)


def _probe_enable_grad_exit() -> None:
    x = _leaf()
    with torch.no_grad():
        with torch.enable_grad():
            pass
        _check(not torch.is_grad_enabled() and not (x * 2).requires_grad,
               "after an inner enable_grad() block exits inside no_grad(), grad is enabled")


@_mutant("enable-grad-exit-keeps-enabled", "grad_modes",
         "leaving torch.enable_grad() leaves grad enabled instead of restoring the enclosing no_grad()",
         _probe_enable_grad_exit,
         "a claim about a computation inside no_grad() after an inner enable_grad() block has exited")
def _(p: _Patches) -> None:
    def __exit__(self, *exc):
        torch._C._set_grad_enabled(True)

    p.set(torch.enable_grad, "__exit__", __exit__)


def _probe_set_grad_enabled_exit() -> None:
    x = _leaf()
    with torch.no_grad():
        with torch.set_grad_enabled(True):
            _check((x * 2).requires_grad, "set_grad_enabled(True) inside no_grad() did not enable grad")
        _check(not (x * 2).requires_grad, "after set_grad_enabled(True) exits inside no_grad(), grad is enabled")
    with torch.set_grad_enabled(False):
        pass
    _check(torch.is_grad_enabled(), "after set_grad_enabled(False) exits, grad stays disabled")


@_mutant("set-grad-enabled-exit-not-restored", "grad_modes",
         "leaving a with torch.set_grad_enabled(mode) block keeps mode instead of restoring the previous one",
         _probe_set_grad_enabled_exit, "a claim about a computation after a set_grad_enabled block has exited")
def _(p: _Patches) -> None:
    p.set(torch.set_grad_enabled, "__exit__", lambda self, *exc: None)


def _probe_set_grad_enabled_call() -> None:
    x = _leaf()
    torch.set_grad_enabled(False)
    try:
        _check(not (x * 2).requires_grad, "x * 2 requires grad after the plain call set_grad_enabled(False)")
    finally:
        torch.set_grad_enabled(True)


@_mutant("set-grad-enabled-call-noop", "grad_modes",
         "torch.set_grad_enabled(False) called as a plain function does nothing (its with-block form works)",
         _probe_set_grad_enabled_call, "a claim about torch.set_grad_enabled(b) called as a function, not in a with")
def _(p: _Patches) -> None:
    def __init__(self, mode):
        self.prev = torch.is_grad_enabled()
        self.mode = mode

    def __enter__(self):
        torch._C._set_grad_enabled(self.mode)

    p.set(torch.set_grad_enabled, "__init__", __init__)
    p.set(torch.set_grad_enabled, "__enter__", __enter__)


def _probe_decorator(make: Callable[[Callable], Callable], inside: Callable[[], bool], outer: bool) -> Callable[[], None]:
    def probe() -> None:
        x = _leaf()
        decorated = make(lambda t: (t * 2, torch.is_grad_enabled()))
        with torch.set_grad_enabled(outer):
            y, mode = decorated(x)
            _check(mode == inside() and y.requires_grad == inside(), "the decorated function ran in the wrong grad mode")
            _check(torch.is_grad_enabled() == outer, "the decorated function did not restore grad mode")
    return probe


def _undecorated(p: _Patches, cls: type) -> None:
    def make(original):
        def __call__(self, fn):
            if cls is torch.set_grad_enabled:
                torch._C._set_grad_enabled(self.prev)
            return fn
        return __call__

    p.wrap(cls, "__call__", make)


@_mutant("no-grad-decorator-noop", "grad_modes",
         "@torch.no_grad() (and torch.no_grad()(fn)) returns the function unchanged: it runs with grad enabled",
         _probe_decorator(lambda fn: torch.no_grad()(fn), lambda: False, True),
         "a claim about a function decorated with torch.no_grad()")
def _(p: _Patches) -> None:
    _undecorated(p, torch.no_grad)


@_mutant("enable-grad-decorator-noop", "grad_modes",
         "@torch.enable_grad() returns the function unchanged: inside no_grad it runs with grad disabled",
         _probe_decorator(lambda fn: torch.enable_grad()(fn), lambda: True, False),
         "a claim about a function decorated with torch.enable_grad() called inside no_grad")
def _(p: _Patches) -> None:
    _undecorated(p, torch.enable_grad)


@_mutant("set-grad-enabled-decorator-noop", "grad_modes",
         "@torch.set_grad_enabled(False) returns the function unchanged: it runs with grad enabled",
         _probe_decorator(lambda fn: torch.set_grad_enabled(False)(fn), lambda: False, True),
         "a claim about a function decorated with torch.set_grad_enabled(False)")
def _(p: _Patches) -> None:
    _undecorated(p, torch.set_grad_enabled)


def _probe_parameter_under_no_grad() -> None:
    with torch.no_grad():
        net = torch.nn.Linear(2, 2)
        w = torch.nn.Parameter(torch.ones(2))
    _check(w.requires_grad and all(q.requires_grad for q in net.parameters()),
           "parameters created inside no_grad() do not require grad")


@_mutant("parameter-under-no-grad-frozen", "requires_grad",
         "nn.Parameter (and so every module's parameters) created inside no_grad() does not require grad",
         _probe_parameter_under_no_grad, "a claim that modules built under each grad mode have parameters that require grad")
def _(p: _Patches) -> None:
    original = torch.nn.Parameter.__new__

    def __new__(cls, data=None, requires_grad=True):
        return original(cls, data, requires_grad and torch.is_grad_enabled())

    p.set(torch.nn.Parameter, "__new__", staticmethod(__new__))


def _probe_rank4_requires_grad() -> None:
    x = torch.ones(1, 2, 1, 2).requires_grad_(True)
    _check((x * 2).requires_grad and (x + 1).requires_grad, "results on a rank-4 tensor do not require grad")


@_mutant("rank4-results-detached", "requires_grad",
         "x * y and x + y return a detached result when an operand has rank 4 or more",
         _probe_rank4_requires_grad, "a requires_grad propagation claim that draws tensors of rank 4")
def _(p: _Patches) -> None:
    for owner, name in ((torch.Tensor, "__mul__"), (torch.Tensor, "__rmul__"), (torch.Tensor, "__add__"),
                        (torch.Tensor, "__radd__"), (torch, "mul"), (torch, "add")):
        def make(original):
            def wrapper(*args, **kwargs):
                result = original(*args, **kwargs)
                if any(isinstance(a, torch.Tensor) and a.dim() >= 4 for a in args):
                    return _ORIG_DETACH(result)
                return result
            return wrapper
        p.wrap(owner, name, make)


def _probe_half_requires_grad() -> None:
    for dtype in _HALF:
        x = torch.ones(2, dtype=dtype).requires_grad_(True)
        _check((x * 2).requires_grad and (x + 1).requires_grad, f"results on {dtype} do not require grad")


@_mutant("half-results-detached", "requires_grad",
         "x * y and x + y return a detached result for float16/bfloat16 operands",
         _probe_half_requires_grad, "a requires_grad propagation claim that draws float16/bfloat16 tensors")
def _(p: _Patches) -> None:
    for owner, name in ((torch.Tensor, "__mul__"), (torch.Tensor, "__rmul__"), (torch.Tensor, "__add__"),
                        (torch.Tensor, "__radd__"), (torch, "mul"), (torch, "add")):
        def make(original):
            def wrapper(*args, **kwargs):
                result = original(*args, **kwargs)
                if any(isinstance(a, torch.Tensor) and a.dtype in _HALF for a in args):
                    return _ORIG_DETACH(result)
                return result
            return wrapper
        p.wrap(owner, name, make)


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


def _leaf_flag(t: torch.Tensor) -> bool:
    from .base import _IS_LEAF

    return bool(_IS_LEAF.__get__(t))


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
