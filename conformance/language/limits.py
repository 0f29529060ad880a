"""Limits of the spec language: how much one run may compute and allocate, and cost estimates.

Note [Limits]
~~~~~~~~~~~~~
Every allowlisted callable carries a cost kind (Note [The allowlist table]); before the call
runs, ``check_call`` estimates from the arguments what it will allocate or compute and refuses
(BudgetExceeded) when the estimate is over a limit: tensor elements (MAX_ELEMENTS), FLOPs of a
matrix product (MAX_FLOPS), the length of a string or list it materializes (MAX_SEQUENCE).
Operators are checked the same way: big-integer results by bit count for ``*``, ``**``, ``<<``
and every other arithmetic operator (operands over MAX_INT_BITS are refused, so the quadratic
ones, ``//`` and ``%``, stay fast), three-argument ``pow`` by exponent and modulus size,
sequence repetition and concatenation by result length, comparisons of containers by their
(recursive) size, tensor broadcasts by element count.  Time is bounded separately: every
evaluation step spends from a step budget and, every TIME_CHECK_EVERY steps, checks the
deadline of the run (Note [Budgets and deadlines] in ``runtime``).  What runs inside one C call
cannot be interrupted; the estimates keep each such call small, and ``--conformance-isolate``
(Note [Isolation]) bounds what is left with OS limits.  Every tensor or array a call or an
operator returns is also counted against MAX_TOTAL_ELEMENTS per run, so many allocations that
are each under the limit cannot add up to an unbounded total.
"""
from __future__ import annotations

import math as _math
import numbers
import operator
import re
from typing import Any, Optional

import numpy as np
import torch

from .errors import BudgetExceeded, ExpressionError

DEFAULT_BUDGET = 1_000_000  # node evaluations + loop iterations per top-level run
DEFAULT_TIME_LIMIT = 60.0  # seconds of evaluator work per top-level run (an item sets its own)
TIME_CHECK_EVERY = 1024  # steps between deadline checks
MAX_RANGE = 100_000  # elements of one range()
MAX_SEQUENCE = 1_000_000  # length of a str/bytes/list/tuple built by * or padding, or materialized
MAX_ELEMENTS = 50_000_000  # elements of one tensor/array allocation
MAX_TOTAL_ELEMENTS = 500_000_000  # elements of all tensors/arrays produced by calls and operators in one run
MAX_FLOPS = 2_000_000_000  # multiply-adds of one matrix product
MAX_EXPONENT = 10_000  # |exponent| of int ** int
MAX_INT_BITS = 100_000  # bits of an int operand or result of any arithmetic operator
MAX_MODULUS_BITS = 4_096  # bits of the modulus / exponent of three-argument pow
MAX_ROUND_DIGITS = 1_000  # |ndigits| of round()
MAX_SOURCE_CHARS = 100_000  # length of one spec snippet

_SEQUENCE_TYPES = (str, bytes, bytearray, list, tuple)


