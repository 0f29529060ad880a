"""The allowlist table resolved against the installed torch and NumPy, and the checks that use it.

Note [Positive allowlist]
~~~~~~~~~~~~~~~~~~~~~~~~~
A spec reaches objects in three ways only: a predefined name (``torch``, ``len`` ...), an
attribute of an object it holds, and the result of a call.  Each is checked against the table
(Note [The allowlist table]); anything not listed is refused, so a route nobody thought of
(``type`` building a class, a NumPy protocol method, a helper importing by module name) is
closed because nobody listed it, not because someone denied it.

  * Module attributes are looked up in the table by dotted name and the *table's* object is
    returned: ``getattr`` never runs on a module, so a module's lazy ``__getattr__`` (which
    imports submodules) is never triggered.
  * Other attributes are allowed per class: the attribute must be listed for a class in the
    object's MRO (``torch.Tensor``, ``torch.nn.Module`` ...).  An object of a class that is in
    no category has no attributes at all for a spec.  ``torch.nn.Module`` instances also expose
    their registered parameters, buffers and submodules.
  * A call is allowed for a listed callable (by identity), a method whose name is listed for its
    owner's class, a spec lambda, an ``nn.Module`` instance, and a grad-mode context manager used
    as a decorator of a spec lambda.  A class listed with cost ``type`` may be named but not
    called (``np.ndarray(shape, buffer=...)`` would give raw memory).  ``withonly`` entries (the
    constructor itself flips global state) may only be called as the expression of a ``with``.
  * Attribute assignment is allowed for the names in SETTABLE, per class.
Static checks at compile time use the same table, so most refusals come before anything runs,
with the nearest allowed names (``difflib``).
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import math
import types
import weakref
from typing import Any, Dict, FrozenSet, Optional, Tuple

import numpy as np
import torch
from packaging.version import Version

from . import table
from .errors import ExpressionError

MISSING = object()

TORCH_VERSION = Version(torch.__version__.split("+")[0])


class Namespace:
    """A read-only bag of values (used for ``math``)."""

    __slots__ = ("_label", "_values")

    def __init__(self, label: str, values: Dict[str, object]):
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

    def __repr__(self) -> str:
        return f"<namespace {self._label}>"


MATH = Namespace("math", {name: getattr(math, name) for name in table.MATH})


def _resolve(dotted: str) -> object:
    """The object a dotted table name stands for, or MISSING (never imports beyond MODULES)."""
    for root in sorted(table.MODULES + ("math",), key=len, reverse=True):
        if dotted == root:
            return MATH if root == "math" else importlib.import_module(root)
        if dotted.startswith(root + "."):
            owner: Any = MATH if root == "math" else importlib.import_module(root)
            for part in dotted[len(root) + 1:].split("."):
                try:
                    owner = inspect.getattr_static(owner, part)
                except AttributeError:
                    return MISSING
            return owner
    return MISSING


def floor_of(name: str) -> Optional[Version]:
    floor = table.FLOORS.get(name)
    return Version(floor) if floor else None


def _entries() -> Dict[str, Tuple[object, str]]:
    out: Dict[str, Tuple[object, str]] = {}
    for topic in table.NAMES.values():
        for dotted, cost in topic.items():
            value = _resolve(dotted)
            if value is MISSING:
                floor = floor_of(dotted)
                if floor is not None and TORCH_VERSION < floor:
                    continue
                raise RuntimeError(f"allowlist entry {dotted} does not exist on torch {torch.__version__}")
            out[dotted] = (value, cost)
    return out


NAMES: Dict[str, Tuple[object, str]] = _entries()
MODULE_NAMES: Dict[int, str] = {id(MATH): "math"}
for _name in table.MODULES:
    MODULE_NAMES[id(importlib.import_module(_name))] = _name
MODULE_OBJECTS = {name: importlib.import_module(name) for name in table.MODULES}

# id -> (object, dotted name, cost) for every listed object that can be called or named.
BY_ID: Dict[int, Tuple[object, str, str]] = {}
for _name, (_value, _cost) in NAMES.items():
    if not isinstance(_value, (int, float, str, bool, torch.dtype)):
        BY_ID.setdefault(id(_value), (_value, _name, _cost))



BUILTIN_COSTS: Dict[str, str] = {name: cost for topic in table.BUILTINS.values() for name, cost in topic.items()}
for _name in table.MATH:
    _value = getattr(math, _name)
    if callable(_value):
        BY_ID.setdefault(id(_value), (_value, f"math.{_name}", "free"))


def _category_class(dotted: str) -> Optional[type]:
    if dotted == "autograd graph node":
        return None
    module, _, name = dotted.rpartition(".")
    try:
        value = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return value if isinstance(value, type) else None


CATEGORIES: Dict[str, Tuple[Optional[type], Dict[str, str]]] = {}
for _cat, _topics in table.ATTRIBUTES.items():
    _attrs: Dict[str, str] = {}
    for _topic in _topics.values():
        _attrs.update(_topic)
    CATEGORIES[_cat] = (_category_class(_cat), _attrs)

ALL_ATTRIBUTES: FrozenSet[str] = frozenset(a for _, attrs in CATEGORIES.values() for a in attrs)
SETTABLE_CLASSES = {cls: frozenset(table.SETTABLE.get(cat, ())) for cat, (cls, _) in CATEGORIES.items() if cls}
ALL_SETTABLE = frozenset(a for names in table.SETTABLE.values() for a in names)


def _is_graph_node(cls: type) -> bool:
    node = getattr(getattr(torch.autograd, "graph", None), "Node", None)
    if isinstance(node, type):
        try:
            if issubclass(cls, node):
                return True
        except TypeError:
            pass
    return cls.__module__ == "builtins" and hasattr(cls, "next_functions") and hasattr(cls, "register_hook")


_TYPE_CACHE: Dict[type, Dict[str, str]] = {}


def attributes_of(cls: type) -> Dict[str, str]:
    """The attributes (name -> cost) a spec may use on instances of ``cls``."""
    found = _TYPE_CACHE.get(cls)
    if found is None:
        found = {}
        mro = getattr(cls, "__mro__", (cls,))
        for cat, (klass, attrs) in CATEGORIES.items():
            if klass is not None and klass in mro:
                found.update(attrs)
        if _is_graph_node(cls):
            found.update(CATEGORIES["autograd graph node"][1])
        if len(_TYPE_CACHE) < 4096:
            _TYPE_CACHE[cls] = found
    return found


def settable_on(cls: type) -> FrozenSet[str]:
    out: set = set()
    for klass, names in SETTABLE_CLASSES.items():
        if klass in getattr(cls, "__mro__", ()):
            out |= names
    return frozenset(out)


# Unbound methods reached through a listed class (``torch.Tensor.detach``) may be called too.
UNBOUND: Dict[int, Tuple[object, str, type]] = {}
for _cat, (_cls, _attrs) in CATEGORIES.items():
    if _cls is None:
        continue
    for _attr, _cost in _attrs.items():
        try:
            _value = inspect.getattr_static(_cls, _attr)
        except AttributeError:
            continue
        if callable(_value) and not isinstance(_value, type):
            UNBOUND.setdefault(id(_value), (_value, _cost, _cls))
            _bound = getattr(_cls, _attr, None)
            if _bound is not None:
                UNBOUND.setdefault(id(_bound), (_bound, _cost, _cls))

# Exact types accepted by ``with``; decorator use is allowed for these as well.
CONTEXT_TYPES: FrozenSet[type] = frozenset(
    value for value, cost in NAMES.values() if cost in ("context", "withonly", "gradmode") and isinstance(value, type)
)

# Spec lambdas (and grad-mode decorators wrapping them): callables a spec made itself.
SPEC_CALLABLES: "weakref.WeakSet" = weakref.WeakSet()


def nearest(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=0.6)
    return f"; nearest allowed: {', '.join(close)}" if close else ""


def module_member(module_name: str, attr: str) -> Tuple[object, str]:
    """(value, cost) of ``module.attr`` or raise ExpressionError naming the nearest entries."""
    dotted = f"{module_name}.{attr}"
    entry = NAMES.get(dotted)
    if entry is None and module_name == "math" and attr in table.MATH:
        return getattr(math, attr), "free"
    if entry is None:
        if attr.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed in specs ({attr!r})")
        prefix = module_name + "."
        siblings = [n[len(prefix):] for n in NAMES if n.startswith(prefix) and "." not in n[len(prefix):]]
        if module_name == "math":
            siblings = list(table.MATH)
        raise ExpressionError(f"{dotted} is not on the spec language's allowlist (see docs/spec-language.md)"
                              f"{nearest(attr, siblings)}")
    module = MODULE_OBJECTS.get(module_name)
    if module is not None:  # the current value: a mutant (conformance.mutants) may have replaced it
        return inspect.getattr_static(module, attr, entry[0]), entry[1]
    return entry


def describe(value: object) -> str:
    entry = BY_ID.get(id(value))
    if entry is not None and entry[0] is value:
        return entry[1]
    name = getattr(value, "__name__", None)
    if not isinstance(name, str):
        return f"a {type(value).__name__}"
    owner = getattr(value, "__self__", None)
    if owner is not None and not isinstance(owner, types.ModuleType):
        cls = owner if isinstance(owner, type) else type(owner)
        return f"{cls.__name__}.{name}"
    return name


def is_module_like(value: object) -> bool:
    return isinstance(value, types.ModuleType) or value is MATH


def get_attribute(obj: Any, attr: str) -> Any:
    """``obj.attr`` for a spec, or ExpressionError when the table does not list it."""
    if is_module_like(obj):
        name = MODULE_NAMES.get(id(obj))
        if name is None:
            raise ExpressionError(f"{getattr(obj, '__name__', 'this module')} is not a module specs may use")
        return module_member(name, attr)[0]
    cls = obj if isinstance(obj, type) else type(obj)
    allowed = attributes_of(cls)
    if attr in allowed:
        return getattr(obj, attr)
    if not isinstance(obj, type) and isinstance(obj, torch.nn.Module):
        for table_name in ("_parameters", "_buffers", "_modules"):
            registered = obj.__dict__.get(table_name)
            if registered is not None and attr in registered:
                return registered[attr]
    if attr in table.ABSENT:
        if inspect.getattr_static(obj, attr, MISSING) is MISSING and not isinstance(obj, torch.nn.Module):
            raise AttributeError(f"'{cls.__name__}' object has no attribute '{attr}'")
        raise ExpressionError(f"{cls.__name__}.{attr} exists on this torch but is not on the allowlist")
    raise ExpressionError(f"attribute {attr!r} of a {cls.__name__} is not on the spec language's allowlist"
                          f"{nearest(attr, allowed)}")


def check_settable(obj: Any, attr: str) -> None:
    if isinstance(obj, (type, types.ModuleType, Namespace)) or attr not in settable_on(type(obj)):
        raise ExpressionError(
            f"cannot assign {attr!r} of {describe(obj)} in a spec; assignable attributes are "
            f"{', '.join(sorted(ALL_SETTABLE))} (of tensors and modules), or spec variables")


def unbound_class(fn: Any) -> Optional[type]:
    """The class of an unbound method reached through a listed class (``torch.Tensor.detach``)."""
    entry = UNBOUND.get(id(fn))
    if entry is not None and entry[0] is fn and not isinstance(fn, (types.BuiltinMethodType, types.MethodType)):
        return entry[2]
    return None


def call_cost(fn: Any, in_with: bool) -> str:
    """The cost kind of calling ``fn`` (see table), or ExpressionError when it may not be called."""
    entry = BY_ID.get(id(fn))
    if (entry is None or entry[0] is not fn) and type(fn) is types.FunctionType:
        inner = getattr(fn, "__wrapped__", None)  # a wrapper torch or a mutant put over a listed function
        entry = BY_ID.get(id(inner)) if inner is not None else None
        if entry is not None and entry[0] is not inner:
            entry = None
        if entry is not None:
            entry = (fn, entry[1], entry[2])
    if entry is not None and entry[0] is fn:
        cost = entry[2]
        if cost == "type":
            raise ExpressionError(f"{entry[1]} may be named (isinstance, is) but not called in specs")
        if cost == "withonly" and not in_with:
            raise ExpressionError(f"{entry[1]}(...) changes global state when called; use it only as "
                                  f"'with {entry[1].split('.')[-1]}(...):'")
        return cost
    if fn in SPEC_CALLABLES:
        return "free"
    if isinstance(fn, (types.BuiltinMethodType, types.MethodType)) and not isinstance(
            getattr(fn, "__self__", None), types.ModuleType):
        owner = fn.__self__
        name = getattr(fn, "__name__", "")
        cls = owner if isinstance(owner, type) else type(owner)
        allowed = attributes_of(cls)
        cost = allowed.get(name)
        if cost is not None:
            return cost
        func = getattr(fn, "__func__", None)
        if func is not None:  # a listed method replaced by a plain function (a patched torch, a mutant)
            for attr, attr_cost in allowed.items():
                if inspect.getattr_static(cls, attr, None) is func:
                    return attr_cost
    unbound = UNBOUND.get(id(fn))
    if unbound is not None and unbound[0] is fn:
        return unbound[1]  # the caller checks the first argument's class (unbound_class)
    if isinstance(fn, torch.nn.Module):
        return "free"
    if type(fn) in CONTEXT_TYPES:
        return "decorator"
    if not callable(fn):
        return "noncallable"
    raise ExpressionError(f"calling {describe(fn)} is not allowed in specs (not on the allowlist)")
