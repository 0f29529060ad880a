"""``python -m conformance results-check``: are these results files clean and current?

Note [Checking results files]
A results file (Note [Results files]) is *clean* when every item ended in an allowed outcome --
``passed``, ``skipped`` (an absent device, reported as not run) or ``xfailed`` (a claim listed in a
known-failure file) -- and the run recorded no spec error and no collection error. ``failed``,
``error`` and ``xpassed`` (a listed known failure that passed: the list is out of date) are not.

A results file is *stale* against a set of spec directories when a claim of those specs is missing
from it (the claim was added or renamed after the run, or its file did not load on that torch) or
when the file recorded the claim with another digest (``schema.claim_digest``: the claim's text
changed after the run, or the file predates digests). (Extra claims in the file are not staleness:
the report shows a removed claim as absent from the newer runs.) With ``--releases`` every named
torch release must also have at least one file.

The same functions decide this for CI (the final job of the repository's workflow, the users'
reusable workflow) and for the project's test of its committed results
(tests/test_committed_results.py), so the two cannot disagree.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterable

ALLOWED_OUTCOMES = ("passed", "skipped", "xfailed")


def release_of(data: dict) -> str:
    """The torch release a results file was made with (``2.8.0`` for ``2.8.0+cu128``)."""
    torch = data.get("torch") or {}
    return str(torch.get("release") or str(torch.get("version") or "unknown").split("+")[0])


def failures(data: dict) -> list[str]:
    """Every item whose outcome is not allowed, then every spec and collection error, as text."""
    bad = [f"{claim['id']}[{result['device']}]: {result['outcome']}"
           for claim in data.get("claims", []) for result in claim.get("results", [])
           if result.get("outcome") not in ALLOWED_OUTCOMES]
    bad += [f"spec error in {e.get('file')}: {(e.get('message') or '').strip().splitlines()[:1]}"
            for e in data.get("spec_errors", [])]
    bad += [f"collection error in {e.get('nodeid')}" for e in data.get("collection_errors", [])]
    return bad


def stale_claims(data: dict, claims: dict[str, str]) -> dict[str, list[str]]:
    """Of ``claims`` (id -> digest): those the file does not record ("missing") and those it records
    with another digest or none ("changed")."""
    recorded = {claim["id"]: claim.get("digest") for claim in data.get("claims", [])}
    return {"missing": sorted(set(claims) - set(recorded)),
            "changed": sorted(i for i, digest in claims.items() if i in recorded and recorded[i] != digest)}


def current_claims(spec_dirs: Iterable[Path]) -> dict[str, str]:
    """Every claim in the YAML files under ``spec_dirs`` (loaded and validated): id -> digest."""
    from . import loading, schema

    claims: dict[str, str] = {}
    for directory in spec_dirs:
        for path in sorted(Path(directory).rglob("*")):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                claims.update((claim.id, schema.claim_digest(claim))
                              for claim in schema.validate(loading.load_file(path)).claims)
    return claims


def check(paths: list[Path], claims: dict[str, str] | None = None, releases: Iterable[str] = ()) -> list[str]:
    """Problems with these results files, one line each; empty when they are clean and current."""
    from . import results as results_mod

    problems: list[str] = []
    seen: set[str] = set()
    for path in paths:
        try:
            data = results_mod.load(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        seen.add(release_of(data))
        for failure in failures(data):
            problems.append(f"{path.name}: {failure}")
        if claims is not None:
            stale = stale_claims(data, claims)
            if stale["missing"]:
                problems.append(f"{path.name}: stale, {len(stale['missing'])} current claims missing: "
                                f"{', '.join(stale['missing'])}")
            if stale["changed"]:
                problems.append(f"{path.name}: stale, {len(stale['changed'])} claims changed since the run: "
                                f"{', '.join(stale['changed'])}")
    for release in releases:
        if release.split("+")[0] not in seen:  # '2.13.0+cpu' names the release 2.13.0
            problems.append(f"no results file for torch {release}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance results-check",
        description="Fail (exit 1) when a results file records a failed claim, an error or an unexpected "
                    "pass, when it misses a claim of the given spec directories (stale), or when a named "
                    "torch release has no results file.")
    parser.add_argument("results", nargs="+", help="results files, or directories searched for *.json "
                                                    "(stale/ folders are skipped, as by the report)")
    parser.add_argument("--specs", action="append", default=[], metavar="DIR",
                        help="check that every claim under DIR is recorded (repeatable)")
    parser.add_argument("--releases", default="", metavar="LIST",
                        help="comma-separated torch releases that must each have a results file")
    args = parser.parse_args(argv)
    from .report import find_results

    paths, problems = find_results(args.results)
    for d in args.specs:
        if not Path(d).is_dir():
            problems.append(f"--specs {d}: not a directory")
    if problems:
        for problem in problems:
            print(f"results-check: {problem}", file=sys.stderr)
        return 2
    from .errors import SpecError, SpecErrors

    try:
        claims = current_claims(Path(d) for d in args.specs) if args.specs else None
    except (SpecError, SpecErrors) as exc:
        print(f"results-check: the claims of --specs do not load:\n{exc}", file=sys.stderr)
        return 2
    releases = [r.strip() for r in args.releases.split(",") if r.strip()]
    problems = check(paths, claims, releases)
    for problem in problems:
        print(f"results-check: {problem}", file=sys.stderr)
    what = f"{len(paths)} results files" + (f" against {len(claims)} claims" if claims is not None else "")
    if problems:
        print(f"results-check: FAILED: {len(problems)} problems in {what}", file=sys.stderr)
        return 1
    print(f"results-check: ok: {what}, no failed claim" + (", none stale" if claims is not None else "")
          + (f", every release of {', '.join(releases)} present" if releases else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
