"""Parsing-time checks and the translation of spec expressions into closures.

Note [Restricted expressions]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
Spec text is never passed to eval(), exec() or compile().  It is parsed with ``ast.parse``
(which runs nothing) and a small compiler walks the tree: each node type has a method, and a
node type without one (f-strings, ``:=``, ``import``, ``def``, ``class``, ``while``, ``try``,
``yield`` ...) is refused with a message naming the construct, so a construct added to Python
later is refused until someone writes a method for it.  While walking, the compiler checks
every name, attribute and keyword against the allowlist (Note [Positive allowlist]): no name,
attribute, keyword or dict key starting with '_' (so no dunder anywhere), every module chain
resolved against the table, every other attribute listed for some class.  Each node becomes a
Python closure over a ``Frame`` (Note [Budgets and deadlines]); running a spec means calling
those closures, which repeat at run time what could not be checked statically: the attribute
against the class of the object actually held, the callee against the allowlist and its cost
estimate (Note [Limits]), ``with`` against the exact context manager types.
"""
from __future__ import annotations

import ast
import inspect
import types
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from . import allowlist, limits, table
from .builtins_safe import DANGEROUS_BUILTINS, GLOBAL_NAMES
from .errors import REFUSED as _REFUSED, BudgetExceeded, ExpressionError, at as _at, locate as _locate
from .runtime import produced as _produced
from .runtime import (BINOPS as _BINOPS, COMPAREOPS as _COMPAREOPS, UNARYOPS as _UNARYOPS, Frame as _Frame,
                      acquire_budget as _acquire_budget, make_binop as _make_binop,
                      release_budget as _release_budget, spend as _spend, spend_many as _spend_many, unary as _unary_checked)

Closure = Callable[[_Frame], Any]
Setter = Callable[[_Frame, Any], None]
_NO_VALUE = object()
_KNOWN_ATTRIBUTES = allowlist.ALL_ATTRIBUTES | frozenset(table.ABSENT)


def _check_key(key: Any, node: Optional[ast.AST]) -> Any:
    if isinstance(key, str) and key.startswith("_"):
        raise _at(node, f"dict keys starting with '_' are not allowed in specs ({key[:40]!r})")
    return key


def _decorate(manager: Any, args: tuple, kwargs: dict) -> Any:
    """``torch.no_grad()(f)`` for a spec lambda ``f``: the wrapper is a spec callable too."""
    if kwargs or len(args) != 1 or args[0] not in allowlist.SPEC_CALLABLES:
        raise ExpressionError(f"a {type(manager).__name__} instance may only decorate a spec lambda")
    wrapped = manager(args[0])
    allowlist.SPEC_CALLABLES.add(wrapped)
    return wrapped


def _check_value(value: Any, node: Optional[ast.AST]) -> Any:
    """Refuse values a spec must never hold (modules outside the table, frames, code); return ``value``."""
    if isinstance(value, types.ModuleType) and id(value) not in allowlist.MODULE_NAMES:
        raise _at(node, f"{getattr(value, '__name__', 'this module')} is a module outside the allowlist")
    if isinstance(value, (types.FrameType, types.CodeType, types.TracebackType)):
        raise _at(node, f"{type(value).__name__} objects are not allowed in specs")
    return value


class ExpressionCompiler:
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
        self.with_calls: set = set()  # ids of Call nodes that are the context expression of a with

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
    def _check_attribute_name(attr: str, node: ast.AST, module: Optional[str] = None) -> None:
        if attr.startswith("_"):
            raise _at(node, f"names starting with '_' are not allowed in specs ({attr!r})")
        if module is None and attr not in _KNOWN_ATTRIBUTES:
            raise _at(node, f"attribute {attr!r} is not on the spec language's allowlist (see "
                            f"docs/spec-language.md){allowlist.nearest(attr, _KNOWN_ATTRIBUTES)}")

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
            if not found or not allowlist.is_module_like(base):
                return False, None, ""
            module = allowlist.MODULE_NAMES.get(id(base))
            self._check_attribute_name(node.attr, node, module)
            try:
                value = allowlist.module_member(module, node.attr)[0]
            except ExpressionError as error:
                raise _at(node, error.message) from None
            return True, value, f"{dotted}.{node.attr}"
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
        elif name in DANGEROUS_BUILTINS:
            raise _at(
                node,
                f"name {name!r} is not available in specs (it can reach files, processes or the interpreter)",
            )
        else:
            visible = set(GLOBAL_NAMES) | self.known | self.bound
            raise _at(
                node,
                f"undefined name {name!r}; define it under given: or assign it in an earlier step"
                f"{allowlist.nearest(name, visible)}",
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
        found, base, _ = self._static_object(node.value)
        if found and allowlist.is_module_like(base):
            self._static_object(node)  # compile-time resolution of module chains
        else:
            self._check_attribute_name(attr, node)

        def attribute(frame: _Frame) -> Any:
            _spend(frame, node)
            obj = value(frame)
            try:
                return _check_value(allowlist.get_attribute(obj, attr), node)
            except ExpressionError as error:
                _locate(error, node)
                raise

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
                return _produced(frame, apply(a, b), node)
            except ExpressionError as error:
                _locate(error, node)
                raise

        return binop

    def _e_UnaryOp(self, node: ast.UnaryOp) -> Closure:
        fn = _unary_checked(_UNARYOPS[type(node.op)])
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

        for k in node.keys:
            if isinstance(k, ast.Constant):
                _check_key(k.value, k)

        def make(frame: _Frame) -> dict:
            _spend(frame, node)
            out: dict = {}
            for key, value in parts:
                if key is None:
                    out.update(value(frame))
                else:
                    k = _check_key(key(frame), node)
                    out[k] = value(frame)
            return out

        return make

    # ---- calls ------------------------------------------------------------

    def _e_Call(self, node: ast.Call) -> Closure:
        in_with = id(node) in self.with_calls
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
                cost = allowlist.call_cost(fn, in_with)
                if cost == "decorator":
                    result = _decorate(fn, positional, named)
                else:
                    owner = getattr(fn, "__self__", None)
                    unbound = allowlist.unbound_class(fn)
                    if unbound is not None:  # Tensor.add(x, y): x must be a Tensor, and is the owner
                        if not positional or not isinstance(positional[0], unbound):
                            raise ExpressionError(f"{unbound.__name__}.{getattr(fn, '__name__', '')} needs a "
                                                  f"{unbound.__name__} as its first argument")
                        owner = positional[0]
                        positional = (owner,) + limits.check_call(cost, fn, owner, positional[1:], named)
                    elif cost != "noncallable":
                        positional = limits.check_call(cost, fn, owner, positional, named)
                    result = fn(*positional, **named)
            except ExpressionError as error:
                _locate(error, node)
                raise
            except RecursionError:
                # Converting may itself hit the limit; then an outer call converts.
                raise _at(node, "spec code recursed too deeply; it exceeded the evaluation budget",
                          BudgetExceeded) from None
            return _produced(frame, _check_value(result, node), node)

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
            allowlist.SPEC_CALLABLES.add(spec_lambda)
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
                k = _check_key(key(inner), node)
                out[k] = value(inner)
            return out

        return dictcomp

