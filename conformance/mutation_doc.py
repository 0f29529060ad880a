"""The generated parts of docs/mutation.md: the table of shipped mutants and the kill matrix of a run.

Note [Generated mutation doc]
docs/mutation.md is prose written by hand around two generated blocks, each between a pair of
marker comments (``<!-- generated: NAME ... -->`` and ``<!-- end generated: NAME -->``):

- ``mutants``: one row per shipped mutant (name, topic, description, ``--fast``), rendered from
  the registry ``conformance.mutants.MUTANTS`` in its order;
- ``kill-matrix``: one row per shipped mutant with its fate in a mutation run (status, wall time,
  the first killing claims), rendered from the JSON that ``python -m conformance mutate --json``
  writes. Several JSON files may be merged (a later file's row for a mutant replaces an earlier
  one: a rerun of some mutants after a full run); a shipped mutant that no file ran is listed as
  ``NOT RUN``, a result for a name outside the shipped set (retired, or pending) is left out and counted.

``python -m conformance mutate --doc docs/mutation.md`` rewrites both blocks after its run, and
``... mutate --from-json A.json [--from-json B.json] --doc docs/mutation.md`` does it from earlier
runs without running anything. Only the text between the markers changes. ``tests/test_mutation_doc.py``
checks that the doc's ``mutants`` block is the registry's current rendering and that its kill
matrix lists exactly the shipped mutants, each KILLED, so a mutant added without a mutation run
(or a run that did not kill it) fails the project's tests instead of going unnoticed.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

BLOCKS = ("mutants", "kill-matrix")
_START = "<!-- generated: {name} (python -m conformance mutate --doc docs/mutation.md; do not edit by hand) -->"
_END = "<!-- end generated: {name} -->"
_ROW_NAME = re.compile(r"^\| `([a-z0-9-]+)` \|")


class DocError(ValueError):
    """The doc lacks a block's markers, or a results file cannot be read."""


def _md(text: str) -> str:
    """Text for a Markdown table cell: the characters Markdown would read as markup are escaped."""
    return re.sub(r"([\\`*_|])", r"\\\1", str(text))


def mutant_table(registry: Mapping[str, object]) -> str:
    lines = ["| mutant | topic | what it breaks | `--fast` |", "|---|---|---|---|"]
    for m in registry.values():
        lines.append(f"| `{m.name}` | {_md(m.topic)} | {_md(m.description)} | {'yes' if m.fast else ''} |")
    return "\n".join(lines)


def load_results(paths: Sequence[str]) -> Tuple[Dict[str, dict], List[dict]]:
    """Merge the per-mutant rows of several ``mutate --json`` files (later files win); also the runs."""
    rows: Dict[str, dict] = {}
    runs: List[dict] = []
    for path in paths:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            mutant_rows = doc["mutants"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DocError(f"{path}: not a results file of 'python -m conformance mutate --json' ({err})") from None
        runs.append({"path": str(path), "torch": doc.get("torch", "?"), "jobs": doc.get("jobs"),
                     "wall_s": doc.get("wall_s"), "mutants": len(mutant_rows),
                     "killed": sum(r.get("status") == "KILLED" for r in mutant_rows),
                     "baseline": (doc.get("baseline") or {}).get("summary", "")})
        for row in mutant_rows:
            rows[row["mutant"]] = row
    return rows, runs


def kill_summary(registry: Mapping[str, object], rows: Mapping[str, dict]) -> Tuple[int, int, List[str], int]:
    """(killed, shipped, names not killed, results for names no longer shipped)."""
    shipped = list(registry)
    not_killed = [n for n in shipped if (rows.get(n) or {}).get("status") != "KILLED"]
    return len(shipped) - len(not_killed), len(shipped), not_killed, len([n for n in rows if n not in registry])


def kill_matrix(registry: Mapping[str, object], rows: Mapping[str, dict], runs: Iterable[dict]) -> str:
    killed, shipped, not_killed, stale = kill_summary(registry, rows)
    lines = ["| mutant | topic | result | time | killed by (first failing claims) |", "|---|---|---|---|---|"]
    for name, m in registry.items():
        row = rows.get(name)
        if row is None:
            lines.append(f"| `{name}` | {_md(m.topic)} | NOT RUN |  |  |")
            continue
        claims = row.get("killing_claims") or []
        shown = ", ".join(claims[:3]) + (" ..." if len(claims) > 3 else "")
        if row.get("status") != "KILLED":
            shown = row.get("summary", "")
        lines.append(f"| `{name}` | {_md(m.topic)} | {row.get('status', '?')} | {float(row.get('wall_s') or 0):.1f} s "
                     f"| {_md(shown)} |")
    lines.append("")
    score = f"{killed}/{shipped}" + (f" ({100 * killed / shipped:.0f}%)" if shipped else "")
    lines.append(f"Mutation score: **{score}** shipped mutants killed"
                 + (f"; not killed: {', '.join(f'`{n}`' for n in not_killed)}" if not_killed else "") + ".")
    if stale:
        lines.append(f"({stale} result(s) for mutants not in the shipped set left out.)")
    for i, run in enumerate(runs, 1):
        wall = f"{run['wall_s']:.0f} s" if isinstance(run.get("wall_s"), (int, float)) else "?"
        lines.append(f"Run {i}: torch {run['torch']}, {run['killed']}/{run['mutants']} killed, "
                     f"{run['jobs']} job(s), wall time {wall}; baseline {_md(run['baseline'])}.")
    return "\n".join(lines)


def replace_block(text: str, name: str, body: str) -> str:
    start, end = _START.format(name=name), _END.format(name=name)
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise DocError(f"the doc has no generated block {name!r} (a line {start!r} ... {end!r})")
    return text[:i + len(start)] + "\n" + body.rstrip("\n") + "\n" + text[j:]


def block(text: str, name: str) -> str:
    start, end = _START.format(name=name), _END.format(name=name)
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise DocError(f"the doc has no generated block {name!r}")
    return text[i + len(start):j].strip("\n")


def listed_names(block_text: str) -> List[str]:
    return [m.group(1) for m in map(_ROW_NAME.match, block_text.splitlines()) if m]


def update_doc(path: str, registry: Mapping[str, object], result_paths: Sequence[str]) -> Tuple[int, int, List[str]]:
    """Rewrite the generated blocks of the doc at ``path``; returns (killed, shipped, not killed)."""
    rows, runs = load_results(result_paths)
    doc = Path(path)
    text = doc.read_text(encoding="utf-8")
    text = replace_block(text, "mutants", mutant_table(registry))
    text = replace_block(text, "kill-matrix", kill_matrix(registry, rows, runs))
    doc.write_text(text, encoding="utf-8")
    killed, shipped, not_killed, _ = kill_summary(registry, rows)
    return killed, shipped, not_killed
