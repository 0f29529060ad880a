"""``python -m conformance mutate``: run the suite under every mutant of torch and print the kill matrix.

Note [Mutation runs]
The question is "would this suite notice a broken torch?". ``conformance.mutants`` holds the
broken torches; this module answers the question by running the conformance suite as a
subprocess (``sys.executable -m pytest SPECS -p no:cacheprovider -q -rfE
--conformance-profile=ci --maxfail=K``), first on the real torch, the baseline, which must pass
(otherwise a failing run under a mutant would prove nothing; exit 2), then once per mutant with
``--conformance-mutant=NAME``, which the plugin applies in ``pytest_configure`` before any spec is
collected. One process per mutant keeps mutants apart (a patch never leaks into another run) and
lets the runs go in parallel (``--jobs``, default: every core; each run is given
``OMP_NUM_THREADS=1`` unless the caller set it, so the runs do not fight over cores).

A run's exit status decides the mutant's fate: 1 (some claim failed) means KILLED; 0 (every claim
passed) means SURVIVED, the suite did not notice; a run that outlives ``--timeout`` is killed
(with its process group) and reported as TIMEOUT; anything else (usage error, internal error,
nothing collected) is ERROR. Only KILLED counts for the score; the command exits 1 unless every
mutant was killed. The killing claims are read from the ``FAILED``/``ERROR`` lines of ``-rfE``, so
nothing depends on the results-file format. ``--maxfail`` (default 3) stops a run after a few
failures: enough to name who killed it, without paying for a whole suite of failures.

Arguments this command does not know are passed to pytest as they are (``-k``, ``-m``, a spec
directory or file, ``--conformance-devices=cpu`` ...); with no path among them, the project's
``specs/`` is run. ``--`` ends this command's own options.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

KILLED, SURVIVED, TIMEOUT, ERROR = "KILLED", "SURVIVED", "TIMEOUT", "ERROR"
ROOT = Path(__file__).resolve().parents[1]
_REPORT_LINE = re.compile(r"^(FAILED|ERROR) (\S+)")


@dataclass
class Run:
    """One pytest run: the baseline (mutant None) or one mutant."""

    mutant: Optional[str]
    topic: str = ""
    status: str = ""
    returncode: Optional[int] = None
    wall_s: float = 0.0
    killing_claims: List[str] = field(default_factory=list)
    summary: str = ""  # pytest's last line ("3 failed, 2 passed in 4.1s")
    output_tail: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance mutate", allow_abbrev=False,
        description="Run the conformance suite under built-in mutants of torch and print the kill matrix. "
                    "Unknown arguments go to pytest (e.g. -k EXPR, a spec directory).")
    parser.add_argument("--mutants", default=None, metavar="A,B,...",
                        help="comma-separated mutant names (python -m conformance mutants lists them)")
    parser.add_argument("--fast", action="store_true",
                        help="only the built-in quick subset (at least one mutant per topic)")
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help="mutant runs in parallel (default: os.cpu_count())")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds per mutant run before it is killed and reported TIMEOUT "
                             "(default: max(120, 10 x the baseline's wall time))")
    parser.add_argument("--maxfail", type=int, default=3, metavar="K",
                        help="stop a run after K failed claims (default 3; 0: run every claim)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the matrix as JSON")
    parser.add_argument("--log-dir", default=None, metavar="DIR",
                        help="keep each run's full pytest output as DIR/<mutant>.log")
    parser.add_argument("--doc", default=None, metavar="MD",
                        help="rewrite the generated blocks (mutant table, kill matrix) of this doc, e.g. "
                             "docs/mutation.md, from this run or from --from-json")
    parser.add_argument("--from-json", action="append", default=[], metavar="JSON",
                        help="with --doc: run nothing, take the results from these --json files "
                             "(repeatable; a later file's row for a mutant replaces an earlier one)")
    parser.add_argument("--python", default=sys.executable, help=argparse.SUPPRESS)
    return parser


def _split(argv: Sequence[str]) -> tuple[List[str], List[str]]:
    argv = list(argv)
    if argv[:1] == ["--"]:  # ``python -m conformance mutate -- --fast``: argparse REMAINDER keeps the "--"
        argv = argv[1:]
    if "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1:]
    return argv, []


def _choose(parser: argparse.ArgumentParser, args: argparse.Namespace) -> List[str]:
    from . import mutants

    if args.mutants:
        names = [n.strip() for n in args.mutants.split(",") if n.strip()]
        unknown = [n for n in names if n not in mutants.MUTANTS]
        if unknown:
            parser.error(f"unknown mutant(s) {', '.join(unknown)}; known: {', '.join(mutants.MUTANTS)}")
        if args.fast:
            names = [n for n in names if mutants.MUTANTS[n].fast]
        return names
    if args.fast:
        return mutants.fast_names()
    return list(mutants.MUTANTS)


def _has_path(args: Sequence[str]) -> bool:
    for arg in args:
        if arg.startswith("-"):
            continue
        if Path(arg.split("::", 1)[0]).exists():
            return True
    return False


def pytest_command(python: str, passthrough: Sequence[str], maxfail: int, mutant: Optional[str]) -> List[str]:
    """The pytest command line of one run (the baseline when ``mutant`` is None)."""
    command = [python, "-m", "pytest"]
    if not _has_path(passthrough):
        from .plugin import shipped_specs  # the claims shipped in the package (the checkout's specs/)

        default = shipped_specs() or ROOT / "specs"
        command.append(str(default if default.is_dir() else Path("specs")))
    command += ["-p", "no:cacheprovider", "-q", "-rfE", "--tb=no", "--color=no"]
    if not any(a.startswith("--conformance-profile") for a in passthrough):
        command.append("--conformance-profile=ci")
    if maxfail > 0:
        command.append(f"--maxfail={maxfail}")
    command += list(passthrough)
    if mutant is not None:
        command.append(f"--conformance-mutant={mutant}")
    return command


def _environment() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("CONFORMANCE_MUTANT", None)  # the baseline must be the real torch
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def killing_claims(output: str) -> List[str]:
    """The items reported FAILED/ERROR, as claim keys (``claim-id[cpu]``) or node ids."""
    found = []
    for line in output.splitlines():
        match = _REPORT_LINE.match(line.strip())
        if match:
            nodeid = match.group(2)
            key = nodeid.split("::", 1)[1] if "::" in nodeid else nodeid
            if key == "spec-error":  # a spec file that did not load: name the file
                key = nodeid
            if key not in found:
                found.append(key)
    return found


def _last_line(output: str) -> str:
    for line in reversed(output.strip().splitlines()):
        text = line.strip().strip("=").strip()
        if text:
            return text
    return ""


def run_one(command: List[str], mutant: Optional[str], timeout: Optional[float],
            log_dir: Optional[Path] = None) -> Run:
    from . import mutants

    run = Run(mutant=mutant, topic=mutants.MUTANTS[mutant].topic if mutant else "")
    start = time.monotonic()
    posix = os.name == "posix"
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_environment(),
                            text=True, errors="replace", start_new_session=posix)
    try:
        output, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        if posix:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - it ended just now
                pass
        else:  # pragma: no cover
            proc.kill()
        output, _ = proc.communicate()
    run.wall_s = round(time.monotonic() - start, 2)
    run.returncode = proc.returncode
    run.killing_claims = killing_claims(output)
    run.summary = _last_line(output)
    run.output_tail = output[-3000:]
    if timed_out:
        run.status = TIMEOUT
    elif proc.returncode == 1:
        run.status = KILLED
    elif proc.returncode == 0:
        run.status = SURVIVED
    else:
        run.status = ERROR
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / f"{mutant or 'baseline'}.log").write_text(" ".join(command) + "\n\n" + output, encoding="utf-8")
    return run


def _row(run: Run, width: int) -> str:
    claims = ", ".join(run.killing_claims[:3]) + (" ..." if len(run.killing_claims) > 3 else "")
    if run.status != KILLED:
        claims = run.summary if run.status != SURVIVED else ""
    return f"{run.mutant:<{width}}  {run.topic:<13}  {run.status:<8}  {run.wall_s:7.1f}s  {claims}".rstrip()


def main(argv: Optional[Sequence[str]] = None) -> int:
    from . import mutants

    parser = _parser()
    own, after = _split(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(own)
    passthrough = unknown + after
    if args.from_json:
        if not args.doc:
            parser.error("--from-json needs --doc (the doc whose generated blocks to rewrite)")
        return _update_doc(args.doc, args.from_json)
    names = _choose(parser, args)
    if not names:
        parser.error("no mutant selected (--fast keeps only the quick subset of --mutants)")
    jobs = max(1, args.jobs or os.cpu_count() or 1)
    log_dir = Path(args.log_dir) if args.log_dir else None
    started = time.monotonic()

    base_cmd = pytest_command(args.python, passthrough, args.maxfail, None)
    print(f"baseline: {' '.join(base_cmd[1:])}", flush=True)
    baseline = run_one(base_cmd, None, args.timeout, log_dir)
    print(f"baseline: {baseline.summary} ({baseline.wall_s:.1f}s)", flush=True)
    if baseline.status != SURVIVED:
        print(f"error: the suite does not pass on the real torch (exit status {baseline.returncode}); "
              f"a mutation run would prove nothing. Failing: {', '.join(baseline.killing_claims[:10]) or '-'}\n"
              + baseline.output_tail[-1500:], file=sys.stderr)
        _write_json(args.json, baseline, [], names, jobs, time.monotonic() - started, passthrough)
        return 2
    timeout = args.timeout if args.timeout is not None else max(120.0, 10 * baseline.wall_s)
    print(f"running {len(names)} mutants, {jobs} at a time, {timeout:.0f}s each at most", flush=True)

    runs: Dict[str, Run] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_one, pytest_command(args.python, passthrough, args.maxfail, name), name,
                               timeout, log_dir): name for name in names}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            run = future.result()
            runs[run.mutant] = run
            print(f"[{done}/{len(names)}] {run.mutant}: {run.status} ({run.wall_s:.1f}s)", flush=True)

    ordered = [runs[n] for n in names]
    width = max([len("mutant")] + [len(n) for n in names])
    print()
    print(f"{'mutant':<{width}}  {'topic':<13}  {'result':<8}  {'time':>8}  killed by")
    for run in ordered:
        print(_row(run, width))
    killed = [r for r in ordered if r.status == KILLED]
    wall = time.monotonic() - started
    print()
    score = f"{len(killed)}/{len(ordered)}" + (f" ({100 * len(killed) / len(ordered):.0f}%)" if ordered else "")
    print(f"mutation score: {score} killed")
    for status in (SURVIVED, TIMEOUT, ERROR):
        group = [r.mutant for r in ordered if r.status == status]
        if group:
            print(f"{status.lower()}: {', '.join(group)}")
    survivors = [mutants.MUTANTS[r.mutant] for r in ordered if r.status == SURVIVED]
    if survivors:
        print("to kill the survivors, add:")
        for m in survivors:
            print(f"  {m.name}: {m.hint or m.description}")
    print(f"wall time: {wall:.1f}s (baseline {baseline.wall_s:.1f}s, {jobs} jobs)")
    _write_json(args.json, baseline, ordered, names, jobs, wall, passthrough)
    if args.doc:
        results = args.json
        if not results:
            import tempfile

            results = str(Path(tempfile.mkdtemp(prefix="mutation-")) / "mutation.json")
            _write_json(results, baseline, ordered, names, jobs, wall, passthrough)
        _update_doc(args.doc, [results])
    return 0 if len(killed) == len(ordered) else 1


def _update_doc(doc: str, results: Sequence[str]) -> int:
    """Rewrite the doc's generated blocks (Note [Generated mutation doc]); 0 when every shipped mutant is killed."""
    from . import mutants
    from .mutation_doc import DocError, update_doc

    try:
        killed, shipped, not_killed = update_doc(doc, mutants.MUTANTS, results)
    except (DocError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{doc}: mutant table and kill matrix rewritten from {', '.join(results)}: "
          f"{killed}/{shipped} shipped mutants killed" + (f"; not killed: {', '.join(not_killed)}" if not_killed else ""))
    return 0 if not not_killed else 1


def _write_json(path: Optional[str], baseline: Run, runs: List[Run], names: List[str], jobs: int, wall: float,
                passthrough: Sequence[str]) -> None:
    if not path:
        return
    import torch

    from . import mutants

    doc = {
        "torch": torch.__version__,
        "pytest_args": list(passthrough),
        "jobs": jobs,
        "wall_s": round(wall, 2),
        "baseline": baseline.to_json(),
        "killed": sum(r.status == KILLED for r in runs),
        "total": len(runs),
        "mutants": [dict(r.to_json(), description=mutants.MUTANTS[r.mutant].description,
                         hint=mutants.MUTANTS[r.mutant].hint) for r in runs],
        "not_run": [n for n in names if n not in {r.mutant for r in runs}],
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
