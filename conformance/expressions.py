"""The restricted expression language of the spec files.

Spec files (YAML) contain small Python-like expressions (``x * 2``,
``torch.randn(3, requires_grad=True)``) and statement blocks (a training step,
a ``with torch.no_grad():`` update).  This module turns that text into
callables without ever handing it to the Python compiler.
"""

# Note [Restricted expressions]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# Specs are data.  Whoever writes a spec file must not be able to run arbitrary
# Python through it: not read or write files, not start processes, not import
# modules, not reach interpreter internals, and not hang or exhaust the machine
# that runs the suite.  Therefore spec text is never passed to eval(), exec()
# or compile().  Instead:
#
#   1. The text is parsed with ``ast.parse`` (parsing builds a tree; it runs
#      nothing).  Syntax errors become ExpressionError with a line and column.
#
#   2. A small compiler (``_Compiler``) walks the tree.  Each node type has a
#      method; a node type without one (f-strings, ``:=``, ``import``, ``def``,
#      ``while``, ``try`` ...) is rejected with a message naming the construct.
#      This is an allowlist: a construct added to Python later is refused until
#      someone writes a method for it here.
#
#   3. While walking, the compiler does the static checks: no name, attribute,
#      keyword or target starting with '_' (this rules out every dunder, hence
#      ``().__class__.__bases__`` style escapes; the bare variable name ``_``
#      stays usable as a throwaway loop or lambda variable); no attribute in
#      _DENIED_ATTRIBUTES (``save``, ``load``, ``tofile``, ``format``, ``hub``,
#      ``jit``, ``utils`` ...); every free name must be a spec variable
#      (``known``), a name bound earlier in the same block, a lambda,
#      comprehension or loop variable, or one of GLOBAL_NAMES.  Dotted chains
#      rooted at a predefined module (``torch.autograd.graph.saved_tensors_hooks``)
#      are resolved against the real module right away, so misspellings and
#      modules outside _ALLOWED_MODULE_NAMES are reported before anything runs.
#
#   4. Each node is compiled into a Python closure taking a ``_Frame`` (the
#      environment dict, the local variables of lambdas and comprehensions, and
#      the evaluation budget).  Running a spec means calling those closures;
#      no Python source is ever generated.  A spec lambda becomes an ordinary
#      Python function that evaluates its compiled body, so it can be handed to
#      filter(), Tensor.register_hook(), saved_tensors_hooks() and so on.
#
#   5. The closures repeat the checks that cannot be done statically:
#        - every attribute, subscript and call result, every loop item and
#          every unpacked value is checked: a module must be one of the allowed
#          modules (by identity), frames, code objects, tracebacks, file
#          objects and loggers are refused, and denied callables (torch.load, numpy.save, builtins.eval, ...,
#          found by identity) are refused;
#        - before a call, the callee is checked against the denied callables
#          (bound methods through their underlying function or class+name);
#        - ``with`` only accepts instances of the torch grad-mode / autograd
#          context manager types;
#        - attribute assignment refuses modules, classes and functions;
#        - resource bounds: every node evaluation and loop iteration spends one
#          step of a budget (DEFAULT_BUDGET per top-level run), range() is
#          capped, and obviously huge results (int ** int, big int * int,
#          ``1 << n``, sequence * int, padding strings, torch/numpy factories
#          asking for more than MAX_ELEMENTS elements, huge broadcasts) are
#          refused with BudgetExceeded *before* they are computed.
#
# The resource bounds are a best effort against accidents and simple abuse;
# the suite should still run under ordinary OS limits (memory, time).
#
# Budget accounting: a top-level call (Compiled.__call__, CompiledBlock.run)
# opens a budget for the current thread; spec lambdas called while some run is
# active on the thread (from filter(), from autograd during backward(), ...)
# spend from that budget, and a spec lambda called from plain Python code with
# no run active opens a fresh budget for that call.

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import inspect
import io
import logging
import math as _math
import numbers
import operator
import re
import threading
import types
import warnings
from types import MappingProxyType
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

import numpy as np
import torch

__all__ = [
    "BudgetExceeded",
    "Compiled",
    "CompiledBlock",
    "ExpressionError",
    "GLOBAL_NAMES",
    "compile_block",
    "compile_expression",
]

# --------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------

DEFAULT_BUDGET = 1_000_000  # node evaluations + loop iterations per top-level run
MAX_RANGE = 100_000  # elements of one range()
MAX_SEQUENCE = 1_000_000  # length of a str/bytes/list/tuple built by * or padding
MAX_ELEMENTS = 50_000_000  # elements of one tensor/array allocation
MAX_EXPONENT = 10_000  # |exponent| of int ** int
MAX_INT_BITS = 1_000_000  # bits of an int produced by **, * or <<
MAX_SOURCE_CHARS = 100_000  # length of one spec snippet


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class ExpressionError(Exception):
    """A spec expression was rejected (statically or at run time).

    Attributes: ``message`` (one line, tells the author what to do), ``lineno``
    (1-based line within the source text, or None) and ``col`` (0-based column
    or None).  ``str(error)`` is the message alone.
    """

    def __init__(self, message: str, lineno: Optional[int] = None, col: Optional[int] = None):
        message = _one_line(message)
        super().__init__(message)
        self.message = message
        self.lineno = lineno
        self.col = col

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (type(self), (self.message, self.lineno, self.col))


class BudgetExceeded(ExpressionError):
    """A step, iteration or allocation budget was exceeded at run time."""


def _at(node: Optional[ast.AST], message: str, cls: type = ExpressionError) -> ExpressionError:
    return cls(message, getattr(node, "lineno", None), getattr(node, "col_offset", None))


def _locate(error: ExpressionError, node: ast.AST) -> None:
    """Give a location-less error (raised by a helper) the location of ``node``."""
    if error.lineno is None:
        error.lineno = getattr(node, "lineno", None)
        error.col = getattr(node, "col_offset", None)


# --------------------------------------------------------------------------
# What specs may reach
# --------------------------------------------------------------------------

_ALLOWED_MODULE_NAMES = (
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.nn.init",
    "torch.optim",
    "torch.autograd",
    "torch.autograd.graph",
    "torch.autograd.functional",
    "torch.autograd.forward_ad",
    "torch.cuda",
    "torch.linalg",
    "torch.fft",
    "torch.special",
    "torch.testing",
    "numpy",
    "numpy.linalg",
)


def _import_optional(name: str) -> Optional[types.ModuleType]:
    try:
        return importlib.import_module(name)
    except Exception:  # pragma: no cover - depends on the installed torch
        return None


# id -> module; the values keep the modules (and so their ids) alive.
_ALLOWED_MODULES: Dict[int, types.ModuleType] = {}
for _name in _ALLOWED_MODULE_NAMES:
    _module = _import_optional(_name)
    if isinstance(_module, types.ModuleType):
        _ALLOWED_MODULES[id(_module)] = _module
del _name, _module

_ALLOWED_MODULES_TEXT = ", ".join(_ALLOWED_MODULE_NAMES)

