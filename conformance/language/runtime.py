"""The runtime of compiled spec code: frames, budgets and deadlines, checked operators.

Note [Budgets and deadlines]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~
A top-level call (Compiled.__call__, CompiledBlock.run) opens a budget for the current thread:
a number of steps (DEFAULT_BUDGET node evaluations and loop iterations) and a deadline (the
earlier of DEFAULT_TIME_LIMIT from now and the item deadline set by ``item_deadline``, which
the plugin opens around each item).  Every node evaluation spends one step; every
TIME_CHECK_EVERY steps the clock is read, so a runaway loop in the evaluator stops within a few
milliseconds of its deadline with BudgetExceeded.  Spec lambdas called while a run is active on
the thread (from filter(), from autograd during backward(), ...) spend from that budget; one
called from plain Python code with no run active opens a fresh budget for that call.
"""
from __future__ import annotations

import ast
import contextlib
import operator
import threading
import time
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from . import limits
from .errors import BudgetExceeded, ExpressionError, at


class Budget:
    __slots__ = ("left", "limit", "deadline", "until_clock", "elements")

    def __init__(self, limit: int, deadline: float):
        self.elements = 0  # tensor/array elements produced so far (Note [Limits])
        self.left = limit
        self.limit = limit
        self.deadline = deadline
        self.until_clock = limits.TIME_CHECK_EVERY


class Frame:
    """What compiled closures see: env, local variables, budget."""

    __slots__ = ("env", "vars", "parent", "budget")

    def __init__(self, env: Any, local_vars: Optional[dict], parent: Optional["Frame"], budget: Budget):
        self.env = env
        self.vars = local_vars
        self.parent = parent
        self.budget = budget


def over_budget(budget: Budget, node: Optional[ast.AST]) -> BudgetExceeded:
    return at(node, f"this spec code exceeded the evaluation budget of {budget.limit} steps "
                    "(node evaluations and loop iterations); use smaller loops", BudgetExceeded)


def _clock(budget: Budget, node: Optional[ast.AST]) -> None:
    budget.until_clock = limits.TIME_CHECK_EVERY
    if time.monotonic() > budget.deadline:
        raise at(node, "this spec code ran past its time limit; use smaller loops or tensors", BudgetExceeded)


def spend(frame: Frame, node: ast.AST) -> None:
    budget = frame.budget
    budget.left -= 1
    if budget.left < 0:
        raise over_budget(budget, node)
    budget.until_clock -= 1
    if budget.until_clock <= 0:
        _clock(budget, node)


def spend_many(frame: Frame, steps: int, node: ast.AST) -> None:
    budget = frame.budget
    budget.left -= steps
    if budget.left < 0:
        raise over_budget(budget, node)
    _clock(budget, node)


def produced(frame: Frame, value: Any, node: Optional[ast.AST]) -> Any:
    """Count the elements of a tensor/array a call or operator produced against MAX_TOTAL_ELEMENTS."""
    n = limits._numel(value)
    if n:
        budget = frame.budget
        budget.elements += n
        if budget.elements > limits.MAX_TOTAL_ELEMENTS:
            raise at(node, f"this spec code produced more than {limits.MAX_TOTAL_ELEMENTS} tensor elements in "
                           "one run; use smaller tensors or fewer iterations", BudgetExceeded)
    return value


_STATE = threading.local()
_ITEM = {"deadline": None}


@contextlib.contextmanager
def item_deadline(seconds: Optional[float]) -> Iterator[None]:
    """Bound all spec code run inside (any thread) by ``seconds`` of wall time."""
    previous = _ITEM["deadline"]
    _ITEM["deadline"] = None if seconds is None else time.monotonic() + seconds
    try:
        yield
    finally:
        _ITEM["deadline"] = previous


def acquire_budget(limit: Optional[int]) -> Tuple[Budget, bool]:
    current = getattr(_STATE, "budget", None)
    if current is not None:
        return current, False
    deadline = time.monotonic() + limits.DEFAULT_TIME_LIMIT
    item = _ITEM["deadline"]
    if item is not None:
        deadline = min(deadline, item)
    budget = Budget(limits.DEFAULT_BUDGET if limit is None else int(limit), deadline)
    _STATE.budget = budget
    return budget, True


def release_budget() -> None:
    _STATE.budget = None


def run_top(body: Callable[[Frame], Any], env: Any, budget_limit: Optional[int]) -> Any:
    budget, owned = acquire_budget(budget_limit)
    try:
        if time.monotonic() > budget.deadline:
            raise BudgetExceeded("this item ran past its time limit")
        return body(Frame(env, None, None, budget))
    except RecursionError:
        if not owned:
            raise
        raise BudgetExceeded("spec code recursed too deeply; it exceeded the evaluation budget") from None
    finally:
        if owned:
            release_budget()


BINOPS: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.MatMult: operator.matmul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.BitAnd: operator.and_,
}

INPLACE_OPS: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd, ast.Sub: operator.isub, ast.Mult: operator.imul, ast.MatMult: operator.imatmul,
    ast.Div: operator.itruediv, ast.FloorDiv: operator.ifloordiv, ast.Mod: operator.imod,
    ast.Pow: operator.ipow, ast.LShift: operator.ilshift, ast.RShift: operator.irshift,
    ast.BitOr: operator.ior, ast.BitXor: operator.ixor, ast.BitAnd: operator.iand,
}

UNARYOPS: Dict[type, Callable[[Any], Any]] = {
    ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Not: operator.not_, ast.Invert: operator.invert,
}


def _contains(a: Any, b: Any) -> bool:
    limits.check_container(b, "'in'")
    return a in b


def _not_contains(a: Any, b: Any) -> bool:
    limits.check_container(b, "'not in'")
    return a not in b


def _checked_compare(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def compare(a: Any, b: Any) -> Any:
        limits.check_container(a, "this comparison")
        limits.check_container(b, "this comparison")
        limits.check_int_operands(a, b)
        return fn(a, b)
    return compare


COMPAREOPS: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: _checked_compare(operator.eq), ast.NotEq: _checked_compare(operator.ne),
    ast.Lt: _checked_compare(operator.lt), ast.LtE: _checked_compare(operator.le),
    ast.Gt: _checked_compare(operator.gt), ast.GtE: _checked_compare(operator.ge),
    ast.Is: operator.is_, ast.IsNot: operator.is_not, ast.In: _contains, ast.NotIn: _not_contains,
}


def make_binop(op_type: type, fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``fn`` wrapped with the resource checks that apply to ``op_type``."""
    special = {
        ast.Mult: limits._check_mult,
        ast.Pow: limits._check_pow,
        ast.LShift: limits._check_lshift,
        ast.Add: limits.check_concat,
    }.get(op_type)
    matmul = op_type is ast.MatMult
    printf = op_type is ast.Mod

    def apply(a: Any, b: Any) -> Any:
        limits.check_int_operands(a, b)
        if special is not None:
            special(a, b)
        if printf and isinstance(a, (str, bytes, bytearray)):
            limits._check_printf(a)
        limits._check_binop_operands(a, b, matmul=matmul)
        return fn(a, b)

    return apply


def unary(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(a: Any) -> Any:
        limits.check_int_operands(a, 0)
        return fn(a)
    return apply


__all__ = ["Budget", "Frame", "spend", "spend_many", "run_top", "acquire_budget", "release_budget",
           "item_deadline", "BINOPS", "INPLACE_OPS", "UNARYOPS", "COMPAREOPS", "make_binop", "ExpressionError"]
