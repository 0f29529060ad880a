"""``python -m conformance report``: merge results files into pages that document verified behaviour.

Note [Merging results]
Each results file (see Note [Results files]) is one *run*: one torch build on one machine. The
report lays every claim against *columns*, one per (torch version, device slot) seen in any run.
Several runs may feed one column (the same torch on two machines, say: one with CUDA and one
without); the cell then shows the most telling outcome, ranked

    error > failed > xpassed > xfailed > passed > skipped

so a device that ran beats one that was absent, and a failure anywhere is never hidden. The
per-claim section still lists every run's result separately, with the expectation labels that
applied (Note [Versioned expectations]). A claim that is missing from a column's runs (added to
the corpus later, or its file had a spec error there) shows as "not in these results", which is
different from "skipped".

Note [What changed between versions]
For each device, the torch versions that have a column for it are ordered (by release, then by
the full version string) and each consecutive pair is compared claim by claim. A claim is listed
when it ran under both and its outcome or its applied expectation labels differ: that is what
someone upgrading torch has to read. Skipped cells are not compared (an absent GPU is not a
change in torch); they are reported in the "Not run" section with the reason each run recorded.

Note [Rendering]
The numbers are computed once here into plain dictionaries, and three Jinja2 templates in
``templates/`` lay them out: Markdown (``verified-behaviour.md``, ``claims.md``) and one
self-contained HTML page (inline CSS and JS, no external assets, autoescaped) whose overview
table is filterable by topic, verdict and outcome. ``claims.md`` lists the corpus itself, read
from the spec files (loaded and validated, not compiled, so a claim whose expressions do not
compile on this torch is still listed); without spec files it falls back to the claims recorded
in the results. Every page starts with the command that regenerates it.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from packaging.version import InvalidVersion, Version

from . import report_groups
from . import results as results_mod

TEMPLATES = Path(__file__).with_name("templates")

RANK = {"skipped": 0, "passed": 1, "xfailed": 2, "xpassed": 3, "failed": 4, "error": 5}
MARKS = {
    "passed": "✅",
    "failed": "❌",
    "skipped": "⏭",
    "error": "⚠",
    "xfailed": "🔶",
    "xpassed": "❗",
    "na": "",
    None: "—",
}
LEGEND = [
    ("passed", "passed: the claim held on every example (and its verdict was confirmed)"),
    ("failed", "failed: an expectation, a step or the verdict check failed"),
    ("skipped", "skipped (not run): the device was absent or not requested; see Not run"),
    ("error", "error: the item could not run (setup failed, e.g. a duplicate claim id)"),
    ("xfailed", "known failure: failed, and listed in a known-failure file"),
    ("xpassed", "unexpected pass: listed as a known failure but passed"),
    (None, "not in these results: the claim was not part of that run"),
    ("na", "not applicable: the claim has no item for that device slot (a cross-device claim runs "
           "only as cpu-<accelerator>; a claim may be limited to some devices or one accelerator kind)"),
]
# The HTML page's cells carry the meaning as text beside an inline SVG icon (no emoji font needed).
CELL_TEXT = {"passed": "pass", "failed": "fail", "skipped": "not run", "error": "error", "xfailed": "known",
             "xpassed": "unexp. pass", "na": "n/a", None: "absent"}
OUTCOME_ORDER = ("passed", "failed", "error", "xfailed", "xpassed", "skipped")
OUTCOME_NAMES = {"passed": "passed", "failed": "failed", "error": "error", "xfailed": "known failure",
                 "xpassed": "unexpected pass", "skipped": "skipped (not run)", None: "not in these results",
                 "na": "not applicable"}


# -- inputs ----------------------------------------------------------------------------------------
@dataclass(eq=False)
class Run:
    path: str
    data: dict
    torch: str
    release: Version

    @property
    def label(self) -> str:
        return Path(self.path).name


def _version(text: str) -> Version:
    try:
        return Version(Version(text).base_version)
    except InvalidVersion:
        return Version("0")


def find_results(inputs: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Results files named on the command line, directories searched for ``*.json`` (except in
    ``stale/`` folders: a place to keep results of an earlier claim set out of the report)."""
    found: list[Path] = []
    problems: list[str] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            # a folder named "stale" holds results of an earlier claim set: kept, not reported
            files = sorted(p for p in path.rglob("*.json")
                           if p.is_file() and "stale" not in p.relative_to(path).parts[:-1])
            if not files:
                problems.append(f"{path}: no *.json results files in this directory")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            problems.append(f"{path}: no such file or directory")
    unique: list[Path] = []
    for path in found:
        if path.resolve() not in {p.resolve() for p in unique}:
            unique.append(path)
    return unique, problems