# Attribute names refused on any object, statically.  They reach files,
# processes, the interpreter, code generation, or process-wide settings.
_DENIED_ATTRIBUTES = frozenset(
    {
        # files and serialization
        "format", "format_map", "tofile", "dump", "dumps", "save", "load", "loads",
        "savez", "savez_compressed", "savetxt", "loadtxt", "fromfile", "from_file",
        "memmap", "genfromtxt", "fromregex", "DataSource", "serialization",
        "PyTorchFileReader", "PyTorchFileWriter", "ScriptModuleSerializer",
        "SerializationStorageContext", "DeserializationStorageContext",
        # code loading / generation
        "compile", "hub", "jit", "ops", "classes", "library", "load_library",
        "import_module", "import_ir_module", "import_ir_module_from_buffer",
        "CompilationUnit", "fx", "export", "onnx", "package",
        # native code, processes, interpreter
        "ctypes", "ctypeslib", "system", "popen", "open", "exec", "eval",
        "getattr", "setattr", "delattr", "globals", "locals", "vars",
        "multiprocessing", "distributed", "prepare_multiprocessing_environment",
        "utils", "profiler", "backends", "lib", "distutils", "f2py", "lookfor",
        "test",
        # process-wide settings
        "set_printoptions", "set_default_tensor_type", "set_default_dtype",
        "set_default_device",
        # frames and code objects (generators, tracebacks)
        "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await",
        "ag_frame", "ag_code", "ag_await", "f_back", "f_globals", "f_locals",
        "f_builtins", "f_code", "tb_frame", "tb_next", "func_globals", "func_code",
    }
)


def _build_denied_callables() -> Tuple[Dict[int, object], FrozenSet[Tuple[type, str]]]:
    objects: List[object] = []
    by_owner = [
        (
            torch,
            (
                "load", "save", "compile", "from_file", "set_default_dtype",
                "set_default_device", "set_default_tensor_type", "set_printoptions",
                "use_deterministic_algorithms", "import_ir_module",
                "import_ir_module_from_buffer",
            ),
        ),
        (
            np,
            (
                "load", "save", "savez", "savez_compressed", "savetxt", "loadtxt",
                "genfromtxt", "fromfile", "memmap", "fromregex", "set_printoptions",
                "DataSource", "lookfor",
            ),
        ),
        (
            builtins,
            (
                "eval", "exec", "compile", "open", "__import__", "getattr", "setattr",
                "delattr", "globals", "locals", "vars", "input", "breakpoint", "help",
            ),
        ),
    ]
    for owner, names in by_owner:
        for name in names:
            obj = getattr(owner, name, None)
            if obj is not None:
                objects.append(obj)
    methods = set()
    by_class = [
        (getattr(torch, "UntypedStorage", None), ("from_file",)),
        (getattr(torch, "TypedStorage", None), ("from_file",)),
        (getattr(torch, "_StorageBase", None), ("from_file",)),
        (np.ndarray, ("tofile", "dump", "dumps")),
    ]
    for cls, names in by_class:
        if not isinstance(cls, type):
            continue
        for name in names:
            methods.add((cls, name))
            obj = getattr(cls, name, None)
            if obj is not None:
                objects.append(obj)
    return {id(obj): obj for obj in objects}, frozenset(methods)


_DENIED_CALLABLE_IDS, _DENIED_METHODS = _build_denied_callables()


def _is_denied(fn: object) -> bool:
    """Whether calling ``fn`` (or holding it) is refused."""
    if id(fn) in _DENIED_CALLABLE_IDS:
        return True
    if isinstance(fn, types.MethodType):
        return id(fn.__func__) in _DENIED_CALLABLE_IDS or _denied_method(fn.__self__, fn.__func__)
    if isinstance(fn, types.BuiltinMethodType):
        owner = fn.__self__
        if owner is None or isinstance(owner, types.ModuleType):
            return False
        return _denied_method(owner, fn)
    return False


def _denied_method(owner: object, fn: object) -> bool:
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return False
    cls = owner if isinstance(owner, type) else type(owner)
    key = (cls, name)
    denied = _DENIED_METHOD_CACHE.get(key)
    if denied is None:
        denied = any((klass, name) in _DENIED_METHODS for klass in getattr(cls, "__mro__", ()))
        if len(_DENIED_METHOD_CACHE) >= _DENIED_METHOD_CACHE_SIZE:
            _DENIED_METHOD_CACHE.clear()
        _DENIED_METHOD_CACHE[key] = denied
    return denied


# (class, method name) -> whether the MRO walk above finds a denied method. A spec calls the
# same few methods on every example, and the answer depends only on the class and the name
# (_DENIED_METHODS is fixed, and a spec cannot reassign a class's __bases__).
_DENIED_METHOD_CACHE: Dict[Tuple[type, str], bool] = {}
_DENIED_METHOD_CACHE_SIZE = 4096


def _describe(value: object) -> str:
    """A short dotted name for error messages (torch.ones, ndarray.tofile, ...)."""
    name = getattr(value, "__name__", None)
    if not isinstance(name, str):
        return type(value).__name__
    owner = getattr(value, "__self__", None)
    if owner is not None and not isinstance(owner, types.ModuleType):
        cls = owner if isinstance(owner, type) else type(owner)
        return f"{cls.__name__}.{name}"
    module = getattr(value, "__module__", None)
    if isinstance(module, str) and module != "builtins":
        return f"{module}.{name}"
    return name


_FORBIDDEN_VALUE_TYPES = (types.FrameType, types.CodeType, types.TracebackType)
# File objects and loggers (a logger's handlers hold streams) are refused too:
# allowed modules import a few of them (torch.autograd.graph.log, ...).
_IO_VALUE_TYPES = (io.IOBase, logging.Logger, logging.Handler, logging.Manager, logging.LoggerAdapter)


# Exact types whose instances are never a module, frame, code object, traceback, file or
# logging object, nor one of the denied callables (those are functions, methods and classes):
# _check_value returns them at once. A subclass of any of them still gets every check.
_PLAIN_VALUE_TYPES = frozenset(
    {
        type(None), bool, int, float, complex, str, bytes, tuple, list, dict, set, frozenset, slice, range,
        torch.Tensor, torch.nn.Parameter, torch.Size, torch.dtype, torch.device,
        np.ndarray, np.bool_, np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8,
    }
)


def _check_value(value: Any, node: Optional[ast.AST]) -> Any:
    """Refuse values a spec must never hold; return ``value`` otherwise."""
    if type(value) in _PLAIN_VALUE_TYPES:
        return value
    if isinstance(value, types.ModuleType):
        if id(value) not in _ALLOWED_MODULES:
            name = getattr(value, "__name__", "this module")
            raise _at(
                node,
                f"{name} is a module outside the allowed set ({_ALLOWED_MODULES_TEXT}); "
                "use functions from those modules only",
            )
    elif isinstance(value, _FORBIDDEN_VALUE_TYPES):
        raise _at(node, f"{type(value).__name__} objects are not allowed in specs")
    elif isinstance(value, _IO_VALUE_TYPES):
        raise _at(node, f"file and logging objects ({type(value).__name__}) are not allowed in specs")
    elif _is_denied(value):
        raise _at(
            node,
            f"{_describe(value)} is not allowed in specs "
            "(it can reach files, processes or the interpreter)",
        )
    return value


def _check_settable(obj: Any, node: Optional[ast.AST]) -> None:
    if isinstance(
        obj,
        (
            types.ModuleType,
            type,
            types.FunctionType,
            types.BuiltinFunctionType,
            types.MethodType,
            _Namespace,
        ),
    ):
        raise _at(
            node,
            f"cannot assign attributes of a module or class in a spec (got {_describe(obj)}); "
            "assign a spec variable or an attribute of a tensor or module instance instead",
        )