def _index(value: Any) -> Optional[int]:
    """``operator.index(value)`` or None (never raises)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return operator.index(value)
    except Exception:
        return None


def _number(value: Any) -> Optional[float]:
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        return float(value.item())
    return None


def _check_mult(a: Any, b: Any) -> None:
    if isinstance(a, _SEQUENCE_TYPES) or isinstance(b, _SEQUENCE_TYPES):
        seq, count = (a, b) if isinstance(a, _SEQUENCE_TYPES) else (b, a)
        n = _index(count)
        if n is not None and len(seq) * n > MAX_SEQUENCE:
            raise BudgetExceeded(
                f"repeating a {type(seq).__name__} of length {len(seq)} {n} times exceeds "
                f"the limit of {MAX_SEQUENCE} elements"
            )
    elif type(a) is int and type(b) is int:
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise BudgetExceeded(f"integer product exceeds {MAX_INT_BITS} bits")


def _check_pow(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int):
        if abs(exponent) > MAX_EXPONENT:
            raise BudgetExceeded(
                f"integer power with exponent {exponent} exceeds the limit of {MAX_EXPONENT}"
            )
        if exponent > 0 and abs(base) > 1 and base.bit_length() * exponent > MAX_INT_BITS:
            raise BudgetExceeded(f"integer power result exceeds {MAX_INT_BITS} bits")


def _check_lshift(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        if b > MAX_INT_BITS or a.bit_length() + b > MAX_INT_BITS:
            raise BudgetExceeded(f"integer shift result exceeds {MAX_INT_BITS} bits")


_PRINTF_FIELD = re.compile(rb"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_printf(fmt: Any) -> None:
    raw = fmt.encode("utf-8", "replace") if isinstance(fmt, str) else bytes(fmt)
    for match in _PRINTF_FIELD.finditer(raw):
        for group in match.groups():
            if group is None:
                continue
            if group == b"*" or len(group) > 6 or int(group) > 10_000:
                raise BudgetExceeded("%-formatting width or precision is too large")


def _numel(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, np.ndarray):
        return int(value.size)
    return 0


def _too_many(count: Optional[float], what: str) -> None:
    if count is not None and count > MAX_ELEMENTS:
        raise BudgetExceeded(
            f"{what} would have {int(count) if count != _math.inf else 'inf'} elements, "
            f"more than the allocation limit of {MAX_ELEMENTS}"
        )


def _check_binop_operands(a: Any, b: Any, matmul: bool = False) -> None:
    na, nb = _numel(a), _numel(b)
    if na > MAX_ELEMENTS or nb > MAX_ELEMENTS:
        _too_many(max(na, nb), "an operand")
    if matmul:
        check_matmul(a, b)
    elif isinstance(a, (torch.Tensor, np.ndarray)) and isinstance(b, (torch.Tensor, np.ndarray)) and a.shape != b.shape:
        try:
            shape = torch.broadcast_shapes(tuple(a.shape), tuple(b.shape))
        except Exception:
            return
        _too_many(_math.prod(shape), "the broadcast result")


def _dimension(value: Any) -> Optional[int]:
    """A single dimension (int-like, including one-element integer tensors) or None."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and _numel(value) != 1:
        return None
    n = _index(value)
    return None if n is None else max(n, 0)


def _shape_count(value: Any) -> Optional[int]:
    """Element count of a shape-like value (int, int sequence, torch.Size)."""
    if isinstance(value, (list, tuple)):  # torch.Size is a tuple
        dims = [_dimension(v) for v in value]
        if all(d is not None for d in dims):
            return _math.prod(dims)  # type: ignore[arg-type]
        return None
    return _dimension(value)


def _est_shape(args: tuple, kwargs: dict, size_kw: str = "size") -> Optional[int]:
    """torch.zeros(2, 3) / torch.zeros((2, 3)) / torch.zeros(size=(2, 3)) style."""
    if size_kw in kwargs:
        return _shape_count(kwargs[size_kw])
    if not args:
        return None
    if isinstance(args[0], (list, tuple)):
        return _shape_count(args[0])
    dims = []
    for arg in args:
        d = _dimension(arg)
        if d is None:
            break
        dims.append(d)
    return _math.prod(dims) if dims else None


def _est_first(args: tuple, kwargs: dict, size_kw: str = "size") -> Optional[int]:
    """torch.full(size, fill) / np.zeros(shape) style: only the first argument is the shape."""
    if size_kw in kwargs:
        return _shape_count(kwargs[size_kw])
    return _shape_count(args[0]) if args else None


def _est_randint(args: tuple, kwargs: dict) -> Optional[int]:
    if "size" in kwargs:
        return _shape_count(kwargs["size"])
    for arg in args:
        if isinstance(arg, (list, tuple)):
            return _shape_count(arg)
    return None


def _est_arange(args: tuple, kwargs: dict, stop_kw: str = "end") -> Optional[float]:
    start: Any = 0
    stop: Any = None
    step: Any = 1
    if len(args) == 1:
        stop = args[0]
    elif len(args) == 2:
        start, stop = args
    elif len(args) >= 3:
        start, stop, step = args[:3]
    start = kwargs.get("start", start)
    stop = kwargs.get(stop_kw, stop)
    step = kwargs.get("step", step)
    start_f, stop_f, step_f = _number(start), _number(stop), _number(step)
    if start_f is None or stop_f is None or step_f is None or step_f == 0:
        return None
    try:
        count = (stop_f - start_f) / step_f
        if _math.isnan(count):
            return None
        return float(max(_math.ceil(count), 0)) if not _math.isinf(count) else _math.inf
    except (OverflowError, ValueError):
        return _math.inf


