"""Keeping the report readable with many torch releases: folded columns, release ranges, observed behaviour.

Note [Release groups]
With seventeen releases and three device slots a claim has 51 cells. Three things keep the
report readable (``report.merge`` calls them; the templates only lay the result out):

  * ``fold_columns``: a column in which no claim ran (every cell skipped, not applicable or
    not in the results: a device absent on every machine that produced that release) is left
    out of the overview, the counts, the comparisons and the per-claim tables; the "Not run"
    section, computed before folding, still says which columns those are and why.
  * ``release_groups``: in a claim's own table, consecutive releases on one device whose
    outcome, verdict check, applied expectations and note are identical become one row,
    ``1.13.1+cu117 – 2.8.0+cu128`` (examples shown as a range when they differ).
  * ``observed_spans``: from the observed behaviour that results record for versioned claims
    (Note [Observed behaviour]), every fact that is not the same on all releases is listed with
    the release ranges over which each value was observed, and what changed word by word.
    ``observed_change`` says the same for one pair of consecutive releases, for the "What
    changed between versions" table.
"""
from __future__ import annotations

import json
from typing import Any

from .observing import NOT_OBSERVED, flatten, word_change
from .results import RAN


def fold_columns(rows: list[dict], columns: list) -> tuple[list[dict], list, list[dict]]:
    """Drop the columns where no claim ran; return (rows, columns, folded) with folded per device."""
    keep = [i for i in range(len(columns)) if any(r["cells"][i]["outcome"] in RAN for r in rows)]
    if not keep or len(keep) == len(columns):
        return rows, columns, []
    folded: dict[str, list[str]] = {}
    for i, column in enumerate(columns):
        if i not in keep:
            folded.setdefault(column.device, []).append(column.torch)
    new_rows = []
    for row in rows:
        cells = [row["cells"][i] for i in keep]
        outcomes = {c["outcome"] for c in cells}
        new_rows.append({**row, "cells": cells,
                         "outcomes": [o for o in row["outcomes"] if o in outcomes]})
    summary = [{"device": device, "releases": len(torches), "torch": torches} for device, torches in folded.items()]
    return new_rows, [columns[i] for i in keep], summary


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first} – {last}"


def release_groups(cells: list[dict]) -> list[dict]:
    """One row per run of consecutive releases with the same result on one device."""
    by_device: dict[str, list[dict]] = {}
    for cell in cells:
        by_device.setdefault(cell["device"], []).append(cell)
    groups: list[dict] = []
    for device, device_cells in by_device.items():
        current: dict | None = None
        for cell in device_cells:
            entries = cell["entries"] or [None]
            for entry in entries:
                if entry is None:
                    key = (cell["outcome"],)
                    row = {"outcome": cell["outcome"], "verdict_check": None, "refuted_by": None, "applied": [], "note": "",
                           "examples": [], "runs": []}
                else:
                    key = (entry["outcome"], entry.get("verdict_check"), tuple(entry.get("applied") or []),
                           entry.get("note") or "", repr(entry.get("refuted_by")))
                    row = {"outcome": entry["outcome"], "verdict_check": entry.get("verdict_check"),
                           "refuted_by": entry.get("refuted_by"),
                           "applied": list(entry.get("applied") or []), "note": entry.get("note") or "",
                           "examples": [entry["examples"]] if entry.get("examples") is not None else [],
                           "runs": [entry["run"]]}
                if current is not None and current["key"] == key and len(entries) == 1:
                    current["last"] = cell["torch"]
                    current["releases"] += 1
                    current["examples"] += row["examples"]
                    current["runs"] += row["runs"]
                    continue
                current = {"key": key, "device": device, "first": cell["torch"], "last": cell["torch"],
                           "releases": 1, **row}
                groups.append(current)
    for group in groups:
        group["torch"] = _span(group.pop("first"), group.pop("last"))
        group.pop("key")
        ex = group["examples"]
        group["examples"] = None if not ex else (str(ex[0]) if min(ex) == max(ex) else f"{min(ex)}–{max(ex)}")
        runs = group["runs"]
        group["run"] = runs[0] if len(runs) == 1 else f"{len(runs)} results files"
    return groups


def _observed(cell: dict) -> dict | None:
    for entry in cell["entries"]:
        if isinstance(entry.get("observed"), dict):
            return flatten(entry["observed"])
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def observed_spans(cells: list[dict]) -> list[dict]:
    """Every observed fact that differs between releases, with the releases that saw each value."""
    out = []
    by_device: dict[str, list[tuple[str, dict]]] = {}
    for cell in cells:
        flat = _observed(cell)
        if flat is not None:
            by_device.setdefault(cell["device"], []).append((cell["torch"], flat))
    for device, seen in by_device.items():
        if len(seen) < 2:
            continue
        facts = []
        for flat in (f for _, f in seen):
            facts += [k for k in flat if k not in facts]
        for fact in facts:
            values = [(torch, flat.get(fact, NOT_OBSERVED)) for torch, flat in seen]
            if all(v == values[0][1] for _, v in values):
                continue
            spans: list[dict] = []
            for torch, value in values:
                if spans and spans[-1]["raw"] == value:
                    spans[-1]["last"] = torch
                else:
                    spans.append({"first": torch, "last": torch, "raw": value})
            rendered = []
            for n, span in enumerate(spans):
                change = word_change(spans[n - 1]["raw"], span["raw"]) if n else None
                rendered.append({"torch": _span(span["first"], span["last"]), "value": _text(span["raw"]),
                                 "change": change})
            out.append({"device": device, "fact": fact, "spans": rendered})
    return out


def observed_change(before: dict, after: dict) -> list[str]:
    """What observably changed between two cells of one claim (consecutive releases)."""
    a, b = _observed(before), _observed(after)
    if a is None or b is None:
        return []
    out = []
    for fact in [*a, *(k for k in b if k not in a)]:
        x, y = a.get(fact, NOT_OBSERVED), b.get(fact, NOT_OBSERVED)
        if x != y:
            change = word_change(x, y)
            out.append(f"observed {fact}: " + (change if change else f"{_text(x)[:120]} → {_text(y)[:120]}"))
    return out