# --------------------------------------------------------------------------
# Resource checks
# --------------------------------------------------------------------------

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
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if matmul:
            if a.dim() >= 2 and b.dim() >= 2:
                batch = max(na // max(a.shape[-2] * a.shape[-1], 1), nb // max(b.shape[-2] * b.shape[-1], 1))
                _too_many(batch * a.shape[-2] * b.shape[-1], "the matrix product")
        elif a.shape != b.shape:
            try:
                shape = torch.broadcast_shapes(a.shape, b.shape)
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


def _build_factory_estimators() -> Dict[int, Tuple[object, Callable[[tuple, dict], Optional[float]]]]:
    table = {
        torch: {
            "zeros": _est_shape,
            "ones": _est_shape,
            "empty": _est_shape,
            "rand": _est_shape,
            "randn": _est_shape,
            "full": _est_first,
            "randint": _est_randint,
            "arange": _est_arange,
            "range": _est_arange,
            "linspace": _est_steps,
            "logspace": _est_steps,
            "eye": _est_eye,
            "randperm": lambda a, k: _index(a[0]) if a else _index(k.get("n")),
            "outer": _est_product,
            "ger": _est_product,
            "kron": _est_product,
            "cartesian_prod": _est_product,
        },
        np: {
            "zeros": lambda a, k: _est_first(a, k, "shape"),
            "ones": lambda a, k: _est_first(a, k, "shape"),
            "empty": lambda a, k: _est_first(a, k, "shape"),
            "full": lambda a, k: _est_first(a, k, "shape"),
            "arange": lambda a, k: _est_arange(a, k, "stop"),
            "linspace": lambda a, k: _est_steps(a, k, "num", 50),
            "logspace": lambda a, k: _est_steps(a, k, "num", 50),
            "eye": lambda a, k: _est_eye(a, k, "N", "M"),
            "identity": lambda a, k: _est_eye(a[:1], {}, "n", "n") if a else _est_eye((k.get("n"),), {}),
            "outer": _est_product,
            "kron": _est_product,
        },
    }
    estimators = {}
    for owner, functions in table.items():
        for name, estimator in functions.items():
            fn = getattr(owner, name, None)
            if fn is not None:
                estimators[id(fn)] = (fn, estimator)
    return estimators


_FACTORY_ESTIMATORS = _build_factory_estimators()


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


_TENSOR_ALLOCATING_METHODS = frozenset({"new_ones", "new_zeros", "new_empty", "new_full", "repeat", "tile"})

_COMBINING_FUNCTIONS = {
    id(fn): fn
    for fn in (
        getattr(torch, name, None)
        for name in ("cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack",
                     "column_stack", "row_stack", "block_diag")
    )
    if fn is not None
}
_COMBINING_FUNCTIONS.update(
    {
        id(fn): fn
        for fn in (getattr(np, name, None) for name in ("concatenate", "stack", "hstack", "vstack", "dstack"))
        if fn is not None
    }
)

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


def _check_call(fn: Any, args: tuple, kwargs: dict, node: ast.AST, frame: "_Frame") -> tuple:
    """Run-time checks before a call; returns the (possibly materialized) args."""
    if _is_denied(fn):
        raise _at(
            node,
            f"calling {_describe(fn)} is not allowed in specs "
            "(it can reach files, processes or the interpreter)",
        )
    entry = _FACTORY_ESTIMATORS.get(id(fn))
    if entry is not None and entry[0] is fn:
        try:
            count = entry[1](args, kwargs)
        except BudgetExceeded:
            raise
        except Exception:
            count = None
        _too_many(count, f"{_describe(fn)}(...)")
    if isinstance(fn, type) and issubclass(fn, torch.nn.Module):
        _too_many(_module_size(args, kwargs), f"{fn.__name__}(...)")
    owner = getattr(fn, "__self__", None) if isinstance(fn, (types.BuiltinMethodType, types.MethodType)) else None
    total = _numel(owner)
    if isinstance(owner, torch.Tensor):
        name = getattr(fn, "__name__", "")
        if name in _TENSOR_ALLOCATING_METHODS:
            try:
                count = _est_tensor_method(name, owner, args, kwargs)
            except Exception:
                count = None
            _too_many(count, f"Tensor.{name}(...)")
    elif isinstance(owner, (str, bytes, bytearray)):
        args = _check_string_method(owner, getattr(fn, "__name__", ""), args, kwargs)
    for arg in args:
        total += _numel(arg)
    for arg in kwargs.values():
        total += _numel(arg)
    if id(fn) in _COMBINING_FUNCTIONS and _COMBINING_FUNCTIONS[id(fn)] is fn:
        for arg in args:
            if isinstance(arg, (list, tuple)):
                _spend_many(frame, len(arg), node)
                for item in arg:
                    total += _numel(item)
    _too_many(total if total > MAX_ELEMENTS else None, "the operands of this call")
    return args


# --------------------------------------------------------------------------
# Predefined names
# --------------------------------------------------------------------------


class _Namespace:
    """A read-only bag of values (used for ``math``)."""

    __slots__ = ("_label", "_values")

    def __init__(self, label: str, values: Mapping[str, object]):
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, attr: str) -> object:
        try:
            return self._values[attr]
        except KeyError:
            raise AttributeError(f"{self._label} has no attribute {attr!r}") from None

    def __setattr__(self, attr: str, value: object) -> None:
        raise AttributeError(f"{self._label} is read-only")

    def __delattr__(self, attr: str) -> None:
        raise AttributeError(f"{self._label} is read-only")

    def __dir__(self) -> List[str]:
        return sorted(self._values)

    def __repr__(self) -> str:
        return f"<namespace {self._label}: {', '.join(sorted(self._values))}>"


def _safe_range(*args: Any) -> range:
    r = builtins.range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = None
    if n is None or n > MAX_RANGE:
        raise BudgetExceeded(
            f"range() with {'too many' if n is None else n} elements exceeds the limit of {MAX_RANGE}"
        )
    return r


def _safe_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is not None:
        return builtins.pow(base, exp, mod)
    _check_pow(base, exp)
    return builtins.pow(base, exp)


def _safe_sum(iterable: Any, start: Any = 0) -> Any:
    if isinstance(start, (list, tuple, str, bytes, bytearray)):
        raise BudgetExceeded(
            "sum() with a sequence start value is quadratic and not allowed in specs; use a comprehension"
        )
    return builtins.sum(iterable, start)


def _parses_as_python(text: Any) -> bool:
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


def _safe_type(obj: Any) -> type:
    """type(x) for specs: the one-argument form only (the three-argument form builds classes)."""
    return builtins.type(obj)


def _safe_hasattr(obj: Any, name: Any) -> bool:
    """hasattr for specs: names starting with '_' are refused, like attribute access."""
    if not isinstance(name, str) or name.startswith("_"):
        raise ExpressionError("hasattr() takes a public attribute name (not starting with '_')")
    return builtins.hasattr(obj, name)


# Data loading for specs (issue 13; names for the allowlist: DataLoader, TensorDataset).
# torch.utils stays denied. These give the in-process part of torch.utils.data: DataLoader(...)
# iterates a real torch.utils.data.DataLoader with num_workers=0 and returns the list of its
# batches, so no loader object (whose num_workers a spec could change) and no worker process
# ever exists; it accepts only a TensorDataset of tensors.
def _tensor_dataset(*tensors: Any) -> Any:
    from torch.utils.data import TensorDataset

    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise ExpressionError("TensorDataset() takes one or more tensors")
    return TensorDataset(*tensors)


def _data_loader(dataset: Any, batch_size: Any = 1, shuffle: Any = False, drop_last: Any = False) -> list:
    from torch.utils.data import DataLoader, TensorDataset

    if not isinstance(dataset, TensorDataset):
        raise ExpressionError("DataLoader() takes a TensorDataset(...) (loading happens in-process)")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_RANGE:
        raise ExpressionError(f"DataLoader() batch_size must be an int from 1 to {MAX_RANGE}")
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=bool(shuffle), drop_last=bool(drop_last),
                        num_workers=0)
    return list(loader)


for _fn, _label in ((_safe_range, "range"), (_safe_pow, "pow"), (_safe_sum, "sum"), (_safe_hasattr, "hasattr"), (_safe_type, "type"),
                    (_parses_as_python, "parses_as_python"), (_tensor_dataset, "TensorDataset"),
                    (_data_loader, "DataLoader")):
    _fn.__name__ = _label
    _fn.__qualname__ = _label
del _fn, _label

