"""The drift probe: what torch does differently between two releases, before any claim fails.

    python -m conformance drift observe -o obs-2.9.1.json       # in the env of one release
    python -m conformance drift OLD NEW                          # compare two of them

OLD and NEW are each an observations file written by ``drift observe`` (the matrix runner,
tools/matrix.py, writes one per release) or the Python interpreter of an environment where
that torch is installed (``.tox/torch280/bin/python``): the probe then runs ``drift observe``
there itself, with this repository on its path.

Note [Drift probe]
``observe`` compiles every claim for the installed torch and records, per claim, its outcome
(from a results file of the same torch when given, else by running it like the suite does) and
its observed behaviour on one fixed example (Note [Observed behaviour]). ``drift`` lines up the
two observation sets claim by claim and fact by fact (steps and checks numbered in the order
they ran) and lists:

  * drift: claims that pass on both releases but observed something different (a warning's
    text, an exception's message, a value, an as_stated check that held on one and not the
    other) - what a maintainer should express as a version range before it turns into a failure;
  * claims whose outcome differs or that fail on either side;
  * claims present on one side only.

Messages are compared after normalization (build paths, memory addresses), so two builds of
the same behaviour do not differ. The exit status is 0 whether or not anything drifted (``--strict``
makes drift exit 1); 2 is bad input.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import observing

FORMAT = 1


# --- observe (runs inside the environment of one torch) ------------------------------------

def _outcomes_from_results(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text())
    out = {}
    for claim in data.get("claims", []):
        for result in claim.get("results", []):
            if result.get("device") == "cpu":
                out[claim["id"]] = result.get("outcome", "unknown")
    return out


def _run_outcome(claim, slot) -> str:
    from . import profiles
    from .running import RunStats, run_claim

    try:
        run_claim(claim, slot, profiles.choose("ci", None), RunStats())
        return "passed"
    except Exception as exc:  # a failure of any kind: the outcome is what is recorded
        return f"failed ({type(exc).__name__})"


def observe(spec_dirs: list[Path], results: Path | None = None) -> dict:
    import torch

    from . import catalog, devices
    from .errors import SpecError, SpecErrors
    from .versions import installed_torch_version

    version = installed_torch_version()
    outcomes = _outcomes_from_results(results) if results else None
    claims: dict[str, Any] = {}
    errors: list[str] = []
    for directory in spec_dirs:
        for path in sorted(directory.rglob("*.y*ml")):
            shown = str(path)
            try:
                compiled = catalog.load_claims(path, shown, version, None)
            except (SpecError, SpecErrors) as exc:
                errors.append(str(exc))
                continue
            for claim in compiled:
                slot = next((s for s in devices.slots(claim.claim.devices, ("cpu",)) if not s.skip_reason), None)
                if slot is None:
                    continue  # cross-device or accelerator-only claims: nothing to observe on a CPU
                entry = {"file": claim.file, "line": claim.line, "applied": list(claim.applied)}
                if outcomes is not None:
                    entry["outcome"] = outcomes.get(claim.id, "not in results")
                else:
                    entry["outcome"] = _run_outcome(claim, slot)
                entry.update(observing.observe_claim(claim, slot))
                claims[claim.id] = entry
    return {"format": FORMAT, "torch": torch.__version__, "torch_version": str(version),
            "spec_errors": errors, "claims": claims}


# --- compare ---------------------------------------------------------------------------------

def load_side(where: str, spec_dirs: list[Path]) -> dict:
    """An observations file, or an interpreter to run ``drift observe`` in."""
    path = Path(where)
    if not path.exists():
        raise ValueError(f"{where}: no such file")
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{where}: not an observations file of format {FORMAT} (written by 'drift observe')")
        return data
    if not os.access(path, os.X_OK):
        raise ValueError(f"{where}: neither an observations .json file nor an executable Python interpreter")
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "obs.json"
        cmd = [str(path), "-m", "conformance", "drift", "observe", "-o", str(out)]
        for d in spec_dirs:
            cmd += ["--specs", str(d.resolve())]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])))
        proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ValueError(f"{where}: 'drift observe' failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads(out.read_text())


def compare(a: dict, b: dict) -> dict:
    drift, outcome_changes, failing, only = [], [], [], {"a": [], "b": []}
    ca, cb = a["claims"], b["claims"]
    for claim_id in sorted(set(ca) | set(cb), key=lambda c: ((ca.get(c) or cb.get(c))["file"], c)):
        if claim_id not in cb:
            only["a"].append(claim_id)
            continue
        if claim_id not in ca:
            only["b"].append(claim_id)
            continue
        x, y = ca[claim_id], cb[claim_id]
        fa, fb = observing.flatten(x), observing.flatten(y)
        facts = [{"fact": k, "a": fa.get(k, observing.NOT_OBSERVED), "b": fb.get(k, observing.NOT_OBSERVED)}
                 for k in sorted(set(fa) | set(fb), key=lambda k: (k.startswith("as_stated"), _order(k)))
                 if fa.get(k, observing.NOT_OBSERVED) != fb.get(k, observing.NOT_OBSERVED)]
        entry = {"claim": claim_id, "file": x["file"], "line": x["line"], "outcome_a": x["outcome"],
                 "outcome_b": y["outcome"], "applied_a": x.get("applied", []), "applied_b": y.get("applied", []),
                 "facts": facts}
        if x["outcome"] == y["outcome"] == "passed":
            if facts:
                drift.append(entry)
        elif x["outcome"] != y["outcome"]:
            outcome_changes.append(entry)
        else:
            failing.append(entry)
    return {"a": a["torch"], "b": b["torch"], "compared": len(set(ca) & set(cb)), "drift": drift,
            "outcome_changes": outcome_changes, "failing_on_both": failing, "only_a": only["a"], "only_b": only["b"]}


def _order(key: str) -> tuple:
    parts = key.split(" ", 3)
    try:
        return (parts[0] == "check", int(parts[1]), key)
    except (IndexError, ValueError):
        return (True, 0, key)


def _show(value: Any, width: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[:width] + " …"


def render(diff: dict) -> str:
    a, b = diff["a"], diff["b"]
    lines = [f"drift probe: torch {a} -> torch {b}: {diff['compared']} claims observed on both; "
             f"{len(diff['drift'])} pass on both but observe something different"]

    def claim_block(entry: dict, head: str) -> None:
        lines.append("")
        lines.append(f"{entry['file']}:{entry['line']}: {entry['claim']}  ({head})")
        if entry["applied_a"] != entry["applied_b"]:
            lines.append(f"    applied on {a}: {', '.join(entry['applied_a']) or 'unversioned'}; "
                         f"on {b}: {', '.join(entry['applied_b']) or 'unversioned'}")
        for fact in entry["facts"]:
            lines.append(f"    {fact['fact']}")
            lines.append(f"        {a}: {_show(fact['a'])}")
            lines.append(f"        {b}: {_show(fact['b'])}")
            change = observing.word_change(fact["a"], fact["b"])
            if change:
                lines.append(f"        change: {_show(change)}")

    for entry in diff["drift"]:
        claim_block(entry, "passes on both")
    if diff["outcome_changes"]:
        lines += ["", f"outcome changed ({len(diff['outcome_changes'])}):"]
        for entry in diff["outcome_changes"]:
            claim_block(entry, f"{entry['outcome_a']} on {a}, {entry['outcome_b']} on {b}")
    if diff["failing_on_both"]:
        lines += ["", f"failing on both ({len(diff['failing_on_both'])}): "
                  + ", ".join(e["claim"] for e in diff["failing_on_both"])]
    for side, name in (("only_a", a), ("only_b", b)):
        if diff[side]:
            lines += ["", f"observed on {name} only: {', '.join(diff[side])}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "observe":
        ap = argparse.ArgumentParser(prog="python -m conformance drift observe",
                                     description="record the observed behaviour of every claim on the installed torch")
        ap.add_argument("-o", "--output", default="-", help="observations JSON (default: stdout)")
        ap.add_argument("--specs", action="append", type=Path, default=None, help="spec directory (default: specs)")
        ap.add_argument("--results", type=Path, default=None,
                        help="take each claim's outcome from this results file of the same torch instead of running it")
        args = ap.parse_args(argv[1:])
        dirs = args.specs or [Path("specs")]
        missing = [str(d) for d in dirs if not d.is_dir()]
        if missing:
            print(f"drift observe: --specs: not a directory: {', '.join(missing)}", file=sys.stderr)
            return 2
        data = observe(dirs, args.results)
        text = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True)
        if args.output == "-":
            print(text)
        else:
            Path(args.output).write_text(text + "\n")
        return 0
    ap = argparse.ArgumentParser(prog="python -m conformance drift", description=__doc__.split("\n\n")[0],
                                 epilog="OLD/NEW: an observations .json file (drift observe) or a Python interpreter "
                                        "of an environment with that torch installed")
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--specs", action="append", type=Path, default=None, help="spec directory (default: specs)")
    ap.add_argument("--json", action="store_true", help="print the differences as JSON")
    ap.add_argument("--strict", action="store_true", help="exit 1 when any claim drifted")
    args = ap.parse_args(argv)
    dirs = args.specs or [Path("specs")]
    try:
        a, b = load_side(args.old, dirs), load_side(args.new, dirs)
    except (ValueError, OSError) as exc:
        print(f"drift: {exc}", file=sys.stderr)
        return 2
    diff = compare(a, b)
    print(json.dumps(diff, indent=1, ensure_ascii=False) if args.json else render(diff))
    return 1 if args.strict and diff["drift"] else 0


if __name__ == "__main__":
    sys.exit(main())
