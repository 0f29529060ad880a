"""Generate docs/spec-language.md from the allowlist table: ``python -m conformance.language.docs``.

A test (tests/test_expressions.py) checks that the committed page is what this module writes.
"""
from __future__ import annotations

import sys
from pathlib import Path

from . import limits, table

PAGE = Path(__file__).resolve().parents[2] / "docs" / "spec-language.md"

INTRO = """\
# The spec language

Generated from `conformance/language/table.py` by `python -m conformance.language.docs`; do not
edit by hand. Spec code is a restricted Python: expressions, assignments, `if`, `for`, `with`
and lambdas (no `def`, `class`, `import`, `while`, `try`, f-strings). Only the names below can
be reached; anything else is refused when the spec is compiled, with the file, line and key and
the nearest allowed names. Names starting with `_` (and so every dunder) are never allowed, as
attribute, keyword or dict key.

Costs: before an allocating or super-linear call runs, its size is estimated from its arguments
and refused over the limits (tensor elements {elements:,}, matrix-product multiply-adds
{flops:,}, materialized sequences {sequence:,}, integer operands {bits:,} bits, `range`
{range:,}); every run also has a step budget ({budget:,}) and a time limit.

`with` accepts the grad-mode context managers marked `context`/`withonly` below, by exact type;
`withonly` ones may only be called as the `with` expression.

Spec packs you did not write: run them with `--conformance-isolate`. Each item then runs in a
forked child with CPU-time, wall-time and memory limits, so a crash or hang costs that item only
(reported as a spec error of the claim). Without it, global torch/NumPy state is still restored
after every item, and a claim that changes it fails.
"""


def _row(names) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names))


def render() -> str:
    out = [INTRO.format(elements=limits.MAX_ELEMENTS, flops=limits.MAX_FLOPS, sequence=limits.MAX_SEQUENCE,
                        bits=limits.MAX_INT_BITS, range=limits.MAX_RANGE, budget=limits.DEFAULT_BUDGET)]
    out.append("## Predefined names\n")
    out.append("Module roots: " + ", ".join(f"`{alias}` = `{module}`" for alias, module in table.ROOTS.items()) + ".\n")
    for topic, names in table.BUILTINS.items():
        out.append(f"- **{topic}**: {_row(names)}")
    out.append(f"- **math**: {_row(f'math.{n}' for n in table.MATH)}\n")
    out.append("## Module members, by topic\n")
    for topic, names in table.NAMES.items():
        by_cost: dict[str, list[str]] = {}
        for name, cost in names.items():
            by_cost.setdefault(cost, []).append(name)
        out.append(f"### {topic}\n")
        for cost in sorted(by_cost):
            out.append(f"- cost `{cost}`: {_row(by_cost[cost])}")
        out.append("")
    out.append("## Attributes and methods, by class\n")
    for cls, topics in table.ATTRIBUTES.items():
        out.append(f"### {cls}\n")
        for topic, names in topics.items():
            out.append(f"- **{topic}**: {_row(names)}")
        settable = table.SETTABLE.get(cls)
        if settable:
            out.append(f"- **assignable**: {_row(settable)}")
        out.append("")
    out.append("## Names a spec may show to be absent\n")
    out.append(_row(table.ABSENT) + " (the access must raise AttributeError on the installed torch)\n")
    out.append("## Version floors\n")
    for name, floor in sorted(table.FLOORS.items()):
        out.append(f"- `{name}`: torch >= {floor}")
    out.append("")
    out.append("## Cost kinds\n")
    doc = table.__doc__ or ""
    start = doc.index("  free")
    out.append("```\n" + doc[start:].rstrip() + "\n```\n")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