def load_runs(paths: list[Path]) -> tuple[list[Run], list[str]]:
    runs, problems = [], []
    for path in paths:
        try:
            data = results_mod.load(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        torch = str(data["torch"].get("version") or "unknown")
        runs.append(Run(_shown(path), data, torch, _version(data["torch"].get("release") or torch)))
    runs.sort(key=lambda r: (r.release, r.torch, r.data.get("finished") or "", r.path))
    return runs, problems


def _shown(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


# -- the merged model ------------------------------------------------------------------------------
@dataclass
class Column:
    torch: str
    release: Version
    device: str
    runs: list = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.torch}/{self.device}"

    @property
    def label(self) -> str:
        return f"torch {self.torch} · {self.device}"


def _device_order(name: str) -> tuple:
    """cpu, then every other device by name, then the cross-device slots (cpu-X) by name."""
    return (1 if "-" in name else 0, 0 if name == "cpu" else 1, name)


def merge(runs: list[Run]) -> dict:
    """Everything the templates show, as plain data."""
    columns: dict[tuple, Column] = {}
    claims: dict[str, dict] = {}
    latest: dict[str, str] = {}
    present_in: dict[str, set] = {}  # claim id -> the runs that have it (on any device slot)
    for run in runs:
        for claim in run.data.get("claims", []):
            cid = claim["id"]
            present_in.setdefault(cid, set()).add(id(run))
            stamp = run.data.get("finished") or ""
            if cid not in claims or stamp >= latest[cid]:
                meta = {k: claim.get(k) for k in ("id", "topic", "verdict", "statement", "refinement",
                                                   "sources", "spec_file", "spec_line")}
                cells = claims[cid]["cells"] if cid in claims else {}
                claims[cid] = {**meta, "cells": cells}
                latest[cid] = stamp
            absent = {f"not run on {result['device']}: {item['reason']}"
                      for result in claim.get("results", [])
                      for item in run.data.get("devices", {}).get("absent", [])}
            for result in claim.get("results", []):
                key = (run.torch, result["device"])
                note = result.get("reason") or ""
                if result["outcome"] == "skipped" and note in absent:
                    note = "device absent on that machine (see Not run)"
                column = columns.setdefault(key, Column(run.torch, run.release, result["device"]))
                if run not in column.runs:
                    column.runs.append(run)
                entry = {**result, "run": run.label, "torch": run.torch, "note": note}
                claims[cid]["cells"].setdefault(column.key, []).append(entry)
    ordered_columns = sorted(columns.values(), key=lambda c: (c.release, c.torch, _device_order(c.device)))
    topic_order = _topic_order()
    rows = []
    for claim in sorted(claims.values(), key=lambda c: (topic_order.get(c["topic"], len(topic_order)),
                                                         c["topic"] or "", c["spec_file"] or "",
                                                         c["spec_line"] or 0, c["id"])):
        cells = []
        for column in ordered_columns:
            entries = claim["cells"].get(column.key, [])
            if entries:
                outcome = max((e["outcome"] for e in entries), key=lambda o: RANK.get(o, 0))
            elif any(id(run) in present_in[claim["id"]] for run in column.runs):
                outcome = "na"  # its runs have the claim, just not on this slot
            else:
                outcome = None
            applied = sorted({label for e in entries for label in e.get("applied") or []})
            cells.append({"column": column.key, "torch": column.torch, "device": column.device,
                          "outcome": outcome, "mark": MARKS.get(outcome, "?"),
                          "applied": applied, "entries": entries})
        rows.append({**{k: v for k, v in claim.items() if k != "cells"},
                     "topic": claim["topic"] or "unknown", "verdict": claim["verdict"] or "unknown",
                     "cells": cells, "outcomes": sorted({c["outcome"] for c in cells if c["outcome"] in OUTCOME_ORDER},
                                                        key=OUTCOME_ORDER.index)})
    not_run = _not_run(rows, ordered_columns)
    rows, ordered_columns, folded = report_groups.fold_columns(rows, ordered_columns)  # Note [Release groups]
    for row in rows:
        row["release_groups"] = report_groups.release_groups(row["cells"])
        row["observed"] = report_groups.observed_spans(row["cells"])
    cols = [{"key": c.key, "torch": c.torch, "release": str(c.release), "device": c.device, "label": c.label,
             "runs": [r.label for r in c.runs]} for c in ordered_columns]
    return {
        "runs": [_run_info(r) for r in runs],
        "columns": cols,
        "claims": rows,
        "counts": _counts(rows, cols),
        "changes": _changes(rows, ordered_columns),
        "not_run": not_run,
        "folded": folded,
        "spec_errors": _grouped(runs, "spec_errors", "file"),
        "collection_errors": _grouped(runs, "collection_errors", "nodeid"),
        "versions": sorted({r.torch for r in runs}, key=lambda v: (_version(v), v)),
    }


def _grouped(runs: list[Run], kind: str, where: str) -> list[dict]:
    """Errors of one kind, identical ones from several runs listed once with every run named."""
    groups: dict[tuple, dict] = {}
    for run in runs:
        for error in run.data.get(kind, []):
            key = (error.get(where), error.get("message"))
            group = groups.setdefault(key, {"where": key[0], "message": key[1] or "", "runs": []})
            group["runs"].append(f"{run.label} (torch {run.torch})")
    return list(groups.values())


def _topic_order() -> dict:
    try:
        from .schema import TOPICS
    except Exception:  # the report must still render if the spec schema cannot be imported
        return {}
    return {name: index for index, name in enumerate(TOPICS)}


def _run_info(run: Run) -> dict:
    d = run.data
    devices = d.get("devices", {})
    hyp = d.get("hypothesis", {})
    return {
        "file": run.path, "label": run.label, "torch": run.torch, "build": d["torch"].get("build"),
        "git_version": d["torch"].get("git_version"), "python": d.get("python", {}).get("version"),
        "platform": d.get("platform", {}).get("description"), "profile": hyp.get("profile"),
        "seed": hyp.get("base_seed"), "hypothesis": hyp.get("version"), "max_examples": hyp.get("max_examples"),
        "started": d.get("started"), "finished": d.get("finished"), "exit_status": d.get("exit_status"),
        "conformance": d.get("conformance_version"), "workers": d.get("xdist_workers"),
        "present": devices.get("present", []), "absent": devices.get("absent", []),
        "summary": d.get("summary", {}),
    }


def _counts(rows: list[dict], cols: list[dict]) -> dict:
    from collections import Counter

    verdicts = Counter(r["verdict"] for r in rows)
    topics: dict[str, Counter] = {}
    for r in rows:
        topics.setdefault(r["topic"], Counter())[r["verdict"]] += 1
    by_column = []
    for index, col in enumerate(cols):
        counter = Counter(r["cells"][index]["outcome"] for r in rows)
        by_column.append({"label": col["label"], "key": col["key"],
                          "counts": {o: counter.get(o, 0) for o in OUTCOME_ORDER},
                          "missing": counter.get(None, 0), "not_applicable": counter.get("na", 0)})
    verdict_names = ["holds", "refined", "refuted"] + sorted(set(verdicts) - {"holds", "refined", "refuted"})
    return {
        "claims": len(rows),
        "verdicts": [{"verdict": v, "claims": verdicts.get(v, 0)} for v in verdict_names if verdicts.get(v, 0)
                     or v in ("holds", "refined", "refuted")],
        "topics": [{"topic": t, "claims": sum(c.values()), **{v: c.get(v, 0) for v in ("holds", "refined", "refuted")}}
                   for t, c in topics.items()],
        "outcomes": by_column,
        "outcome_names": list(OUTCOME_ORDER),
    }


def _describe(cell: dict) -> str:
    if cell["outcome"] in (None, "na"):
        return OUTCOME_NAMES[cell["outcome"]]
    text = cell["outcome"]
    if cell["applied"]:
        text += " (applied: " + ", ".join(cell["applied"]) + ")"
    return text


def _changes(rows: list[dict], columns: list[Column]) -> list[dict]:
    index = {c.key: i for i, c in enumerate(columns)}
    by_device: dict[str, list[Column]] = {}
    for column in columns:
        by_device.setdefault(column.device, []).append(column)
    changes = []
    for device in sorted(by_device, key=_device_order):
        cols = by_device[device]
        for before, after in zip(cols, cols[1:]):
            for row in rows:
                a, b = row["cells"][index[before.key]], row["cells"][index[after.key]]
                if a["outcome"] not in results_mod.RAN or b["outcome"] not in results_mod.RAN:
                    continue
                what = []
                if a["outcome"] != b["outcome"]:
                    what.append(f"outcome {a['outcome']} → {b['outcome']}")
                if a["applied"] != b["applied"]:
                    what.append("applied expectations changed")
                what += report_groups.observed_change(a, b)
                if what:
                    changes.append({"id": row["id"], "topic": row["topic"], "device": device,
                                    "before": before.torch, "after": after.torch,
                                    "before_text": _describe(a), "after_text": _describe(b),
                                    "before_mark": a["mark"], "after_mark": b["mark"], "what": "; ".join(what)})
    return changes


def _not_run(rows: list[dict], columns: list[Column]) -> list[dict]:
    out = []
    for i, column in enumerate(columns):
        skipped = [r for r in rows if r["cells"][i]["outcome"] == "skipped"]
        missing = [r["id"] for r in rows if r["cells"][i]["outcome"] is None]
        if not skipped and not missing:
            continue
        reasons: dict[str, int] = {}
        for r in skipped:
            for entry in r["cells"][i]["entries"]:
                if entry["outcome"] == "skipped":
                    reason = entry.get("reason") or "no reason recorded"
                    reasons[reason] = reasons.get(reason, 0) + 1
        absent = []
        for run in column.runs:
            for item in run.data.get("devices", {}).get("absent", []):
                if item["device"] in column.device.split("-"):
                    absent.append({"run": run.label, "device": item["device"], "reason": item["reason"],
                                   "platform": run.data.get("platform", {}).get("description")})
        # a skip whose reason is just "not run on DEVICE: <why the device is absent>" is said by `absent`
        explained = {f"not run on {column.device}: {a['reason']}" for a in absent}
        explained_count = sum(count for reason, count in reasons.items() if reason in explained)
        reasons = {reason: count for reason, count in reasons.items() if reason not in explained}
        out.append({"label": column.label, "torch": column.torch, "device": column.device,
                    "skipped": len(skipped), "reasons": sorted(reasons.items()),
                    "explained": explained_count,
                    "total": sum(1 for r in rows if r["cells"][i]["outcome"] != "na"),
                    "absent": absent, "missing": missing, "runs": [r.label for r in column.runs]})
    return out


# -- claims from the spec files --------------------------------------------------------------------
def claims_from_specs(dirs: list[Path]) -> tuple[list[dict], list[dict], int]:
    """(claims, files that could not be read, number of spec files) from spec directories."""
    from .errors import SpecError, SpecErrors
    from .loading import load_file
    from .schema import validate

    claims, errors, files = [], [], 0
    for directory in dirs:
        paths = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        for path in paths:
            files += 1
            shown = _shown(path)
            try:
                doc = load_file(path, shown)
                spec = validate(doc)
            except (SpecError, SpecErrors) as exc:
                errors.append({"file": shown, "message": str(exc)})
                continue
            for index, claim in enumerate(spec.claims):
                claims.append({
                    "id": claim.id, "topic": claim.topic or spec.topic, "verdict": claim.verdict,
                    "statement": claim.statement, "refinement": claim.refinement,
                    "sources": [{k: getattr(s, k) for k in ("seed", "url", "quote", "none") if getattr(s, k, None)}
                                for s in claim.sources],
                    "spec_file": shown, "spec_line": doc.line_of(("claims", index)),
                    "devices": _devices_text(claim.devices),
                })
    return claims, errors, files


def _devices_text(devices: Any) -> str:
    """'' for the default (every requested device), else how the claim restricts its devices."""
    if devices == "all":
        return ""
    if devices == "cross":
        return "cross-device (CPU and an accelerator)"
    data = devices.model_dump(by_alias=True) if hasattr(devices, "model_dump") else dict(devices)
    if isinstance(data.get("cross"), str):
        return f"cross-device (CPU and {data['cross']})"
    for key, names in data.items():
        if names:
            return f"{key.rstrip('_')} {', '.join(names)}"
    return ""


def claims_summary(claims: list[dict]) -> dict:
    from collections import Counter

    order = _topic_order()
    claims = sorted(claims, key=lambda c: (order.get(c["topic"], len(order)), c["topic"] or "",
                                           c["spec_file"] or "", c["spec_line"] or 0, c["id"]))
    topics: dict[str, list] = {}
    for claim in claims:
        topics.setdefault(claim["topic"] or "unknown", []).append(claim)
    verdicts = Counter(c["verdict"] for c in claims)
    seeds = Counter(seed for c in claims for seed in {s["seed"] for s in c.get("sources") or [] if s.get("seed")})
    return {
        "claims": claims,
        "by_topic": [{"topic": t, "claims": cs, "count": len(cs),
                      **{v: sum(1 for c in cs if c["verdict"] == v) for v in ("holds", "refined", "refuted")}}
                     for t, cs in topics.items()],
        "verdicts": [{"verdict": v, "claims": verdicts.get(v, 0)} for v in ("holds", "refined", "refuted")],
        "seeds": sorted(seeds.items()),
    }


# -- rendering -------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*<])")


def md_text(value: Any) -> str:
    """Escape prose for Markdown so code-like text (``x * 3``, ``<b>``) shows literally."""
    if value is None:
        return ""
    text = _MD_SPECIAL.sub(r"\\\1", str(value))
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def md_cell(value: Any) -> str:
    """Escape for a Markdown table cell: one line, no bare pipes."""
    return md_text(" ".join(str(value or "").split())).replace("|", "\\|")


def md_code(value: Any) -> str:
    """Inline code that survives backticks inside it."""
    text = " ".join(str(value or "").split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def md_fence(value: Any, lang: str = "") -> str:
    text = str(value or "").rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def md_quote(value: Any) -> str:
    return "\n".join("> " + md_text(line) if line.strip() else ">" for line in str(value or "").splitlines())


def by_seed(sources: Any) -> list[dict]:
    """Sources grouped by seed article, in order: [{seed, quotes: [...]}]."""
    groups: list[dict] = []
    for source in sources or []:
        where = source.get("seed") or source.get("url") or f"no source: {source.get('none') or 'not given'}"
        quotes = [source["quote"]] if source.get("quote") else []
        if groups and groups[-1]["seed"] == where:
            groups[-1]["quotes"].extend(quotes)
        else:
            groups.append({"seed": where, "quotes": quotes})
    return groups


def html_id(value: Any) -> str:
    return "claim-" + re.sub(r"[^A-Za-z0-9_-]", "-", str(value))


@lru_cache(maxsize=None)
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=lambda name: bool(name) and name.endswith(".html.jinja"),
                      undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(md_text=md_text, md_cell=md_cell, md_code=md_code, md_fence=md_fence,
                       md_quote=md_quote, html_id=html_id, by_seed=by_seed)
    env.globals.update(marks=MARKS, outcome_names=OUTCOME_NAMES, cell_text=CELL_TEXT,
                       legend=[{"outcome": o, "mark": MARKS[o] or "(blank)", "text": t} for o, t in LEGEND])
    return env


def page_view(merged: dict) -> dict:
    """What the HTML overview shows: columns where some claim ran; the others folded into one note."""
    ran = set(results_mod.RAN)
    shown, folded = [], []
    for index, col in enumerate(merged["columns"]):
        if any(row["cells"][index]["outcome"] in ran for row in merged["claims"]):
            shown.append(index)
        else:
            folded.append(f"torch {col['torch']} · {col['device']}")
    return {"shown": shown, "folded": folded}


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def _command(argv_inputs: list[str], out: str, claims_only: bool, specs: list[str]) -> str:
    parts = ["python -m conformance report"]
    if claims_only:
        parts.append("--claims-only")
    parts.extend(_shown(Path(p)) + ("/" if p.endswith(("/", os.sep)) else "") for p in argv_inputs)
    for spec in specs:
        parts.append(f"--specs {_shown(Path(spec))}")
    parts.append(f"-o {_shown(Path(out))}" + ("/" if out.endswith(("/", os.sep)) else ""))
    return " ".join(parts)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# -- command line ----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance report",
        description="Merge conformance results files (several torch versions, devices, machines) into "
                    "verified-behaviour.md and verified-behaviour.html, and list the claims in claims.md.")
    parser.add_argument("results", nargs="*", help="results files, or directories searched for *.json")
    parser.add_argument("-o", "--output", required=True, help="directory to write the pages into")
    parser.add_argument("--specs", action="append", default=None, metavar="DIR",
                        help="spec directory for claims.md (repeatable; default: ./specs when it exists)")
    parser.add_argument("--claims-only", action="store_true",
                        help="write only claims.md, from the spec files (no results needed)")
    args = parser.parse_args(argv)
    out = Path(args.output)
    spec_args = args.specs if args.specs is not None else []
    spec_dirs = [Path(d) for d in spec_args] or ([Path("specs")] if Path("specs").is_dir() else [])
    for d in spec_dirs:
        if not d.is_dir():
            print(f"report: --specs {d}: not a directory", file=sys.stderr)
            return 2
    command = _command(args.results, args.output, args.claims_only, spec_args)

    merged = None
    if not args.claims_only:
        if not args.results:
            print("report: name at least one results file or directory (or use --claims-only)", file=sys.stderr)
            return 2
        paths, problems = find_results(args.results)
        runs, load_problems = load_runs(paths)
        for problem in problems + load_problems:
            print(f"report: {problem}", file=sys.stderr)
        if not runs:
            print("report: no results files could be read", file=sys.stderr)
            return 1
        merged = merge(runs)
        md = render("verified-behaviour.md.jinja", command=command, **merged)
        html = render("verified-behaviour.html.jinja", command=command, page=page_view(merged), **merged)
        _write(out / "verified-behaviour.md", md)
        _write(out / "verified-behaviour.html", html)
        ran = ", ".join(c["label"] for c in merged["columns"])
        print(f"wrote {out / 'verified-behaviour.md'} and {out / 'verified-behaviour.html'}: "
              f"{len(merged['claims'])} claims from {len(runs)} results files; columns: {ran}")
        print(f"  {len(merged['changes'])} changes between versions, {len(merged['not_run'])} columns with "
              f"claims not run, {len(merged['spec_errors'])} spec errors recorded")

    if spec_dirs:
        claims, errors, files = claims_from_specs(spec_dirs)
        origin = ", ".join(f"{_shown(d)}/**/*.yaml" for d in spec_dirs)
    elif merged is not None:
        claims = [{k: c[k] for k in ("id", "topic", "verdict", "statement", "refinement", "sources",
                                      "spec_file", "spec_line")} for c in merged["claims"]]
        errors, files = [], len({c["spec_file"] for c in claims})
        origin = "the results files (no spec directory found)"
    else:
        print("report: --claims-only needs spec files: run it where ./specs is, or pass --specs DIR",
              file=sys.stderr)
        return 2
    summary = claims_summary(claims)
    claims_command = _command([], args.output, True, spec_args) if args.claims_only or spec_dirs else command
    _write(out / "claims.md", render("claims.md.jinja", command=claims_command, origin=origin, files=files,
                                     errors=errors, **summary))
    print(f"wrote {out / 'claims.md'}: {len(summary['claims'])} claims from {files} spec files"
          + (f", {len(errors)} files could not be read" if errors else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