_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "callable", "dict", "divmod", "enumerate", "filter",
    "float", "int", "isinstance", "issubclass", "len", "list", "map", "max", "min",
    "repr", "reversed", "round", "set", "slice", "sorted", "str", "tuple", "zip",
    # exceptions and warnings (for raises:/warns: claims and isinstance checks)
    "Exception", "ArithmeticError", "AttributeError", "IndexError", "KeyError",
    "LookupError", "NotImplementedError", "RuntimeError", "TypeError", "ValueError",
    "ZeroDivisionError", "Warning", "UserWarning", "DeprecationWarning",
    "FutureWarning", "RuntimeWarning",
)

_MATH = _Namespace(
    "math",
    {
        name: getattr(_math, name)
        for name in ("isclose", "isnan", "isinf", "isfinite", "sqrt", "exp", "log",
                     "floor", "ceil", "pi", "e", "inf", "nan")
    },
)


def _build_global_names() -> Mapping[str, object]:
    names: Dict[str, object] = {
        "torch": torch,
        "nn": torch.nn,
        "F": torch.nn.functional,
        "optim": torch.optim,
        "np": np,
        "math": _MATH,
        "range": _safe_range,
        "pow": _safe_pow,
        "sum": _safe_sum,
        "hasattr": _safe_hasattr,
        "type": _safe_type,
        "parses_as_python": _parses_as_python,
        "TensorDataset": _tensor_dataset,  # issue 13: in-process data loading (see above)
        "DataLoader": _data_loader,
    }
    for name in _BUILTIN_NAMES:
        names[name] = getattr(builtins, name)
    return MappingProxyType(names)


GLOBAL_NAMES: Mapping[str, object] = _build_global_names()

# Builtins a spec author might reach for, with a pointed message.
_DANGEROUS_BUILTINS = frozenset(
    {"eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals",
     "locals", "vars", "input", "breakpoint", "help", "memoryview", "exit", "quit"}
)


def _grad_mode_types() -> tuple:
    found = []
    for owner, name in (
        (torch, "no_grad"),
        (torch, "enable_grad"),
        (torch, "set_grad_enabled"),
        (torch, "inference_mode"),
        (getattr(torch.autograd, "graph", None), "saved_tensors_hooks"),
        (torch.autograd, "detect_anomaly"),
        (torch.autograd, "set_detect_anomaly"),
    ):
        cls = getattr(owner, name, None) if owner is not None else None
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)


_GRAD_MODE_TYPES = _grad_mode_types()
_WITH_MESSAGE = (
    "'with' only accepts torch grad-mode context managers (torch.no_grad(), torch.enable_grad(), "
    "torch.set_grad_enabled(mode), torch.inference_mode(), "
    "torch.autograd.graph.saved_tensors_hooks(pack, unpack), torch.autograd.detect_anomaly(), "
    "torch.autograd.set_detect_anomaly(mode))"
)


# --------------------------------------------------------------------------
# Run-time state
# --------------------------------------------------------------------------


class _Budget:
    __slots__ = ("left", "limit")

    def __init__(self, limit: int):
        self.left = limit
        self.limit = limit


class _Frame:
    """What compiled closures see: env, local variables, budget."""

    __slots__ = ("env", "vars", "parent", "budget")

    def __init__(self, env: Any, local_vars: Optional[dict], parent: Optional["_Frame"], budget: _Budget):
        self.env = env
        self.vars = local_vars
        self.parent = parent
        self.budget = budget


def _over_budget(budget: _Budget, node: Optional[ast.AST]) -> BudgetExceeded:
    return _at(
        node,
        f"this spec code exceeded the evaluation budget of {budget.limit} steps "
        "(node evaluations and loop iterations); use smaller loops",
        BudgetExceeded,
    )


def _spend(frame: _Frame, node: ast.AST) -> None:
    budget = frame.budget
    budget.left -= 1
    if budget.left < 0:
        raise _over_budget(budget, node)


def _spend_many(frame: _Frame, steps: int, node: ast.AST) -> None:
    budget = frame.budget
    budget.left -= steps
    if budget.left < 0:
        raise _over_budget(budget, node)


_STATE = threading.local()


def _acquire_budget(limit: Optional[int]) -> Tuple[_Budget, bool]:
    current = getattr(_STATE, "budget", None)
    if current is not None:
        return current, False
    budget = _Budget(DEFAULT_BUDGET if limit is None else int(limit))
    _STATE.budget = budget
    return budget, True


def _release_budget() -> None:
    _STATE.budget = None


def _run_top(body: Callable[[_Frame], Any], env: Any, budget_limit: Optional[int]) -> Any:
    budget, owned = _acquire_budget(budget_limit)
    try:
        return body(_Frame(env, None, None, budget))
    except RecursionError:
        if not owned:
            raise
        raise BudgetExceeded("spec code recursed too deeply; it exceeded the evaluation budget") from None
    finally:
        if owned:
            _release_budget()


# --------------------------------------------------------------------------
# Operator tables
# --------------------------------------------------------------------------

_BINOPS: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.MatMult: operator.matmul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.BitAnd: operator.and_,
}

_INPLACE_OPS: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd,
    ast.Sub: operator.isub,
    ast.Mult: operator.imul,
    ast.MatMult: operator.imatmul,
    ast.Div: operator.itruediv,
    ast.FloorDiv: operator.ifloordiv,
    ast.Mod: operator.imod,
    ast.Pow: operator.ipow,
    ast.LShift: operator.ilshift,
    ast.RShift: operator.irshift,
    ast.BitOr: operator.ior,
    ast.BitXor: operator.ixor,
    ast.BitAnd: operator.iand,
}

_UNARYOPS: Dict[type, Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
    ast.Not: operator.not_,
    ast.Invert: operator.invert,
}

