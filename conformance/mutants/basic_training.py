"""Mutants of the training loop: optimizer steps and zero_grad, and moving tensors between devices.

See Note [Mutants] in ``conformance/mutants/__init__.py``.
"""
from __future__ import annotations

from typing import Callable, Tuple

import torch

from .base import _ORIG_CLONE, _Patches, _check, _detached, _leaf, _mutant

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


# Pending: survives the shipped suite on a machine without an accelerator since the claim that killed it
# (gradients-flow-back-through-to) moved to the CPU-to-accelerator slot (docs/mutation.md, "Pending mutants").
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
