"""Statements of the spec language (assignment, if, for, with), and the public compile functions.

Note [Statement blocks]
~~~~~~~~~~~~~~~~~~~~~~~
A step is a block of statements compiled by ``SpecCompiler`` (the expression compiler plus the
statement methods).  Assignment targets are spec variables (written into the environment),
attributes listed in ``table.SETTABLE`` and items of objects the spec holds; ``for`` loops spend
one step per iteration; ``with`` accepts only the context managers listed with cost
``context``/``withonly``, checked statically by name and at run time by *exact* type (a
subclass's ``__exit__`` could skip the restore), and ``withonly`` constructors may only be
called right there.  There is no ``while``, ``try``, ``def``, ``class``, ``return``, ``del``,
``import`` or ``global``.
"""
from __future__ import annotations

import ast
import contextlib
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple

from . import allowlist, limits
from .builtins_safe import GLOBAL_NAMES
from .compiler import Closure, ExpressionCompiler, Setter, _check_key, _check_value
from .errors import ExpressionError, at as _at, locate as _locate
from .runtime import Frame as _Frame, INPLACE_OPS as _INPLACE_OPS, make_binop as _make_binop, run_top as _run_top
from .runtime import spend as _spend

_WITH_MESSAGE = (
    "'with' only accepts the grad-mode context managers of the allowlist (torch.no_grad(), "
    "torch.enable_grad(), torch.set_grad_enabled(mode), torch.inference_mode(), "
    "torch.autograd.graph.saved_tensors_hooks(pack, unpack), torch.autograd.detect_anomaly(), "
    "torch.autograd.set_detect_anomaly(mode)), by exact type"
)


class SpecCompiler(ExpressionCompiler):
    """Static checks + translation of one snippet (expression or statements) into closures."""

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
            if attr.startswith("_"):
                self._check_attribute_name(attr, target)
            obj = self.expr(target.value)
            self._static_settable(target.value, attr)

            def set_attribute(frame: _Frame, value: Any) -> None:
                owner = obj(frame)
                try:
                    allowlist.check_settable(owner, attr)
                except ExpressionError as error:
                    _locate(error, target)
                    raise
                setattr(owner, attr, value)

            return set_attribute
        if isinstance(target, ast.Subscript):
            obj = self.expr(target.value)
            index = self.expr(target.slice)

            def set_item(frame: _Frame, value: Any) -> None:
                owner = obj(frame)
                owner[_check_key(index(frame), target)] = value

            return set_item
        if isinstance(target, (ast.Tuple, ast.List)):
            setters = [self._target(e.value if isinstance(e, ast.Starred) else e) for e in target.elts]
            return self._unpacker(target, setters)
        if isinstance(target, ast.Starred):
            raise _at(target, "a starred assignment target must be inside a tuple or list")
        raise self._refused(target)

    def _static_settable(self, node: ast.AST, attr: str) -> None:
        found, obj, dotted = self._static_object(node)
        if found or attr not in allowlist.ALL_SETTABLE:
            shown = dotted or (ast.get_source_segment(self.source, node) or "this object")[:40]
            raise _at(node, f"cannot assign {attr!r} of {shown} in a spec; assignable attributes are "
                            f"{', '.join(sorted(allowlist.ALL_SETTABLE))} (of tensors and modules), "
                            "or spec variables")

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
            if attr.startswith("_"):
                self._check_attribute_name(attr, target)
            obj = self.expr(target.value)
            self._static_settable(target.value, attr)
            value = self.expr(node.value)

            def augassign_attribute(frame: _Frame) -> None:
                _spend(frame, node)
                owner = _check_value(obj(frame), target)
                try:
                    allowlist.check_settable(owner, attr)
                    current = allowlist.get_attribute(owner, attr)
                except ExpressionError as error:
                    _locate(error, target)
                    raise
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
        if callee is None or obj not in allowlist.CONTEXT_TYPES:
            raise _at(expr, f"{_WITH_MESSAGE}; got {shown}")

    def _s_With(self, node: ast.With) -> Closure:
        items = []
        for item in node.items:
            self._static_with_check(item.context_expr)
            if isinstance(item.context_expr, ast.Call):
                self.with_calls.add(id(item.context_expr))
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
                    if type(cm) not in allowlist.CONTEXT_TYPES:
                        raise _at(expr, f"{_WITH_MESSAGE}; got a {type(cm).__name__}")
                    entered = stack.enter_context(cm)
                    if setter is not None:
                        setter(frame, entered)
                body(frame)

        return with_


def _parse(src: str, mode: str) -> ast.AST:
    if not isinstance(src, str):
        raise ExpressionError(f"spec code must be a string, got {type(src).__name__}")
    if len(src) > limits.MAX_SOURCE_CHARS:
        raise ExpressionError(f"spec code is longer than {limits.MAX_SOURCE_CHARS} characters; split it up")
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
    compiler = SpecCompiler(src, known)
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
    compiler = SpecCompiler(src, known)
    body = tree.body  # type: ignore[attr-defined]
    steps = _compile_guarded(lambda: [compiler.stmt(s) for s in body])

    def run(frame: _Frame) -> None:
        for step in steps:
            step(frame)

    statements = [(s.lineno, ast.get_source_segment(src, s) or "") for s in body]
    return CompiledBlock(src, run, frozenset(compiler.reads), frozenset(compiler.assigns), statements)
