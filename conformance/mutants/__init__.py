"""Built-in mutants of torch: each one breaks one behaviour the articles describe, in-process.

Note [Mutants]
A conformance suite is only worth running if it fails when torch misbehaves. A mutant is a
deliberately broken torch: ``Mutant.patch()`` monkeypatches Python-visible attributes of the
running torch (methods and properties of ``torch.Tensor``, functions of ``torch`` and
``torch.autograd``, methods of ``torch.nn.Module``, ``torch.nn.Parameter``, the optimizers and
the grad-mode context managers) and returns an ``undo`` callable that puts every attribute
back exactly as it was (the raw class-``__dict__`` entry, or nothing when the attribute was
inherited). Nothing is compiled or rebuilt: the C++ kernels are the real ones, and every
mutant is a thin Python wrapper that changes what one behaviour looks like from Python, e.g.
``x + y`` whose result is detached, a ``detach()`` that copies, a ``backward()`` that
overwrites ``.grad`` instead of accumulating into it, a ``mean`` whose gradient is doubled.

Why this reaches the specs: spec expressions are run by ``conformance.expressions``, which
evaluates ``x * 2``, ``x.detach()``, ``torch.no_grad()`` ... by calling the very same Python
attributes (operators through ``operator.mul`` and hence the ``torch.Tensor.__mul__`` slot,
methods by attribute look-up at call time, ``with`` through ``__enter__``/``__exit__`` of the
real grad-mode classes, which are patched in place rather than replaced, so the evaluator's
``isinstance`` check on context managers still passes). torch's own Python code looks those
attributes up at call time too (``Tensor.backward`` calls ``torch.autograd.backward``,
``no_grad.__enter__`` calls ``torch.set_grad_enabled``), so a mutant also breaks what torch
builds on the broken piece, as a real regression would.

Each mutant carries a ``probe``: a few lines of plain torch (no spec engine) that return on
real torch and raise ``AssertionError`` under the mutant. ``tests/test_mutants.py`` runs every
probe before, during and after the mutant (positive controls), so a mutant that silently stops
breaking anything (say, because a torch release moved the attribute it patches) is caught
there rather than showing up as a spurious "survivor" of the suite.

The mutants live in topic modules: ``basic_*`` for a behaviour broken everywhere
(``basic_autograd``: requires_grad, grad modes, backward, detach, leaves; ``basic_training``:
optimizers and devices; ``basic_memory``: NumPy bridge, views and in-place ops; ``basic_values``:
item, deprecated APIs, tensor basics) and ``subtle_*`` for one broken only for some dtypes,
layouts, ranks, call counts or paths (``subtle_backward``, ``subtle_grad_modes``,
``subtle_graph_edits``: retained grads and in-place ops on the graph, ``subtle_tensors``:
aliasing and values, ``subtle_optimizers``: update rules, parameter groups, nested modules). The shared pieces are in ``base``. Importing this
package registers them all in ``MUTANTS``, in the order of the imports below.

Use: ``apply(name)`` (what ``--conformance-mutant=NAME`` / env ``CONFORMANCE_MUTANT`` do in the
plugin's ``pytest_configure``, before any spec is collected) or ``applied(name)`` as a context
manager. ``python -m conformance mutate`` runs the suite once per mutant (``conformance.mutation``).
Everything here works on torch 1.13 and later: only long-standing attributes are patched, and
the handful that moved are looked up defensively.
"""
from __future__ import annotations

import contextlib
from typing import Dict, Iterator, List

from .base import MUTANTS, PENDING, TOPICS, Mutant, Undo
from . import basic_autograd, basic_training, basic_memory, basic_values  # noqa: F401,E402 - registers the mutants
from . import subtle_backward, subtle_grad_modes, subtle_graph_edits, subtle_tensors, subtle_optimizers  # noqa: F401,E402 - registers the mutants

# --- public API -------------------------------------------------------------------------------

_ACTIVE: Dict[str, Undo] = {}


def get(name: str) -> Mutant:
    """A shipped mutant, or a pending one (a survivor kept out of the shipped set, see base.PENDING)."""
    try:
        return MUTANTS[name] if name in MUTANTS else PENDING[name]
    except KeyError:
        raise KeyError(f"unknown mutant {name!r}; known: {', '.join(MUTANTS)}") from None


def apply(name: str) -> Undo:
    """Break torch in this process as mutant ``name`` says; returns the callable that undoes it."""
    mutant = get(name)
    undo_patches = mutant.patch()

    def undo() -> None:
        if _ACTIVE.get(name) is undo:
            del _ACTIVE[name]
        undo_patches()

    _ACTIVE[name] = undo
    return undo


@contextlib.contextmanager
def applied(name: str) -> Iterator[Mutant]:
    undo = apply(name)
    try:
        yield get(name)
    finally:
        undo()


def active() -> List[str]:
    """Names of the mutants applied in this process (normally at most one)."""
    return list(_ACTIVE)


def fast_names() -> List[str]:
    return [m.name for m in MUTANTS.values() if m.fast]


__all__ = ["Mutant", "MUTANTS", "PENDING", "TOPICS", "apply", "applied", "active", "get", "fast_names"]

