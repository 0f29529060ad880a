"""Find expectations that cannot fail: constants, and restatements of a ``given`` constraint.

Note [Checks that cannot fail]
Every expectation must be able to fail on some torch. Two shapes of expectation cannot, whatever
torch does, and ``vacuous_checks`` reports them (tests/test_vacuous_checks.py runs it over the
whole corpus, and over small fixture specs that prove each rule fires):

  * a constant: no expression of the check reads anything but literals and builtins
    (``that: "True"``, ``equal: {actual: "1 + 1", expected: 2}``);
  * a restated draw: the check (or one conjunct of it) reads a property that the ``given`` entry
    of a name makes the harness fix, and no step rebinds that name or changes it in place
    (``x.requires_grad`` for ``requires_grad: true``; ``requires_grad`` False is torch's own
    default, so checking it is a real check,
    ``x.dtype == torch.int8`` for ``dtype: int8``, ``x.device.type == 'cpu'`` for ``device: cpu``,
    ``len(x.shape) == 2`` / ``x.dim() == 2`` for a shape fixed to 2 dimensions).

The rules read the spec as written (schema models, the expressions' syntax trees); they never run
anything. They are deliberately narrow: a finding is a defect to fix, not a style remark.
"""
from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from typing import Any, Iterator

from .schema import DTYPE_FAMILIES, Check, Claim, SpecFile, Step

_BUILTINS = frozenset(dir(builtins)) | {"True", "False", "None"}


@dataclass
class Finding:
    claim: str
    where: str  # "expect[2]" or "as_stated.expect[0]"
    why: str

    def render(self) -> str:
        return f"{self.claim}: {self.where}: {self.why}"


def vacuous_checks(spec: SpecFile) -> list[Finding]:
    out: list[Finding] = []
    lists = {name: value for name, value in spec.helpers.items() if isinstance(value, list)}
    for claim in spec.claims:
        out.extend(_claim_findings(claim, lists))
    return out


def _expand(entries: list, lists: dict, depth: int = 0) -> list[Step]:
    """Steps as written, with ``use:`` replaced by the named step list (Note [Spec helpers])."""
    out: list[Step] = []
    for entry in entries:
        step = entry if isinstance(entry, Step) else Step(do=entry)
        if step.use is not None:
            if step.use in lists and depth < 10:
                out.extend(_expand(lists[step.use], lists, depth + 1))
            continue
        out.append(step)
    return out


def _claim_findings(claim: Claim, lists: dict) -> Iterator[Finding]:
    steps = _expand(claim.do, lists)
    stated_steps = []
    if claim.as_stated is not None and claim.as_stated.do:
        stated_steps = _expand(claim.as_stated.do, lists)
    fixed = _fixed_properties(claim)
    groups = [("expect", claim.expect, steps)]
    if claim.as_stated is not None:
        groups.append(("as_stated.expect", claim.as_stated.expect, steps + stated_steps))
    for label, checks, context in groups:
        touched = _touched_names(context)
        bound = set(claim.given) | touched
        for index, check in enumerate(checks):
            where = f"{label}[{index}]"
            sources = _sources(check)
            if not sources:
                continue
            trees = [_parse(src) for src in sources]
            if all(tree is not None and _is_constant(tree, bound) for tree in trees):
                yield Finding(claim.id, where, f"the {check.kind} check is a constant: it reads no value of the "
                                               f"example or of torch ({' / '.join(sources)})")
                continue
            restated = _restated(check, trees, fixed, touched)
            if restated:
                yield Finding(claim.id, where, restated)


def _sources(check: Check) -> list[str]:
    kind = check.kind
    if kind == "that":
        return [check.that]
    if kind in ("equal", "close"):
        body = getattr(check, kind)
        expected = body.expected if isinstance(body.expected, str) else repr(body.expected)
        return [body.actual, expected]
    return []


def _parse(src: str) -> ast.AST | None:
    try:
        return ast.parse(src.strip(), mode="eval")
    except SyntaxError:
        return None


def _is_constant(tree: ast.AST, bound: set[str]) -> bool:
    return all(node.id in _BUILTINS and node.id not in bound for node in ast.walk(tree) if isinstance(node, ast.Name))


# --- what the given block fixes -----------------------------------------------------------------

def _fixed_properties(claim: Claim) -> dict[str, dict[str, Any]]:
    """{name: {property: value}} for what each tensor draw fixes, whatever the example."""
    out: dict[str, dict[str, Any]] = {}
    for name, given in claim.given.items():
        draw = given.tensor
        if draw is None:
            continue
        props: dict[str, Any] = {}
        if draw.requires_grad is True:  # the harness calls requires_grad_(True); False is torch's default
            props["requires_grad"] = True
        dtypes = _dtypes(draw.dtype)
        if len(dtypes) == 1:
            props["dtype"] = dtypes[0]
        if draw.device == "cpu":
            props["device"] = "cpu"
        shape = draw.shape
        if isinstance(shape, list):
            props["ndim"] = len(shape)
            props["shape"] = list(shape)
        elif not isinstance(shape, str) and shape.min_dims == shape.max_dims:
            props["ndim"] = shape.min_dims
        out[name] = props
    return out


