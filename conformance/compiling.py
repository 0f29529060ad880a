"""Step 3: compile a validated spec file into runnable claims.

Note [Compiling a claim]
Compiling does, once per claim and before anything runs:
  * checks each source quote against its seed article, when the articles are at hand;
  * picks the steps and expectations whose ``torch:`` range contains the installed torch
    (see Note [Versioned expectations]) and records a label for each ranged entry it kept;
  * compiles every expression and statement block with ``expressions`` (parse, allowlist check,
    closure compilation: nothing is ever eval'd), tracking which names exist at each point, so an
    undefined or misspelt name is an error at its own line before any example is drawn;
  * builds ``GivenPlan``s for the strategies and ``Example``s for the pinned examples.
Every problem becomes a ``SpecError`` at the file, line and key where the author must look; one
claim's problems do not stop the others from being checked, and all are reported together.

Note [Spec helpers]
A spec file's top-level ``helpers:`` is the one place for what several claims share:
  * a name with an expression (usually a lambda, ``printed: "lambda t: ..."``) is compiled once
    per file in the same restricted language, may use ``device`` and the helpers above it, and is
    evaluated into each example's environment before the claim's steps (``running.run_once``),
    so steps, expectations and ``as_stated`` can call it; a ``given`` name may not shadow it;
  * a name with a list of steps is a step list: a step ``{use: NAME}`` (in ``do``,
    ``as_stated.do`` or another step list) is compiled as those steps, in place, with their own
    lines and labels like ``do[0] > code4[2]``; for ``as_stated.reuse`` they count as one entry.
Repro snippets define the expression helpers they need; step lists appear expanded.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable

from packaging.version import Version

from . import expressions
from .language.patterns import UnsafePattern, check_pattern
from .assertions import (Located, check_close, check_equal, check_gradients, check_storage, check_that, expect_exception,
                         expect_no_warning, expect_warning)
from .errors import SpecError, SpecErrors
from .loading import Document, render_path
from .schema import Check, Claim, SpecFile, Step, claim_digest, is_cross
from .strategies import Example, GivenPlan, expand_dtypes, pinned_example
from .verdicts import Refutation
from .versions import applies, parse_specifier

BASE_NAMES = ("device",)


@dataclass
class CompiledStep:
    at: Located
    written: str
    block: Any
    raises: type | None = None
    warns: type | None = None
    no_warning: type | None = None
    match: str | None = None
    index: int = -1  # position of the entry in its spec list (do / as_stated.do)

    def run(self, env: dict) -> None:
        """Run the block, expecting what the step declares: an exception, a warning, no warning or nothing.

        The one dispatch of a step, shared by the claim's run (``running.run_steps``) and the verdict's
        as-stated run (``verdicts``); each caller turns an unexpected exception into its own failure.
        """
        run = lambda: self.block.run(env)  # noqa: E731
        if self.raises is not None:
            expect_exception(self.at, self.written, run, self.raises, self.match)
        elif self.warns is not None:
            expect_warning(self.at, self.written, run, self.warns, self.match)
        elif self.no_warning is not None:
            expect_no_warning(self.at, self.written, run, self.no_warning)
        else:
            run()


@dataclass
class CompiledCheck:
    at: Located
    kind: str
    written: str
    run: Callable[[dict], None]


@dataclass
class CompiledClaim:
    file: str
    line: int
    claim: Claim
    topic: str
    plans: list[GivenPlan]
    steps: list[CompiledStep]
    checks: list[CompiledCheck]
    stated_steps: list[CompiledStep] | None = None
    stated_checks: list[CompiledCheck] | None = None
    refutation: Refutation | None = None
    examples: list[Example] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    helpers: list[tuple[str, str, Any]] = field(default_factory=list)  # (name, source, compiled)

    @property
    def id(self) -> str:
        return self.claim.id

    @cached_property
    def digest(self) -> str:
        """``schema.claim_digest`` of the claim, computed once for all its device items."""
        return claim_digest(self.claim)


class _Compiler:
    def __init__(self, doc: Document, version: Version, seeds_dir: Path | None):
        self.doc, self.version, self.seeds_dir = doc, version, seeds_dir
        self.errors: list[SpecError] = []
        self.step_lists: dict[str, list] = {}  # the file's helpers that are step lists
        self.using: list[str] = []

    # -- helpers --------------------------------------------------------------------------
    def fail(self, path: tuple, message: str) -> SpecError:
        return SpecError(self.doc.file, self.doc.line_of(path), render_path(path), message)

    def expression(self, src: str, path: tuple, known: set, block: bool = False):
        try:
            if block:
                return expressions.compile_block(src, known)
            return expressions.compile_expression(src, known)
        except expressions.ExpressionError as exc:
            base = self.doc.content_line(path) or 1
            line = base + (exc.lineno - 1 if exc.lineno else 0)
            raise SpecError(self.doc.file, line, render_path(path), exc.message) from None

    def exception_class(self, name: str, path: tuple, base: type) -> type:
        what = "an exception" if base is BaseException else "a warning"
        # Only a (dotted) name is evaluated here, at collection time: `1/0` or `10 ** 10 ** 10` never runs.
        if not re.fullmatch(r"[A-Za-z]\w*(\.[A-Za-z]\w*)*", name.strip()):
            example = "RuntimeError" if base is BaseException else "UserWarning"
            raise self.fail(path, f"{name!r} is not the name of {what} class (e.g. {example})")
        try:
            value = self.expression(name.strip(), path, set())({})
        except expressions.ExpressionError as exc:
            raise self.fail(path, exc.message) from None
        if not (isinstance(value, type) and issubclass(value, base)):
            raise self.fail(path, f"{name!r} is not {what} class")
        return value

    def version_ok(self, spec_text: str | None, path: tuple) -> bool:
        if spec_text is None:
            return True
        try:
            parse_specifier(spec_text)
        except ValueError as exc:
            raise self.fail(path, str(exc)) from None
        return applies(spec_text, self.version)

    def syntax_only(self, src: str, path: tuple, mode: str) -> None:
        try:
            ast.parse(src, mode=mode)
        except SyntaxError as exc:
            line = (self.doc.content_line(path) or 1) + ((exc.lineno or 1) - 1)
            raise SpecError(self.doc.file, line, render_path(path), f"invalid syntax: {exc.msg}") from None

    # -- parts ----------------------------------------------------------------------------
    def sources(self, claim: Claim, path: tuple) -> None:
        if self.seeds_dir is None:
            return
        for index, source in enumerate(claim.sources):
            if source.seed is None:  # a documentation page or no source: nothing here to check it against
                continue
            text = _seed_text(self.seeds_dir, source.seed)
            here = path + ("sources", index)
            if text is None:
                raise self.fail(here + ("seed",), f"unknown seed article {source.seed!r} (not found in {self.seeds_dir})")
            if source.quote not in text:
                raise self.fail(here + ("quote",), f"quote not found verbatim in {source.seed}; copy it exactly from the article")

    def given(self, claim: Claim, path: tuple, known: set) -> list[GivenPlan]:
        plans = []
        for name, spec in claim.given.items():
            here = path + ("given", name)
            plan = GivenPlan(name=name, spec=spec, line=self.doc.line_of(here))
            if spec.tensor is not None:
                plan.dtypes = expand_dtypes(spec.tensor.dtype)
                if isinstance(spec.tensor.shape, str):
                    plan.shape_expr = self.expression(spec.tensor.shape, here + ("tensor", "shape"), known)
                if isinstance(spec.tensor.requires_grad, str):
                    plan.requires_grad_expr = self.expression(spec.tensor.requires_grad,
                                                              here + ("tensor", "requires_grad"), known)
                if spec.tensor.device == "other_device" and "other_device" not in known:
                    raise self.fail(here + ("tensor", "device"), "other_device exists only in claims with 'devices: cross'")
            elif spec.expr is not None or spec.module is not None:
                plan.source = spec.expr if spec.expr is not None else spec.module
                plan.expr = self.expression(plan.source, here + (spec.kind,), known)
            known.add(name)
            plans.append(plan)
        return plans

    def steps(self, entries: list, path: tuple, known: set, applied: list[str], prefix: str = "") -> list[CompiledStep]:
        out = []
        for index, entry in enumerate(entries):
            here = path + (index,)
            if isinstance(entry, str) and not entry.strip():  # Step(do="") would raise a pydantic error
                raise self.fail(here, "empty step; write a statement or remove the entry")
            step = entry if isinstance(entry, Step) else Step(do=entry)
            if step.use is not None:
                if self.version_ok(step.torch, here + ("torch",)):
                    out.extend(self.use(step.use, here, known, applied, prefix, index))
                continue
            code_path = here if isinstance(entry, str) else here + ("do",)
            if not self.version_ok(step.torch, here + ("torch",)):
                self.syntax_only(step.do, code_path, "exec")
                continue
            if step.torch is not None:
                applied.append(f"{prefix}{render_path(here[-2:])} torch{step.torch}")
            block = self.expression(step.do, code_path, known, block=True)
            at = Located(prefix + render_path(here[-2:]), self.doc.content_line(code_path))
            compiled = CompiledStep(at=at, written=step.do.strip(), block=block, match=step.match, index=index)
            if step.match is not None:  # Note [Safe patterns]
                try:
                    check_pattern(step.match)
                except UnsafePattern as exc:
                    raise self.fail(here + ("match",), str(exc)) from None
            if step.raises:
                compiled.raises = self.exception_class(step.raises, here + ("raises",), BaseException)
            if step.warns:
                compiled.warns = self.exception_class(step.warns, here + ("warns",), Warning)
            if step.no_warning:
                compiled.no_warning = self.exception_class(step.no_warning, here + ("no_warning",), Warning)
            known.update(block.assigns)
            out.append(compiled)
        return out

    def use(self, name: str, here: tuple, known: set, applied: list[str], prefix: str, index: int) -> list[CompiledStep]:
        """The steps of the step list ``name`` from the file's helpers, run in place of ``use:``."""
        if name not in self.step_lists:
            known_lists = ", ".join(sorted(self.step_lists)) or "none"
            raise self.fail(here + ("use",), f"no step list {name!r} under helpers: (step lists here: {known_lists})")
        if name in self.using:
            raise self.fail(here + ("use",), f"step list {name!r} uses itself ({' -> '.join(self.using + [name])})")
        self.using.append(name)
        try:
            steps = self.steps(self.step_lists[name], ("helpers", name), known, applied,
                               prefix=f"{prefix}{render_path(here[-2:])} > ")
        finally:
            self.using.pop()
        for step in steps:
            step.index = index  # reuse: N counts the claim's own entries
        return steps

    def checks(self, entries: list[Check], path: tuple, known: set, applied: list[str], label: str,
               may_be_empty: bool = False) -> list[CompiledCheck]:
        out = []
        for index, check in enumerate(entries):
            here = path + (index,)
            if not self.version_ok(check.torch, here + ("torch",)):
                continue
            if check.torch is not None:
                applied.append(f"{label}[{index}] torch{check.torch}")
            out.append(self.check(check, here, known, Located(f"{label}[{index}]", self.doc.line_of(here))))
        if not out and not may_be_empty:
            raise self.fail(path, f"no expectation applies to torch {self.version}; "
                                  f"add one whose 'torch:' range covers it")
        return out

    def check(self, check: Check, here: tuple, known: set, at: Located) -> CompiledCheck:
        kind = check.kind
        kpath = here + (kind,)
        expr = lambda src, sub: self.expression(src, kpath + sub, known)  # noqa: E731

        def value_of(src: Any, sub: tuple) -> Callable[[dict], Any]:
            if isinstance(src, str):
                return expr(src, sub)
            return lambda env, literal=src: literal

        if kind == "that":
            fn = expr(check.that, ())
            return CompiledCheck(at, kind, check.that, lambda env: check_that(at, check.that, fn(env)))
        if kind in ("close", "equal"):
            body = getattr(check, kind)
            actual = expr(body.actual, ("actual",))
            expected = value_of(body.expected, ("expected",))
            if kind == "close":
                written = f"{body.actual} ~= {body.expected} (rtol={body.rtol:g}, atol={body.atol:g})"
                return CompiledCheck(at, kind, written, lambda env: check_close(
                    at, written, actual(env), expected(env), body.rtol, body.atol))
            written = f"{body.actual} == {body.expected}"
            return CompiledCheck(at, kind, written, lambda env: check_equal(at, written, actual(env), expected(env)))
        if kind in ("shares_storage", "distinct_storage"):
            pair = getattr(check, kind)
            first, second = expr(pair[0], (0,)), expr(pair[1], (1,))
            written = f"{pair[0]}, {pair[1]}"
            shared = kind == "shares_storage"
            return CompiledCheck(at, kind, written, lambda env: check_storage(
                at, written, first(env), second(env), shared))
        if kind == "gradcheck":
            body = check.gradcheck
            fn = expr(body.fn, ("fn",))
            inputs = [expr(name, ("inputs", i)) for i, name in enumerate(body.inputs)]
            written = f"{body.fn} at ({', '.join(body.inputs)}), order {body.order}"
            return CompiledCheck(at, kind, written, lambda env: check_gradients(
                at, written, fn(env), [i(env) for i in inputs], body.order, body.atol, body.rtol))
        raise AssertionError(kind)

    def examples(self, claim: Claim, plans: list[GivenPlan], path: tuple) -> list[Example]:
        out = []
        for index, values in enumerate(claim.examples):
            here = path + ("examples", index)
            out.append(pinned_example(plans, values, lambda key, msg: self.fail(here + (key,), msg)))
        return out

    # -- a whole claim --------------------------------------------------------------------
    def claim(self, claim: Claim, index: int, topic: str, helpers: list | None = None) -> CompiledClaim:
        path = ("claims", index)
        self.sources(claim, path)
        helpers = helpers or []
        known = set(BASE_NAMES) | ({"other_device"} if is_cross(claim.devices) else set())
        for name in claim.given:
            if any(name == helper for helper, _, _ in helpers):
                raise self.fail(path + ("given", name), f"given name {name!r} is also the name of a helper of this file")
        applied: list[str] = []
        plans = self.given(claim, path, known)
        known.update(helper for helper, _, _ in helpers)
        given_known = set(known)
        steps = self.steps(claim.do, path + ("do",), known, applied)
        checks = self.checks(claim.expect, path + ("expect",), known, applied, "expect")
        compiled = CompiledClaim(file=self.doc.file, line=self.doc.line_of(path) or 1, claim=claim,
                                 topic=claim.topic or topic, plans=plans, steps=steps, checks=checks)
        compiled.helpers = helpers
        if claim.as_stated is not None:
            self.as_stated(claim, path, compiled, given_known | {h for h, _, _ in helpers}, applied)
        compiled.examples = self.examples(claim, plans, path)
        compiled.applied = applied
        return compiled

    def as_stated(self, claim: Claim, path: tuple, compiled: CompiledClaim, given_known: set,
                  applied: list[str]) -> None:
        """Compile ``as_stated`` and its ``refuted_by`` (Note [Checked verdicts] in verdicts.py)."""
        stated, here = claim.as_stated, path + ("as_stated",)
        reuse = stated.reuse if stated.reuse is not None else ("all" if stated.do is None else 0)
        if reuse != "all" and reuse > len(claim.do):
            raise self.fail(here + ("reuse",), f"reuse: {reuse}, but the claim has only {len(claim.do)} steps")
        prefix = [s for s in compiled.steps if reuse == "all" or s.index < reuse]
        known = set(given_known)
        for step in prefix:
            known.update(step.block.assigns)
        own = self.steps(stated.do or [], here + ("do",), known, applied, prefix="as_stated.")
        checks = self.checks(stated.expect, here + ("expect",), known, applied, "as_stated.expect", may_be_empty=True)
        compiled.stated_steps, compiled.stated_checks = prefix + own, checks
        compiled.refutation = self.refutation(stated, here, prefix, own, checks)

    def refutation(self, stated, here: tuple, prefix: list, own: list, checks: list) -> Refutation:
        by, by_path = stated.refuted_by, here + ("refuted_by",)
        if by.expect is not None:
            if by.expect >= len(stated.expect):
                raise self.fail(by_path + ("expect",), f"as_stated has {len(stated.expect)} expectations; "
                                                       f"there is no as_stated.expect[{by.expect}]")
            label = f"as_stated.expect[{by.expect}]"
            for position, check in enumerate(checks):
                if check.at.label == label:
                    return Refutation("expect", position, label, check.at.line, f"{check.kind}: {check.written}")
            raise self.fail(by_path + ("expect",), f"{label} does not apply to torch {self.version}; the check "
                                                   f"that refutes the article must apply to every torch it runs on")
        entries = stated.do or []
        if by.step < len(entries) and isinstance(entries[by.step], Step) and entries[by.step].use is not None:
            raise self.fail(by_path + ("step",), f"as_stated.do[{by.step}] is a 'use:' step; the refuting step "
                                                 f"must be written in as_stated itself")
        if by.step >= len(entries):
            raise self.fail(by_path + ("step",), f"as_stated has {len(entries)} steps of its own; "
                                                 f"there is no as_stated.do[{by.step}]")
        if by.step < len(entries) - 1 or stated.expect:
            raise self.fail(by_path + ("step",), f"nothing after the refuting step as_stated.do[{by.step}] ever "
                                                 f"runs; remove the later steps and expectations")
        found = [(p, s) for p, s in enumerate(own) if s.index == by.step]
        if not found:
            raise self.fail(by_path + ("step",), f"as_stated.do[{by.step}] does not apply to torch {self.version}")
        position, step = found[0]
        marked = step.raises or step.warns or step.no_warning
        if marked and by.raises is not None:
            raise self.fail(by_path + ("raises",), f"as_stated.do[{by.step}] already says what the article expects "
                                                   f"(raises/warns/no_warning); it refutes the article by not doing "
                                                   f"so, so refuted_by takes no 'raises' here")
        if not marked and by.raises is None:
            raise self.fail(by_path, f"as_stated.do[{by.step}] is a plain step: name the exception that refutes "
                                     f"the article with 'raises:' and 'match:'")
        raises = self.exception_class(by.raises, by_path + ("raises",), BaseException) if by.raises else None
        return Refutation("step", len(prefix) + position, step.at.label, step.at.line, step.written,
                          raises=raises, match=by.match)

    def helpers(self, spec: SpecFile) -> list[tuple[str, str, Any]]:
        """Compile the file's ``helpers:`` (Note [Spec helpers]): each may use the ones before it."""
        out, known = [], set(BASE_NAMES) | {"other_device"}
        for name, source in spec.helpers.items():
            if isinstance(source, list):
                self.step_lists[name] = source
                continue
            out.append((name, source, self.expression(source, ("helpers", name), known)))
            known.add(name)
        return out


@lru_cache(maxsize=None)
def _seed_text(seeds_dir: Path, name: str) -> str | None:
    path = seeds_dir / name
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def compile_file(doc: Document, spec: SpecFile, version: Version, seeds_dir: Path | None = None) -> list[CompiledClaim]:
    """Compile every claim of a validated file; raise SpecErrors listing every problem found."""
    compiler = _Compiler(doc, version, seeds_dir)
    claims, errors, seen = [], [], {}
    try:
        helpers = compiler.helpers(spec)
    except SpecError as exc:
        raise SpecErrors([exc]) from None
    for index, claim in enumerate(spec.claims):
        if claim.id in seen:
            errors.append(compiler.fail(("claims", index, "id"),
                                        f"duplicate claim id {claim.id!r} (first used at line {seen[claim.id]})"))
            continue
        seen[claim.id] = doc.line_of(("claims", index, "id"))
        try:
            claims.append(compiler.claim(claim, index, spec.topic, helpers))
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise SpecErrors(errors)
    return claims
