"""The predefined names of the spec language: modules, and builtins wrapped with their limits.

Note [Predefined names]
~~~~~~~~~~~~~~~~~~~~~~~
``GLOBAL_NAMES`` is what a spec can name without defining it: the module roots of the
allowlist (``torch``, ``nn``, ``F``, ``optim``, ``np``, ``math``) and the builtins listed in
``table.BUILTINS``.  Builtins that could run long or allocate much get wrappers here (``range``,
``pow``, ``sum``, ``round``, ``divmod``), ``hasattr`` answers without running module
``__getattr__`` hooks (which import), and there is no ``type``: ``type_is(x, cls)`` answers the
one question specs ask of it without handing out a class.
"""
from __future__ import annotations

import ast
import builtins
import inspect
import types
from types import MappingProxyType
from typing import Any, Dict, Mapping

from . import allowlist, limits, table
from .errors import BudgetExceeded, ExpressionError


def range(*args: Any) -> builtins.range:  # noqa: A001 - the spec name
    r = builtins.range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = None
    if n is None or n > limits.MAX_RANGE:
        raise BudgetExceeded(
            f"range() with {'too many' if n is None else n} elements exceeds the limit of {limits.MAX_RANGE}")
    return r


def pow(base: Any, exp: Any, mod: Any = None) -> Any:  # noqa: A001
    limits.check_int_operands(base, exp)
    if mod is not None:
        limits.check_pow3(base, exp, mod)
        return builtins.pow(base, exp, mod)
    limits._check_pow(base, exp)
    return builtins.pow(base, exp)


def sum(iterable: Any, start: Any = 0) -> Any:  # noqa: A001
    if isinstance(start, (list, tuple, str, bytes, bytearray)):
        raise BudgetExceeded("sum() with a sequence start value is quadratic and not allowed in specs; "
                             "use a comprehension")
    total = start
    for item in iterable:
        limits.check_int_operands(total, item)
        total = total + item
    return total


def round(number: Any, *ndigits: Any) -> Any:  # noqa: A001
    limits.check_round((number,) + ndigits)
    limits.check_int_operands(number, 0)
    return builtins.round(number, *ndigits)


def divmod(a: Any, b: Any) -> Any:  # noqa: A001
    limits.check_int_operands(a, b)
    return builtins.divmod(a, b)


def parses_as_python(text: Any) -> bool:
    """True when ``text`` is syntactically valid Python. Only parses (``ast.parse``); runs nothing.

    For claims about syntax, e.g. that ``x.cuda(async=True)`` stopped being valid Python in 3.7.
    """
    if not isinstance(text, str) or len(text) > 10_000:
        raise ExpressionError("parses_as_python() takes a string of at most 10000 characters")
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("parses_as_python(): the text is too deeply nested to parse") from None
    return True


def type_is(obj: Any, cls: Any) -> bool:
    """``type(obj) is cls``: exact-type tests without handing a class to the spec."""
    return builtins.type(obj) is cls


def same_data(a: Any, b: Any) -> bool:
    """Whether two tensors (or arrays) start at the same memory address; no address is handed out."""
    import numpy as np
    import torch
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.data_ptr() == b.data_ptr()
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    raise ExpressionError("same_data() takes two tensors or two NumPy arrays")


def hasattr(obj: Any, name: Any) -> bool:  # noqa: A001
    """hasattr for specs: public names only; modules and classes are inspected without running code."""
    if not isinstance(name, str) or name.startswith("_"):
        raise ExpressionError("hasattr() takes a public attribute name (not starting with '_')")
    if isinstance(obj, types.ModuleType):
        return name in vars(obj)
    if isinstance(obj, allowlist.Namespace):
        return name in table.MATH
    if isinstance(obj, builtins.type):
        return inspect.getattr_static(obj, name, allowlist.MISSING) is not allowlist.MISSING
    if isinstance(obj, __import__("torch").nn.Module):
        return builtins.hasattr(obj, name)
    return inspect.getattr_static(obj, name, allowlist.MISSING) is not allowlist.MISSING


# Data loading (torch.utils.data stays unreachable). TensorDataset(*tensors) builds the dataset;
# DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False) iterates a real
# torch.utils.data.DataLoader in this process (num_workers=0) and returns the list of its
# batches, so no loader object (whose worker settings a spec could change) and no worker
# process ever exists. The batches hold at most the dataset's elements: cost "free".
def TensorDataset(*tensors: Any) -> Any:  # noqa: N802 - the name specs write
    import torch
    from torch.utils.data import TensorDataset as _TensorDataset

    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise ExpressionError("TensorDataset() takes one or more tensors")
    return _TensorDataset(*tensors)


def DataLoader(dataset: Any, batch_size: Any = 1, shuffle: Any = False, drop_last: Any = False) -> list:  # noqa: N802
    from torch.utils.data import DataLoader as _DataLoader, TensorDataset as _TensorDataset

    if not isinstance(dataset, _TensorDataset):
        raise ExpressionError("DataLoader() takes a TensorDataset(...) (loading happens in-process)")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= limits.MAX_RANGE:
        raise ExpressionError(f"DataLoader() batch_size must be an int from 1 to {limits.MAX_RANGE}")
    loader = _DataLoader(dataset, batch_size=batch_size, shuffle=bool(shuffle), drop_last=bool(drop_last),
                         num_workers=0)
    return list(loader)


def _listing(fn: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        limits.check_call("listing", fn, None, args, kwargs)
        return fn(*args, **kwargs)
    wrapped.__name__ = wrapped.__qualname__ = fn.__name__
    return wrapped


_WRAPPED = {"range": range, "pow": pow, "sum": sum, "round": round, "divmod": divmod,
            "parses_as_python": parses_as_python, "type_is": type_is, "hasattr": hasattr,
            "same_data": same_data, "TensorDataset": TensorDataset, "DataLoader": DataLoader}


def _build() -> Mapping[str, object]:
    names: Dict[str, object] = {alias: (allowlist.MATH if module == "math" else allowlist.MODULE_OBJECTS[module])
                                for alias, module in table.ROOTS.items()}
    for topic in table.BUILTINS.values():
        for name, cost in topic.items():
            if name in _WRAPPED:
                value = _WRAPPED[name]
            else:
                value = getattr(builtins, name)
                if cost == "listing" and name in ("sorted", "repr"):
                    value = _listing(value)
            names[name] = value
            if cost == "listing" and isinstance(value, builtins.type):
                cost = "listing"
            allowlist.BY_ID.setdefault(id(value), (value, name, cost))
    return MappingProxyType(names)


GLOBAL_NAMES: Mapping[str, object] = _build()

# Builtins a spec author might reach for, with a pointed message.
DANGEROUS_BUILTINS = frozenset(
    {"eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals", "locals", "vars",
     "input", "breakpoint", "help", "memoryview", "exit", "quit", "type", "__import__", "object",
     "super", "classmethod", "staticmethod", "property", "iter", "next", "bytearray", "bytes"})