_COMPAREOPS: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def _make_binop(op_type: type, fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``fn`` wrapped with the resource checks that apply to ``op_type``."""
    if op_type is ast.Mult:

        def apply(a, b):
            _check_mult(a, b)
            _check_binop_operands(a, b)
            return fn(a, b)

    elif op_type is ast.Pow:

        def apply(a, b):
            _check_pow(a, b)
            _check_binop_operands(a, b)
            return fn(a, b)

    elif op_type is ast.LShift:

        def apply(a, b):
            _check_lshift(a, b)
            _check_binop_operands(a, b)
            return fn(a, b)

    elif op_type is ast.Mod:

        def apply(a, b):
            if isinstance(a, (str, bytes, bytearray)):
                _check_printf(a)
            _check_binop_operands(a, b)
            return fn(a, b)

    elif op_type is ast.MatMult:

        def apply(a, b):
            _check_binop_operands(a, b, matmul=True)
            return fn(a, b)

    else:

        def apply(a, b):
            _check_binop_operands(a, b)
            return fn(a, b)

    return apply


# Readable names for constructs that are refused.
_REFUSED = {
    "JoinedStr": "f-strings are not allowed in specs; use str() and +",
    "FormattedValue": "f-strings are not allowed in specs; use str() and +",
    "NamedExpr": "assignment expressions (:=) are not allowed in specs; use a separate assignment",
    "Await": "'await' is not allowed in specs",
    "Yield": "'yield' is not allowed in specs",
    "YieldFrom": "'yield from' is not allowed in specs",
    "Import": "import statements are not allowed in specs; use the predefined names torch, nn, F, optim, np, math",
    "ImportFrom": "import statements are not allowed in specs; use the predefined names torch, nn, F, optim, np, math",
    "FunctionDef": "function definitions (def) are not allowed in specs; use a lambda",
    "AsyncFunctionDef": "function definitions (async def) are not allowed in specs; use a lambda",
    "ClassDef": "class definitions are not allowed in specs",
    "Return": "'return' is not allowed in specs",
    "Delete": "'del' is not allowed in specs",
    "Global": "'global' is not allowed in specs",
    "Nonlocal": "'nonlocal' is not allowed in specs",
    "While": "'while' loops are not allowed in specs; use 'for ... in range(n)'",
    "Try": "'try' statements are not allowed in specs",
    "TryStar": "'try' statements are not allowed in specs",
    "Raise": "'raise' is not allowed in specs",
    "Assert": "'assert' is not allowed in specs; state the expectation as a claim",
    "AsyncFor": "'async for' is not allowed in specs",
    "AsyncWith": "'async with' is not allowed in specs",
    "Match": "'match' statements are not allowed in specs; use if/elif/else",
    "Break": "'break' is not allowed in specs",
    "Continue": "'continue' is not allowed in specs",
    "AnnAssign": "annotated assignments are not allowed in specs; drop the annotation",
    "TypeAlias": "'type' statements are not allowed in specs",
}


def _is_module_like(value: object) -> bool:
    return isinstance(value, (types.ModuleType, _Namespace))


# --------------------------------------------------------------------------
# The compiler
# --------------------------------------------------------------------------

Closure = Callable[[_Frame], Any]
Setter = Callable[[_Frame, Any], None]
_NO_VALUE = object()


class _Compiler:
    """Static checks + translation of one snippet into closures."""

    def __init__(self, source: str, known: Iterable[str]):
        if isinstance(known, str):
            known = [known]
        self.source = source
        self.known = frozenset(known)
        self.bound: set = set()  # env names bound earlier in this block
        self.scopes: List[set] = []  # lambda / comprehension locals, innermost last
        self.reads: set = set()
        self.assigns: set = set()

    # ---- dispatch -------------------------------------------------------

    def expr(self, node: ast.AST) -> Closure:
        method = getattr(self, "_e_" + type(node).__name__, None)
        if method is None:
            raise self._refused(node)
        return method(node)

    def stmt(self, node: ast.AST) -> Closure:
        method = getattr(self, "_s_" + type(node).__name__, None)
        if method is None:
            raise self._refused(node)
        return method(node)

    def block(self, nodes: List[ast.stmt]) -> Closure:
        steps = [self.stmt(n) for n in nodes]
        if len(steps) == 1:
            return steps[0]

        def run(frame: _Frame) -> None:
            for step in steps:
                step(frame)

        return run

    @staticmethod
    def _refused(node: ast.AST) -> ExpressionError:
        kind = type(node).__name__
        message = _REFUSED.get(kind)
        if message is None:
            if isinstance(node, ast.stmt):
                message = f"{kind} statements are not allowed in specs"
            else:
                message = f"{kind} expressions are not allowed in specs"
        return _at(node, message)

    # ---- names ----------------------------------------------------------

    @staticmethod
    def _check_identifier(name: str, node: ast.AST, what: str = "names") -> None:
        if name.startswith("_") and (name != "_" or what == "attributes"):
            raise _at(node, f"names starting with '_' are not allowed in specs ({name!r})")

    @staticmethod
    def _check_attribute_name(attr: str, node: ast.AST) -> None:
        if attr.startswith("_"):
            raise _at(node, f"names starting with '_' are not allowed in specs ({attr!r})")
        if attr in _DENIED_ATTRIBUTES:
            raise _at(
                node,
                f"attribute {attr!r} is not allowed in specs "
                "(it can reach files, processes or the interpreter)",
            )

    def _local_depth(self, name: str) -> Optional[int]:
        for depth, scope in enumerate(reversed(self.scopes)):
            if name in scope:
                return depth
        return None

    def _resolves_to_global(self, name: str) -> bool:
        return (
            self._local_depth(name) is None
            and name not in self.bound
            and name not in self.known
            and name in GLOBAL_NAMES
        )

    def _static_object(self, node: ast.AST) -> Tuple[bool, Any, str]:
        """Resolve ``torch.autograd.graph`` style chains statically.

        Returns (found, object, dotted name).  Only chains rooted at a global
        name and walking through modules are resolved; anything else is left
        to run time.  Raises for unknown names and disallowed modules.
        """
        if isinstance(node, ast.Name):
            if self._resolves_to_global(node.id):
                return True, GLOBAL_NAMES[node.id], node.id
            return False, None, ""
        if isinstance(node, ast.Attribute):
            found, base, dotted = self._static_object(node.value)
            if not found or not _is_module_like(base):
                return False, None, ""
            self._check_attribute_name(node.attr, node)
            name = f"{dotted}.{node.attr}"
            missing = object()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    value = getattr(base, node.attr, missing)
                except Exception:
                    value = missing
            if value is missing:
                raise _at(node, f"unknown name {name}; check the spelling")
            if isinstance(value, types.ModuleType) and id(value) not in _ALLOWED_MODULES:
                raise _at(
                    node,
                    f"{name} is a module outside the allowed set ({_ALLOWED_MODULES_TEXT}); "
                    "use functions from those modules only",
                )
            if isinstance(value, _FORBIDDEN_VALUE_TYPES + _IO_VALUE_TYPES):
                _check_value(value, node)  # raises, naming the kind of object
            if _is_denied(value):
                raise _at(
                    node,
                    f"{name} is not allowed in specs (it can reach files, processes or the interpreter)",
                )
            return True, value, name
        return False, None, ""

    def _e_Name(self, node: ast.Name) -> Closure:
        name = node.id
        self._check_identifier(name, node)
        depth = self._local_depth(name)
        if depth is not None:
            return self._local_lookup(node, name, depth)
        if name in self.bound:
            pass
        elif name in self.known:
            self.reads.add(name)
        elif name in GLOBAL_NAMES:
            pass
        elif name in _DANGEROUS_BUILTINS:
            raise _at(
                node,
                f"name {name!r} is not available in specs (it can reach files, processes or the interpreter)",
            )
        else:
            raise _at(
                node,
                f"undefined name {name!r}; define it under given: or assign it in an earlier step",
            )
        fallback = GLOBAL_NAMES.get(name, _NO_VALUE)

        def lookup(frame: _Frame) -> Any:
            _spend(frame, node)
            try:
                return frame.env[name]
            except KeyError:
                if fallback is not _NO_VALUE:
                    return fallback
            raise _at(node, f"undefined name {name!r} (it was not assigned when this line ran)")

        return lookup

    @staticmethod
    def _local_lookup(node: ast.AST, name: str, depth: int) -> Closure:
        def lookup(frame: _Frame) -> Any:
            _spend(frame, node)
            scope = frame
            for _ in range(depth):
                scope = scope.parent
            try:
                return scope.vars[name]
            except KeyError:
                raise _at(node, f"undefined name {name!r} (it was not assigned when this line ran)") from None

        return lookup

    # ---- simple expressions ----------------------------------------------

    def _e_Constant(self, node: ast.Constant) -> Closure:
        value = node.value

        def constant(frame: _Frame) -> Any:
            _spend(frame, node)
            return value

        return constant

    def _e_Attribute(self, node: ast.Attribute) -> Closure:
        if not isinstance(node.ctx, ast.Load):
            raise self._refused(node)
        value = self.expr(node.value)  # inner problems first: they come first in the source
        attr = node.attr
        self._check_attribute_name(attr, node)
        self._static_object(node)  # compile-time resolution of module chains

        def attribute(frame: _Frame) -> Any:
            _spend(frame, node)
            obj = _check_value(value(frame), node)
            return _check_value(getattr(obj, attr), node)

        return attribute

    def _e_Subscript(self, node: ast.Subscript) -> Closure:
        if not isinstance(node.ctx, ast.Load):
            raise self._refused(node)
        value = self.expr(node.value)
        index = self.expr(node.slice)

        def subscript(frame: _Frame) -> Any:
            _spend(frame, node)
            obj = value(frame)
            return _check_value(obj[index(frame)], node)

        return subscript

    def _e_Slice(self, node: ast.Slice) -> Closure:
        parts = [self.expr(p) if p is not None else None for p in (node.lower, node.upper, node.step)]

        def make_slice(frame: _Frame) -> slice:
            _spend(frame, node)
            return slice(*(p(frame) if p is not None else None for p in parts))

        return make_slice

    def _e_BinOp(self, node: ast.BinOp) -> Closure:
        op_type = type(node.op)
        apply = _make_binop(op_type, _BINOPS[op_type])
        left = self.expr(node.left)
        right = self.expr(node.right)

        def binop(frame: _Frame) -> Any:
            _spend(frame, node)
            a = left(frame)
            b = right(frame)
            try:
                return apply(a, b)
            except ExpressionError as error:
                _locate(error, node)
                raise

        return binop

    def _e_UnaryOp(self, node: ast.UnaryOp) -> Closure:
        fn = _UNARYOPS[type(node.op)]
        operand = self.expr(node.operand)

        def unary(frame: _Frame) -> Any:
            _spend(frame, node)
            return fn(operand(frame))

        return unary

    def _e_BoolOp(self, node: ast.BoolOp) -> Closure:
        values = [self.expr(v) for v in node.values]
        is_and = isinstance(node.op, ast.And)

        head, last = values[:-1], values[-1]

        def boolop(frame: _Frame) -> Any:
            _spend(frame, node)
            for value in head:  # like Python, the last operand is returned untested
                result = value(frame)
                if is_and:
                    if not result:
                        return result
                elif result:
                    return result
            return last(frame)

        return boolop

    def _e_Compare(self, node: ast.Compare) -> Closure:
        left = self.expr(node.left)
        ops = [_COMPAREOPS[type(op)] for op in node.ops]
        rights = [self.expr(c) for c in node.comparators]
        pairs = list(zip(ops, rights))
        if len(pairs) == 1:  # `a > b` on tensors gives a tensor: no truth test, as in Python
            (single_op, single_right), = pairs

            def compare_one(frame: _Frame) -> Any:
                _spend(frame, node)
                return single_op(left(frame), single_right(frame))

            return compare_one

        def compare(frame: _Frame) -> Any:
            _spend(frame, node)
            a = left(frame)
            result: Any = True
            for op, right in pairs:
                b = right(frame)
                result = op(a, b)
                if not result:
                    return result
                a = b
            return result

        return compare

    def _e_IfExp(self, node: ast.IfExp) -> Closure:
        test, body, orelse = self.expr(node.test), self.expr(node.body), self.expr(node.orelse)

        def ifexp(frame: _Frame) -> Any:
            _spend(frame, node)
            return body(frame) if test(frame) else orelse(frame)

        return ifexp

    def _e_Starred(self, node: ast.Starred) -> Closure:
        raise _at(node, "starred expressions are only allowed in calls, displays and assignment targets")

    # ---- displays ---------------------------------------------------------

    def _elements(self, elts: List[ast.expr]) -> Callable[[_Frame], list]:
        parts = [
            (True, self.expr(e.value)) if isinstance(e, ast.Starred) else (False, self.expr(e))
            for e in elts
        ]

        def build(frame: _Frame) -> list:
            out: list = []
            for starred, part in parts:
                if starred:
                    out.extend(part(frame))
                else:
                    out.append(part(frame))
            return out

        return build

    def _e_Tuple(self, node: ast.Tuple) -> Closure:
        if not isinstance(node.ctx, ast.Load):
            raise self._refused(node)
        build = self._elements(node.elts)

        def make(frame: _Frame) -> tuple:
            _spend(frame, node)
            return tuple(build(frame))

        return make

    def _e_List(self, node: ast.List) -> Closure:
        if not isinstance(node.ctx, ast.Load):
            raise self._refused(node)
        build = self._elements(node.elts)

        def make(frame: _Frame) -> list:
            _spend(frame, node)
            return build(frame)

        return make

    def _e_Set(self, node: ast.Set) -> Closure:
        build = self._elements(node.elts)

        def make(frame: _Frame) -> set:
            _spend(frame, node)
            return set(build(frame))

        return make

    def _e_Dict(self, node: ast.Dict) -> Closure:
        parts = [
            (self.expr(k) if k is not None else None, self.expr(v)) for k, v in zip(node.keys, node.values)
        ]

        def make(frame: _Frame) -> dict:
            _spend(frame, node)
            out: dict = {}
            for key, value in parts:
                if key is None:
                    out.update(value(frame))
                else:
                    k = key(frame)
                    out[k] = value(frame)
            return out

        return make

    # ---- calls ------------------------------------------------------------

    def _e_Call(self, node: ast.Call) -> Closure:
        func = self.expr(node.func)
        args = self._elements(node.args)
        keywords: List[Tuple[Optional[str], Closure]] = []
        for kw in node.keywords:
            if kw.arg is not None:
                self._check_identifier(kw.arg, kw, "attributes")
            keywords.append((kw.arg, self.expr(kw.value)))

        def call(frame: _Frame) -> Any:
            _spend(frame, node)
            fn = func(frame)
            positional = tuple(args(frame))
            named: Dict[str, Any] = {}
            for name, value in keywords:
                if name is None:
                    mapping = value(frame)
                    for key in mapping.keys():
                        if not isinstance(key, str):
                            raise TypeError("keywords must be strings")
                        if key.startswith("_"):
                            raise _at(node, f"names starting with '_' are not allowed in specs ({key!r})")
                        if key in named:
                            raise TypeError(f"got multiple values for keyword argument {key!r}")
                        named[key] = mapping[key]
                else:
                    if name in named:
                        raise TypeError(f"got multiple values for keyword argument {name!r}")
                    named[name] = value(frame)
            try:
                positional = _check_call(fn, positional, named, node, frame)
                result = fn(*positional, **named)
            except ExpressionError as error:
                _locate(error, node)
                raise
            except RecursionError:
                # Converting may itself hit the limit; then an outer call converts.
                raise _at(node, "spec code recursed too deeply; it exceeded the evaluation budget",
                          BudgetExceeded) from None
            return _check_value(result, node)

        return call

    # ---- lambdas and comprehensions ----------------------------------------

    def _e_Lambda(self, node: ast.Lambda) -> Closure:
        spec = node.args
        if (
            getattr(spec, "posonlyargs", None)
            or spec.vararg
            or spec.kwonlyargs
            or spec.kwarg
            or spec.defaults
            or any(d is not None for d in spec.kw_defaults)
        ):
            raise _at(
                node,
                "lambdas in specs take plain positional parameters only (no defaults, *args, "
                "keyword-only parameters or **kwargs)",
            )
        params = [a.arg for a in spec.args]
        for a in spec.args:
            self._check_identifier(a.arg, a)
        self.scopes.append(set(params))
        try:
            body = self.expr(node.body)
        finally:
            self.scopes.pop()
        signature = inspect.Signature(
            [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]
        )
        count = len(params)

        def make_lambda(frame: _Frame) -> Callable[..., Any]:
            _spend(frame, node)
            env = frame.env

            def spec_lambda(*args: Any, **kwargs: Any) -> Any:
                if len(args) > count:
                    raise TypeError(f"<lambda>() takes {count} positional arguments but {len(args)} were given")
                values = dict(zip(params, args))
                for key, val in kwargs.items():
                    if key not in params or key in values:
                        raise TypeError(f"<lambda>() got an unexpected or repeated argument {key!r}")
                    values[key] = val
                if len(values) != count:
                    missing = [p for p in params if p not in values]
                    raise TypeError(f"<lambda>() missing arguments: {', '.join(missing)}")
                budget, owned = _acquire_budget(None)
                try:
                    return body(_Frame(env, values, frame, budget))
                except RecursionError:
                    if not owned:
                        raise
                    raise BudgetExceeded("spec lambda recursed too deeply") from None
                finally:
                    if owned:
                        _release_budget()

            spec_lambda.__signature__ = signature  # type: ignore[attr-defined]
            spec_lambda.__name__ = spec_lambda.__qualname__ = "<lambda>"
            return spec_lambda

        return make_lambda

    def _comprehension(
        self, node: ast.AST, generators: List[ast.comprehension], elements: Callable[[], Any]
    ) -> Tuple[Closure, Callable[[_Frame], Any], Any]:
        """Compile the generators of a comprehension.

        Returns (first iterable, driver, compiled elements) where ``driver(frame,
        first)`` yields once per produced element, with targets bound in the
        comprehension frame it passes along.
        """
        for gen in generators:
            if gen.is_async:
                raise _at(node, "'async for' is not allowed in specs")
        first = self.expr(generators[0].iter)
        scope: set = set()
        self.scopes.append(scope)
        try:
            levels = []
            for i, gen in enumerate(generators):
                iterable = first if i == 0 else self.expr(gen.iter)
                setter = self._local_target(gen.target, scope)
                conditions = [self.expr(c) for c in gen.ifs]
                levels.append((iterable, setter, conditions))
            compiled = elements()
        finally:
            self.scopes.pop()
        depth = len(levels)

        def drive(frame: _Frame, level: int, iterable: Any):
            _, setter, conditions = levels[level]
            for item in iterable:
                _spend(frame, node)
                setter(frame, _check_value(item, node))
                if all(cond(frame) for cond in conditions):
                    if level + 1 == depth:
                        yield frame
                    else:
                        yield from drive(frame, level + 1, levels[level + 1][0](frame))

        def start(outer: _Frame, first_value: Any):
            inner = _Frame(outer.env, {}, outer, outer.budget)
            return drive(inner, 0, first_value)

        return first, start, compiled

    def _e_ListComp(self, node: ast.ListComp) -> Closure:
        first, start, element = self._comprehension(node, node.generators, lambda: self.expr(node.elt))

        def listcomp(frame: _Frame) -> list:
            _spend(frame, node)
            return [element(inner) for inner in start(frame, iter(first(frame)))]

        return listcomp

    def _e_SetComp(self, node: ast.SetComp) -> Closure:
        first, start, element = self._comprehension(node, node.generators, lambda: self.expr(node.elt))

        def setcomp(frame: _Frame) -> set:
            _spend(frame, node)
            return {element(inner) for inner in start(frame, iter(first(frame)))}

        return setcomp

    def _e_GeneratorExp(self, node: ast.GeneratorExp) -> Closure:
        first, start, element = self._comprehension(node, node.generators, lambda: self.expr(node.elt))

        def genexp(frame: _Frame):
            _spend(frame, node)
            return (element(inner) for inner in start(frame, iter(first(frame))))

        return genexp

    def _e_DictComp(self, node: ast.DictComp) -> Closure:
        first, start, pair = self._comprehension(
            node, node.generators, lambda: (self.expr(node.key), self.expr(node.value))
        )
        key, value = pair

        def dictcomp(frame: _Frame) -> dict:
            _spend(frame, node)
            out = {}
            for inner in start(frame, iter(first(frame))):
                k = key(inner)
                out[k] = value(inner)
            return out

        return dictcomp

    # ---- assignment targets -------------------------------------------------

    def _local_target(self, target: ast.AST, scope: set) -> Setter:
        """Targets of comprehensions: names (or tuples of names) in the comprehension frame."""
        if isinstance(target, ast.Name):
            self._check_identifier(target.id, target)
            scope.add(target.id)
            name = target.id

            def set_local(frame: _Frame, value: Any) -> None:
                frame.vars[name] = value

            return set_local
        if isinstance(target, (ast.Tuple, ast.List)):
            return self._unpacker(target, [self._local_target(e, scope) if not isinstance(e, ast.Starred)
                                           else self._local_target(e.value, scope) for e in target.elts])
        raise _at(target, "comprehension variables must be plain names or tuples of names")

    def _target(self, target: ast.AST) -> Setter:
        """Targets of assignments, for loops and with-as, bound in the environment."""
        if isinstance(target, ast.Name):
            name = target.id
            self._check_identifier(name, target)
            self.bound.add(name)
            self.assigns.add(name)

            def set_name(frame: _Frame, value: Any) -> None:
                frame.env[name] = value

            return set_name
        if isinstance(target, ast.Attribute):
            attr = target.attr
            self._check_attribute_name(attr, target)
            obj = self.expr(target.value)
            self._static_settable(target.value)

            def set_attribute(frame: _Frame, value: Any) -> None:
                owner = obj(frame)
                _check_settable(owner, target)
                setattr(owner, attr, value)

            return set_attribute
        if isinstance(target, ast.Subscript):
            obj = self.expr(target.value)
            index = self.expr(target.slice)

            def set_item(frame: _Frame, value: Any) -> None:
                owner = obj(frame)
                owner[index(frame)] = value

            return set_item
        if isinstance(target, (ast.Tuple, ast.List)):
            setters = [self._target(e.value if isinstance(e, ast.Starred) else e) for e in target.elts]
            return self._unpacker(target, setters)
        if isinstance(target, ast.Starred):
            raise _at(target, "a starred assignment target must be inside a tuple or list")
        raise self._refused(target)

    def _static_settable(self, node: ast.AST) -> None:
        found, obj, dotted = self._static_object(node)
        if found and isinstance(obj, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
                                      types.MethodType, _Namespace)):
            raise _at(
                node,
                f"cannot assign attributes of a module or class in a spec ({dotted}); "
                "assign a spec variable or an attribute of a tensor or module instance instead",
            )

    @staticmethod
    def _unpacker(target: ast.AST, setters: List[Setter]) -> Setter:
        elts = target.elts  # type: ignore[attr-defined]
        starred = [i for i, e in enumerate(elts) if isinstance(e, ast.Starred)]
        if len(starred) > 1:
            raise _at(target, "only one starred target is allowed in an unpacking")
        star = starred[0] if starred else None
        count = len(setters)

        def unpack(frame: _Frame, value: Any) -> None:
            items = list(value)
            if star is None:
                if len(items) != count:
                    raise ValueError(f"cannot unpack {len(items)} values into {count} targets")
                parts = items
            else:
                after = count - star - 1
                if len(items) < count - 1:
                    raise ValueError(f"not enough values to unpack (expected at least {count - 1}, got {len(items)})")
                parts = items[:star] + [items[star:len(items) - after]] + items[len(items) - after:]
            for setter, item in zip(setters, parts):
                setter(frame, _check_value(item, target))

        return unpack

    # ---- statements ---------------------------------------------------------

    def _s_Expr(self, node: ast.Expr) -> Closure:
        value = self.expr(node.value)

        def expression_statement(frame: _Frame) -> None:
            value(frame)

        return expression_statement

    def _s_Pass(self, node: ast.Pass) -> Closure:
        def pass_(frame: _Frame) -> None:
            _spend(frame, node)

        return pass_

    def _s_Assign(self, node: ast.Assign) -> Closure:
        value = self.expr(node.value)
        setters = [self._target(t) for t in node.targets]

        def assign(frame: _Frame) -> None:
            _spend(frame, node)
            result = value(frame)
            for setter in setters:
                setter(frame, result)

        return assign

    def _s_AugAssign(self, node: ast.AugAssign) -> Closure:
        op_type = type(node.op)
        apply = _make_binop(op_type, _INPLACE_OPS[op_type])
        target = node.target
        if isinstance(target, ast.Name):
            load = self._e_Name(ast.copy_location(ast.Name(id=target.id, ctx=ast.Load()), target))
            value = self.expr(node.value)
            store = self._target(target)

            def augassign_name(frame: _Frame) -> None:
                _spend(frame, node)
                current = load(frame)
                try:
                    result = apply(current, value(frame))
                except ExpressionError as error:
                    _locate(error, node)
                    raise
                store(frame, result)

            return augassign_name
        if isinstance(target, ast.Attribute):
            attr = target.attr
            self._check_attribute_name(attr, target)
            obj = self.expr(target.value)
            self._static_settable(target.value)
            value = self.expr(node.value)

            def augassign_attribute(frame: _Frame) -> None:
                _spend(frame, node)
                owner = _check_value(obj(frame), target)
                _check_settable(owner, target)
                current = _check_value(getattr(owner, attr), target)
                try:
                    result = apply(current, value(frame))
                except ExpressionError as error:
                    _locate(error, node)
                    raise
                setattr(owner, attr, result)

            return augassign_attribute
        if isinstance(target, ast.Subscript):
            obj = self.expr(target.value)
            index = self.expr(target.slice)
            value = self.expr(node.value)

            def augassign_item(frame: _Frame) -> None:
                _spend(frame, node)
                owner = obj(frame)
                key = index(frame)
                current = _check_value(owner[key], target)
                try:
                    result = apply(current, value(frame))
                except ExpressionError as error:
                    _locate(error, node)
                    raise
                owner[key] = result

            return augassign_item
        raise self._refused(target)

    def _s_If(self, node: ast.If) -> Closure:
        test = self.expr(node.test)
        body = self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None

        def if_(frame: _Frame) -> None:
            _spend(frame, node)
            if test(frame):
                body(frame)
            elif orelse is not None:
                orelse(frame)

        return if_

    def _s_For(self, node: ast.For) -> Closure:
        if node.orelse:
            raise _at(node.orelse[0], "'for ... else' is not allowed in specs")
        iterable = self.expr(node.iter)
        setter = self._target(node.target)
        body = self.block(node.body)

        def for_(frame: _Frame) -> None:
            _spend(frame, node)
            for item in iterable(frame):
                _spend(frame, node)
                setter(frame, _check_value(item, node))
                body(frame)

        return for_

    def _static_with_check(self, expr: ast.expr) -> None:
        shown = ast.get_source_segment(self.source, expr) or type(expr).__name__
        if len(shown) > 60:
            shown = shown[:57] + "..."
        callee = expr.func if isinstance(expr, ast.Call) else None
        if isinstance(callee, ast.Name) and self._local_depth(callee.id) is None and not (
            callee.id in self.bound or callee.id in self.known or callee.id in GLOBAL_NAMES
        ):
            raise _at(expr, f"{_WITH_MESSAGE}; got {shown}")
        found, obj, _ = self._static_object(callee if callee is not None else expr)
        if not found:
            return
        if callee is None or not (isinstance(obj, type) and issubclass(obj, _GRAD_MODE_TYPES)):
            raise _at(expr, f"{_WITH_MESSAGE}; got {shown}")

    def _s_With(self, node: ast.With) -> Closure:
        items = []
        for item in node.items:
            self._static_with_check(item.context_expr)
            manager = self.expr(item.context_expr)
            setter = None
            if item.optional_vars is not None:
                if not isinstance(item.optional_vars, ast.Name):
                    raise _at(item.optional_vars, "'with ... as' needs a plain name")
                setter = self._target(item.optional_vars)
            items.append((manager, setter, item.context_expr))
        body = self.block(node.body)

        def with_(frame: _Frame) -> None:
            _spend(frame, node)
            with contextlib.ExitStack() as stack:
                for manager, setter, expr in items:
                    cm = manager(frame)
                    if not isinstance(cm, _GRAD_MODE_TYPES):
                        raise _at(expr, f"{_WITH_MESSAGE}; got a {type(cm).__name__}")
                    entered = stack.enter_context(cm)
                    if setter is not None:
                        setter(frame, entered)
                body(frame)

        return with_


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _parse(src: str, mode: str) -> ast.AST:
    if not isinstance(src, str):
        raise ExpressionError(f"spec code must be a string, got {type(src).__name__}")
    if len(src) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"spec code is longer than {MAX_SOURCE_CHARS} characters; split it up")
    try:
        return ast.parse(src, mode=mode)
    except SyntaxError as error:
        col = error.offset - 1 if isinstance(error.offset, int) and error.offset > 0 else None
        raise ExpressionError(f"invalid syntax: {error.msg}", error.lineno, col) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("spec code is nested too deeply") from None
    except ValueError as error:  # e.g. null bytes on older Pythons
        raise ExpressionError(f"invalid syntax: {error}") from None


def _compile_guarded(build: Callable[[], Any]) -> Any:
    try:
        return build()
    except RecursionError:
        raise ExpressionError("spec code is nested too deeply") from None


class Compiled:
    """A compiled spec expression.  Call it with the environment dict."""

    __slots__ = ("source", "names", "_fn")

    def __init__(self, source: str, fn: Closure, names: FrozenSet[str]):
        self.source = source
        self.names = names
        self._fn = fn

    def __call__(self, env: Dict[str, Any], *, budget: Optional[int] = None) -> Any:
        """Evaluate with ``env`` (read first, then GLOBAL_NAMES).

        ``budget`` overrides DEFAULT_BUDGET when no other run is active on this thread.
        """
        return _run_top(self._fn, env, budget)

    def __repr__(self) -> str:
        return f"Compiled({self.source!r})"


class CompiledBlock:
    """A compiled block of spec statements.  ``run(env)`` executes it, mutating env."""

    __slots__ = ("source", "reads", "assigns", "statements", "_fn")

    def __init__(
        self,
        source: str,
        fn: Closure,
        reads: FrozenSet[str],
        assigns: FrozenSet[str],
        statements: List[Tuple[int, str]],
    ):
        self.source = source
        self.reads = reads
        self.assigns = assigns
        self.statements = statements
        self._fn = fn

    def run(self, env: Dict[str, Any], *, budget: Optional[int] = None) -> None:
        """Execute the block with ``env``; assignments are written into ``env``."""
        _run_top(self._fn, env, budget)

    def __repr__(self) -> str:
        return f"CompiledBlock({self.source!r})"


def compile_expression(src: str, known: Iterable[str]) -> Compiled:
    """Parse ``src`` as one expression and compile it.

    ``known`` names the spec variables that the environment will hold at run
    time.  Raises ExpressionError for anything outside the spec language.
    ``.names`` of the result is the set of free names it reads from the
    environment (a subset of ``known``; predefined names like ``torch`` are not
    listed unless ``known`` shadows them).
    """
    tree = _parse(src, "eval")
    compiler = _Compiler(src, known)
    fn = _compile_guarded(lambda: compiler.expr(tree.body))  # type: ignore[attr-defined]
    return Compiled(src, fn, frozenset(compiler.reads))


def compile_block(src: str, known: Iterable[str]) -> CompiledBlock:
    """Parse ``src`` as statements and compile them.

    ``.reads``: free names read from the environment before the block binds
    them (a subset of ``known``).  ``.assigns``: names the block binds in the
    environment (assignment, augmented assignment, for and with-as targets, at
    any nesting level of if/for/with, but not lambda or comprehension
    variables).  ``.statements``: (line, source text) of each top-level statement.
    """
    tree = _parse(src, "exec")
    compiler = _Compiler(src, known)
    body = tree.body  # type: ignore[attr-defined]
    steps = _compile_guarded(lambda: [compiler.stmt(s) for s in body])

    def run(frame: _Frame) -> None:
        for step in steps:
            step(frame)

    statements = [(s.lineno, ast.get_source_segment(src, s) or "") for s in body]
    return CompiledBlock(src, run, frozenset(compiler.reads), frozenset(compiler.assigns), statements)