def _est_steps(args: tuple, kwargs: dict, steps_kw: str = "steps", default: Optional[int] = None) -> Optional[int]:
    if steps_kw in kwargs:
        return _index(kwargs[steps_kw])
    if len(args) >= 3:
        return _index(args[2])
    return default


def _est_eye(args: tuple, kwargs: dict, n_kw: str = "n", m_kw: str = "m") -> Optional[int]:
    n = _index(args[0]) if args else _index(kwargs.get(n_kw))
    m = _index(args[1]) if len(args) > 1 else _index(kwargs.get(m_kw, n))
    if n is None:
        return None
    if m is None:
        m = n
    return max(n, 0) * max(m, 0)


def _est_product(args: tuple, kwargs: dict) -> int:
    total = 1
    for arg in args:
        total *= max(_numel(arg), 1)
    return total


def _est_tensor_method(name: str, tensor: torch.Tensor, args: tuple, kwargs: dict) -> Optional[int]:
    if name in ("new_ones", "new_zeros", "new_empty"):
        return _est_shape(args, kwargs)
    if name == "new_full":
        return _est_first(args, kwargs)
    if name in ("repeat", "tile"):
        reps = _est_shape(args, kwargs, "dims" if name == "tile" else "repeats")
        if reps is None:
            return None
        return max(tensor.numel(), 1) * reps
    return None


_STRING_PADDING = frozenset({"ljust", "rjust", "center", "zfill"})


def _check_string_method(owner: Any, name: str, args: tuple, kwargs: dict) -> tuple:
    """Bound the result of str/bytes methods that can multiply their input."""
    length = len(owner)
    if name in _STRING_PADDING:
        width = _index(args[0]) if args else _index(kwargs.get("width"))
        if width is not None and width > MAX_SEQUENCE:
            raise BudgetExceeded(f"padding a string to width {width} exceeds the limit of {MAX_SEQUENCE}")
    elif name == "expandtabs":
        tabsize = _index(args[0]) if args else _index(kwargs.get("tabsize", 8))
        tab = "\t" if isinstance(owner, str) else b"\t"
        if tabsize is not None and length + owner.count(tab) * max(tabsize, 0) > MAX_SEQUENCE:
            raise BudgetExceeded(f"expandtabs() result exceeds the limit of {MAX_SEQUENCE} characters")
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, type(owner)) and isinstance(new, type(owner)):
            count = owner.count(old) if old else length + 1
            limit = _index(args[2]) if len(args) > 2 else _index(kwargs.get("count", -1))
            if limit is not None and limit >= 0:
                count = min(count, limit)
            if length + count * (len(new) - len(old)) > MAX_SEQUENCE:
                raise BudgetExceeded(f"replace() result exceeds the limit of {MAX_SEQUENCE} characters")
    elif name == "join" and len(args) == 1:
        items = list(args[0])
        if len(items) > MAX_SEQUENCE:
            raise BudgetExceeded(f"join() of more than {MAX_SEQUENCE} items")
        total = length * max(len(items) - 1, 0)
        for item in items:
            if isinstance(item, (str, bytes, bytearray)):
                total += len(item)
        if total > MAX_SEQUENCE:
            raise BudgetExceeded(f"join() result exceeds the limit of {MAX_SEQUENCE} characters")
        return (items,)
    return args