def _dtypes(spec: str | list[str]) -> list[str]:
    names = [spec] if isinstance(spec, str) else spec
    out: list[str] = []
    for name in names:
        for dtype in DTYPE_FAMILIES.get(name, (name,)):
            if dtype not in out:
                out.append(dtype)
    return out


def _touched_names(steps: list[Step]) -> set[str]:
    """Names a step rebinds, or changes in place (a method ending in _, .requires_grad = ...)."""
    out: set[str] = set()
    for step in steps:
        try:
            tree = ast.parse(step.do)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, (ast.For, ast.comprehension)):
                targets = [node.target]
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                targets = [node.optional_vars]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        out.add(sub.id)
                    elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                        out.add(sub.value.id)  # x.requires_grad = ..., x.data = ...
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr.endswith("_") and isinstance(node.func.value, ast.Name):
                out.add(node.func.value.id)
    return out


# --- the restatement patterns -----------------------------------------------------------------

def _restated(check: Check, trees: list, fixed: dict, touched: set) -> str | None:
    if check.kind == "that" and trees[0] is not None:
        return _restated_truth(trees[0].body, fixed, touched)
    if check.kind == "equal" and all(t is not None for t in trees):
        prop = _property(trees[0].body, fixed, touched)
        value = _literal(trees[1].body)
        if prop is not None and value is not _NO and _same(prop[2], value):
            return f"equal restates given {prop[0]}'s {prop[1]} ({prop[2]!r})"
    return None


_NO = object()


def _restated_truth(node: ast.AST, fixed: dict, touched: set) -> str | None:
    # x.requires_grad / not x.requires_grad / x.requires_grad is True
    negated = False
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        negated, node = not negated, node.operand
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        for value in node.values:  # one restated conjunct is enough to flag a padded check
            found = _restated_truth(value, fixed, touched) if not negated else None
            if found:
                return found
        return None
    prop = _property(node, fixed, touched)
    if prop is not None and isinstance(prop[2], bool) and prop[2] != negated:
        return f"'{ast.unparse(node)}' restates given {prop[0]}'s {prop[1]} ({prop[2]!r})"
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.Is)):
        for left, right in ((node.left, node.comparators[0]), (node.comparators[0], node.left)):
            prop = _property(left, fixed, touched)
            value = _literal(right)
            if prop is not None and value is not _NO and _same(prop[2], value) and not negated:
                return f"'{ast.unparse(node)}' restates given {prop[0]}'s {prop[1]} ({prop[2]!r})"
    return None


def _property(node: ast.AST, fixed: dict, touched: set) -> tuple[str, str, Any] | None:
    """(name, property, fixed value) when ``node`` reads a property the given block fixes."""
    def name_of(value: ast.AST) -> str | None:
        if isinstance(value, ast.Name) and value.id in fixed and value.id not in touched:
            return value.id
        return None

    if isinstance(node, ast.Attribute):
        name = name_of(node.value)
        if name and node.attr in ("requires_grad", "dtype", "ndim") and node.attr in fixed[name] | (
                {"ndim": None} if "ndim" in fixed[name] else {}):
            return name, node.attr, fixed[name][node.attr]
        if name and node.attr == "shape" and "shape" in fixed[name]:
            return name, "shape", fixed[name]["shape"]
        # x.device.type
        if node.attr == "type" and isinstance(node.value, ast.Attribute) and node.value.attr == "device":
            name = name_of(node.value.value)
            if name and "device" in fixed[name]:
                return name, "device", fixed[name]["device"]
    if isinstance(node, ast.Call) and not node.args and isinstance(node.func, ast.Attribute):
        name = name_of(node.func.value)
        if name and node.func.attr == "dim" and "ndim" in fixed[name]:
            return name, "ndim", fixed[name]["ndim"]
        if name and node.func.attr == "size" and "shape" in fixed[name]:
            return name, "shape", fixed[name]["shape"]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" and len(node.args) == 1:
        inner = node.args[0]
        if isinstance(inner, ast.Attribute) and inner.attr == "shape":
            name = name_of(inner.value)
            if name and "ndim" in fixed[name]:
                return name, "ndim", fixed[name]["ndim"]
    return None


def _literal(node: ast.AST) -> Any:
    # torch.float32 -> "float32"
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "torch":
        return node.attr
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return _NO
    return value


def _same(fixed: Any, value: Any) -> bool:
    if isinstance(fixed, bool) or isinstance(value, bool):
        return fixed is value if isinstance(fixed, bool) and isinstance(value, bool) else False
    if isinstance(fixed, str) and isinstance(value, str):
        aliases = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
                   "short": "int16", "char": "int8"}
        return aliases.get(value, value) == fixed or re.sub(r"^torch\.", "", value) == fixed
    if isinstance(fixed, list) and isinstance(value, (list, tuple)):
        return list(value) == fixed
    return fixed == value
