"""Subtle optimizer mutants: update rules that go wrong only with some options (momentum, dampening,
nesterov, weight decay, bias correction, decoupled decay), only for some parameter groups, or only
for nested modules.

See Note [Mutants] in ``conformance/mutants/__init__.py``. The optimizer mutants change a group's
options only for the duration of ``step()`` (or, for the bias correction, the step count Adam
reads), so the optimizer's own code computes the wrong update, as a regression in it would.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from .base import _check, _leaf, _mutant, _ORIG_DETACH, _Patches


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


# ---- optimizer steps after the first: state kept for frozen parameters, later groups ----------

def _probe_adam_frozen_after_step() -> None:
    for cls in (torch.optim.Adam, torch.optim.AdamW):
        a, b = _leaf(2), _leaf(2)
        opt = cls([a, b], lr=0.1)
        (a * 1 + b * 2).sum().backward()
        opt.step()
        b.requires_grad_(False)
        opt.zero_grad(set_to_none=True)
        frozen = b.detach().clone()
        (a * 1).sum().backward()
        opt.step()
        _check(torch.equal(b.detach(), frozen), f"{cls.__name__}.step() moved a parameter frozen after an earlier step")


@_mutant("adam-moves-params-frozen-after-a-step", "optimizers",
         "Adam/AdamW.step() treats a parameter whose .grad is None as having a zero gradient once it has "
         "optimizer state: a parameter frozen after a training step keeps moving (momentum, AdamW's decay)",
         _probe_adam_frozen_after_step,
         "a claim that freezes a parameter (requires_grad False, grad None) after one or more Adam/AdamW steps "
         "and checks that later steps leave it unchanged")
def _(p: _Patches) -> None:
    def make(original):
        def step(self, *args, **kwargs):
            filled = []
            for group in self.param_groups:
                for q in group["params"]:
                    if q.grad is None and self.state.get(q):
                        q.grad = torch.zeros_like(q)
                        filled.append(q)
            try:
                return original(self, *args, **kwargs)
            finally:
                for q in filled:
                    q.grad = None
        return step

    for cls in (torch.optim.Adam, torch.optim.AdamW):
        if "step" in vars(cls):
            p.wrap(cls, "step", make)


def _probe_module_zero_grad_deep() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(2, 1))))
    net(torch.ones(1, 2)).sum().backward()
    net.zero_grad()
    _check(all(q.grad is None or not bool(q.grad.any()) for q in net.parameters()),
           "module.zero_grad() left the gradients of a module nested two levels down")


@_mutant("module-zero-grad-skips-grandchildren", "optimizers",
         "module.zero_grad() clears the parameters of the module and its direct children, not those nested "
         "two or more levels down",
         _probe_module_zero_grad_deep, "a claim that zero_grad() clears the parameters of a module nested two levels down")
def _(p: _Patches) -> None:
    def make(original):
        def zero_grad(self, *args, **kwargs):
            deep = [(q, None if q.grad is None else q.grad.clone())
                    for name, q in self.named_parameters() if name.count(".") >= 2]
            result = original(self, *args, **kwargs)
            for q, grad in deep:
                q.grad = grad
            return result
        return zero_grad

    p.wrap(torch.nn.Module, "zero_grad", make)


def _probe_second_group_momentum() -> None:
    a = torch.tensor([1.0, -2.0], requires_grad=True)
    b = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        ((a * a).sum() + (b * b).sum()).backward()
        opt.step()
    expected = _sgd_reference(momentum=0.9)
    _check(torch.allclose(a.detach(), expected, rtol=1e-5, atol=1e-6), "SGD's first group did not follow the rule")
    _check(torch.allclose(b.detach(), expected, rtol=1e-5, atol=1e-6),
           "SGD's second parameter group did not follow the momentum rule")


# Pending: survives the shipped suite (docs/mutation.md, "Pending mutants").
@_mutant("sgd-momentum-first-group-only", "optimizers",
         "SGD applies momentum only in the first parameter group: later groups take plain steps",
         _probe_second_group_momentum,
         "a multi-step SGD claim with momentum in two parameter groups, every group checked against the rule")
def _(p: _Patches) -> None:
    def make(original):
        def step(self, *args, **kwargs):
            saved = [g.get("momentum") for g in self.param_groups]
            for group in self.param_groups[1:]:
                if "momentum" in group:
                    group["momentum"] = 0
            try:
                return original(self, *args, **kwargs)
            finally:
                for group, momentum in zip(self.param_groups, saved):
                    if momentum is not None:
                        group["momentum"] = momentum
        return step

    p.wrap(torch.optim.SGD, "step", make)


@_mutant("adam-second-moment-restarts", "optimizers",
         "Adam/AdamW forget their second-moment estimate (exp_avg_sq) at every step: from the second step "
         "on the step size is wrong (the first moment and the step count are kept)",
         _probe_adam, "a claim over two or more Adam steps checked against the update rule")
def _(p: _Patches) -> None:
    def make(original):
        def step(self, *args, **kwargs):
            for group in self.param_groups:
                for q in group["params"]:
                    second = self.state.get(q, {}).get("exp_avg_sq")
                    if isinstance(second, torch.Tensor):
                        second.zero_()
            return original(self, *args, **kwargs)
        return step

    for cls in (torch.optim.Adam, torch.optim.AdamW):
        if "step" in vars(cls):
            p.wrap(cls, "step", make)