def _module_size(args: tuple, kwargs: dict) -> Optional[float]:
    """A bound on the parameters an nn.Module constructor allocates: the product of its integer
    arguments (Linear(i, o) -> i*o, Conv2d(i, o, k) -> i*o*k, Embedding(n, d) -> n*d), counting a
    tuple (a kernel size) by its own product. Generous for small modules, exact enough to refuse
    nn.Linear(100000, 100000) before it asks for 40 GB."""
    count = 1.0
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            count *= max(abs(value), 1)
        elif isinstance(value, (tuple, list)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            for v in value:
                count *= max(abs(v), 1)
    return count if count > MAX_ELEMENTS else None




def check_int_operands(a: Any, b: Any) -> None:
    """Big integers: operands of any arithmetic operator stay under MAX_INT_BITS."""
    for value in (a, b):
        if type(value) is int and value.bit_length() > MAX_INT_BITS:
            raise BudgetExceeded(f"an integer operand has more than {MAX_INT_BITS} bits")


def check_concat(a: Any, b: Any) -> None:
    if isinstance(a, _SEQUENCE_TYPES) and isinstance(b, _SEQUENCE_TYPES):
        if len(a) + len(b) > MAX_SEQUENCE:
            raise BudgetExceeded(f"concatenation result exceeds the limit of {MAX_SEQUENCE} elements")


def container_size(value: Any, limit: Optional[int] = None) -> int:
    """Elements reachable in nested lists/tuples/dicts/sets (shared ones counted each time), up to limit+1."""
    limit = MAX_SEQUENCE if limit is None else limit
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple, set, frozenset)):
            count += len(item)
            if count > limit:
                return count
            stack.extend(x for x in item if isinstance(x, (list, tuple, set, frozenset, dict, str, bytes)))
        elif isinstance(item, dict):
            count += 2 * len(item)
            if count > limit:
                return count
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (str, bytes)):
            count += len(item) // 16
            if count > limit:
                return count
    return count


def check_container(value: Any, what: str) -> None:
    if isinstance(value, (list, tuple, set, frozenset, dict)) and container_size(value) > MAX_SEQUENCE:
        raise BudgetExceeded(f"{what} would walk more than {MAX_SEQUENCE} nested elements")


def check_pow3(base: Any, exp: Any, mod: Any) -> None:
    for value, what in ((exp, "exponent"), (mod, "modulus"), (base, "base")):
        if isinstance(value, int) and value.bit_length() > MAX_MODULUS_BITS:
            raise BudgetExceeded(f"three-argument pow with a {what} over {MAX_MODULUS_BITS} bits")


def check_round(args: tuple) -> None:
    if len(args) > 1:
        digits = _index(args[1])
        if digits is not None and abs(digits) > MAX_ROUND_DIGITS:
            raise BudgetExceeded(f"round() to {digits} digits exceeds the limit of {MAX_ROUND_DIGITS}")


def _tensors(args: tuple, kwargs: dict):
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, (torch.Tensor, np.ndarray)):
            yield value


def _est_broadcast(args: tuple, kwargs: dict) -> Optional[float]:
    shapes = [tuple(t.shape) for t in _tensors(args, kwargs)]
    if len(shapes) < 2:
        return None
    try:
        return float(_math.prod(torch.broadcast_shapes(*shapes)))
    except Exception:
        return None


def _matmul_flops(a: Any, b: Any) -> Optional[float]:
    if not (isinstance(a, (torch.Tensor, np.ndarray)) and isinstance(b, (torch.Tensor, np.ndarray))):
        return None
    sa, sb = tuple(a.shape), tuple(b.shape)
    if not sa or not sb:
        return None
    n = sa[-2] if len(sa) >= 2 else 1
    k = sa[-1]
    m = sb[-1] if len(sb) >= 2 else 1
    try:
        batch = _math.prod(torch.broadcast_shapes(sa[:-2], sb[:-2])) if len(sa) > 2 or len(sb) > 2 else 1
    except Exception:
        batch = max(_math.prod(sa[:-2]), _math.prod(sb[:-2]))
    return float(batch) * n * k * m


def check_matmul(a: Any, b: Any) -> None:
    flops = _matmul_flops(a, b)
    if flops is not None and flops > MAX_FLOPS:
        raise BudgetExceeded(f"the matrix product needs about {int(flops)} multiply-adds, more than the "
                             f"limit of {MAX_FLOPS}")
    if flops is not None:
        _too_many(flops / max(a.shape[-1], 1), "the matrix product")


def _est_expand(args: tuple, kwargs: dict) -> Optional[int]:
    if "size" in kwargs:
        return _shape_count(kwargs["size"])
    if args and isinstance(args[0], (torch.Tensor, np.ndarray)):
        args = args[1:]
    return _est_shape(args, kwargs)


def _est_module(args: tuple, kwargs: dict) -> Optional[float]:
    return _module_size(args, kwargs)


_ESTIMATORS = {
    "shape": _est_shape,
    "first": _est_first,
    "arange": _est_arange,
    "steps": _est_steps,
    "eye": _est_eye,
    "randint": _est_randint,
    "product": _est_product,
    "pointwise": _est_broadcast,
    "expand": _est_expand,
    "module": _est_module,
}


def check_call(cost: str, fn: Any, owner: Any, args: tuple, kwargs: dict) -> tuple:
    """Refuse a call whose estimated cost is over a limit; returns the (possibly materialized) args."""
    name = getattr(fn, "__name__", "") or ""
    if cost == "steps" and getattr(fn, "__module__", "") == "numpy":
        count = _est_steps(args, kwargs, "num", 50)
    elif cost == "steps" and name == "histc":  # histc(input, bins=100, min=0, max=0): bins elements
        count = _index(kwargs["bins"]) if "bins" in kwargs else (_index(args[1]) if len(args) > 1 else 100)
    elif cost == "arange" and getattr(fn, "__module__", "") == "numpy":
        count = _est_arange(args, kwargs, "stop")
    elif cost == "eye" and getattr(fn, "__module__", "") == "numpy":
        count = _est_eye(args, kwargs, "N", "M")
    elif cost == "first" and getattr(fn, "__module__", "") == "numpy":
        count = _est_first(args, kwargs, "shape")
    elif cost in ("new", "newfirst", "repeat") and isinstance(owner, torch.Tensor):
        count = _est_tensor_method(name, owner, args, kwargs)
    elif cost == "pointwise" and isinstance(owner, (torch.Tensor, np.ndarray)):
        count = _est_broadcast((owner,) + tuple(args), kwargs)
    elif cost == "expand" and isinstance(owner, torch.Tensor):
        count = _est_expand(args, kwargs)
    elif cost == "matmul":
        operands = ((owner,) if owner is not None else ()) + tuple(args)
        if len(operands) >= 2:
            check_matmul(operands[0], operands[1])
        count = None
    elif cost == "listing":
        for value in (owner,) + tuple(args):
            if isinstance(value, (torch.Tensor, np.ndarray)) and _numel(value) > MAX_SEQUENCE:
                raise BudgetExceeded(f"listing a tensor of {_numel(value)} elements exceeds the limit of "
                                     f"{MAX_SEQUENCE}")
            check_container(value, "this call")
        count = None
    elif cost == "data":
        dtype = kwargs.get("dtype")
        if dtype is object or (isinstance(dtype, str) and dtype.strip().upper() in ("O", "OBJECT")):
            raise ExpressionError("arrays of Python objects (dtype=object) are not allowed in specs")
        for value in args:
            check_container(value, "this call")
        count = None
    elif cost in ("strjoin", "strreplace", "strsplit") and isinstance(owner, (str, bytes, bytearray)):
        return _check_string_method(owner, name, args, kwargs)
    else:
        estimator = _ESTIMATORS.get(cost)
        try:
            count = estimator(args, kwargs) if estimator is not None else None
        except BudgetExceeded:
            raise
        except Exception:
            count = None
    _too_many(count, f"{name or 'this call'}(...)")
    total = _numel(owner)
    for value in list(args) + list(kwargs.values()):
        total += _numel(value)
        if cost == "combine" and isinstance(value, (list, tuple)):
            if len(value) > MAX_SEQUENCE:
                raise BudgetExceeded(f"combining more than {MAX_SEQUENCE} tensors")
            total += sum(_numel(item) for item in value)
    _too_many(total if total > MAX_ELEMENTS else None, "the operands of this call")
    return args


__all__ = [name for name in dir() if name.isupper()]
