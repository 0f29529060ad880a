"""Where the time of one conformance run goes: Hypothesis, torch, the plugin, and the rest.

    .venv/bin/python benchmarks/profile_suite.py                 # pytest specs -p no:cacheprovider --conformance-profile=ci
    .venv/bin/python benchmarks/profile_suite.py -- specs/backward.yaml -k accumulate   # other pytest arguments

Runs pytest in this process twice: once plain (the wall time to compare with) and once under
cProfile. Every profiled function's *own* time (tottime, so nothing is counted twice) is given
to the group of the file it is defined in; C functions (``{method 'backward' of
'torch._C...'}``) go by the library named in them. Builtins and standard-library functions
that belong to no group (``isinstance``, ``getattr``, ``traceback``, ``inspect`` ...) are given
to whoever called them, in proportion to the time spent on each caller's behalf, so
``isinstance`` called by Hypothesis counts as Hypothesis. The groups add up to the profiled
total.
cProfile slows pure-Python code more than C code, so Python-heavy groups (Hypothesis, the
plugin) look somewhat larger here than in the plain run; the split is for finding where to look,
and the plain wall time is printed beside it. Also printed: collection vs running, and the
plugin's own most expensive functions.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ARGS = ["specs", "-p", "no:cacheprovider", "--conformance-profile=ci", "-q"]

GROUPS = ("hypothesis", "torch", "conformance (plugin)", "numpy", "pytest+pluggy", "ruamel+pydantic (loading)",
          "python+other")


def group_of(filename: str, function: str) -> str:
    path = filename.replace(os.sep, "/")
    if filename == "~":  # a C function: go by the library its description names
        text = function.lower()
        if "torch" in text:
            return "torch"
        if "numpy" in text or "ndarray" in text:
            return "numpy"
        if "pydantic" in text:
            return "ruamel+pydantic (loading)"
        return "python+other"
    if "/hypothesis/" in path or "/_hypothesis_" in path:
        return "hypothesis"
    if "/torch/" in path or "/functorch/" in path:
        return "torch"
    if "/site-packages/" not in path and "/conformance/" in path:
        return "conformance (plugin)"
    if "/numpy/" in path:
        return "numpy"
    if "/_pytest/" in path or "/pluggy/" in path or "/pytest_" in path or "/xdist/" in path:
        return "pytest+pluggy"
    if "/ruamel/" in path or "/pydantic" in path:
        return "ruamel+pydantic (loading)"
    return "python+other"


def attribute(stats: pstats.Stats) -> dict[tuple, dict[str, float]]:
    """For every function, how its own time splits over the groups (see the module's docstring)."""
    table = stats.stats  # type: ignore[attr-defined]
    shares: dict[tuple, dict[str, float]] = {}
    visiting: set = set()

    def share(key: tuple) -> dict[str, float]:
        if key in shares:
            return shares[key]
        group = group_of(key[0], key[2])
        callers = table[key][4] if key in table else {}
        if group != "python+other" or not callers or key in visiting:
            result = {group: 1.0}
        else:
            visiting.add(key)
            weights = {caller: max(entry[2], 0.0) for caller, entry in callers.items()}
            total = sum(weights.values())
            if total <= 0:
                weights = {caller: 1.0 for caller in callers}
                total = float(len(callers))
            result = defaultdict(float)
            for caller, weight in weights.items():
                for name, part in share(caller).items():
                    result[name] += part * weight / total
            result = dict(result)
            visiting.discard(key)
        shares[key] = result
        return result

    for key in table:
        share(key)
    return shares


def run_pytest(args: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        import pytest

        code = pytest.main(list(args))
    tail = [line for line in out.getvalue().splitlines() if line.strip()][-1:]
    print(f"  pytest: {tail[0] if tail else ''} (exit {int(code)})")
    return int(code)


def cumulative(stats: pstats.Stats, filename_part: str, function: str) -> float:
    total = 0.0
    for (filename, _, name), (_, _, _, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        if name == function and filename.replace(os.sep, "/").endswith(filename_part):
            total += ct
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=12, help="how many of the plugin's functions to list")
    parser.add_argument("--no-plain", action="store_true", help="skip the unprofiled run")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    options = parser.parse_args(argv)
    args = options.pytest_args or DEFAULT_ARGS
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))

    import hypothesis  # noqa: F401 - imported before timing, like pytest's plugin loading would
    import torch  # noqa: F401

    print(f"pytest {' '.join(args)}  (cwd {ROOT}, {os.cpu_count()} cpus, torch {torch.__version__})")
    plain = None
    if not options.no_plain:
        start = time.perf_counter()
        run_pytest(args)
        plain = time.perf_counter() - start
        from conformance import catalog

        catalog.clear_cache()  # the profiled run loads the spec files again, as a fresh run does

    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    run_pytest(args)
    profile.disable()
    profiled = time.perf_counter() - start
    stats = pstats.Stats(profile)

    own: dict[str, float] = defaultdict(float)
    unattributed = 0.0
    plugin_functions: list[tuple[float, str]] = []
    shares = attribute(stats)
    for key, (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        filename, line, name = key
        for group, part in shares[key].items():
            own[group] += tottime * part
        if group_of(filename, name) == "python+other":
            unattributed += tottime
        if group_of(filename, name) == "conformance (plugin)":
            plugin_functions.append((tottime, f"{Path(filename).name}:{line}({name})"))
    total = sum(own.values())

    print()
    if plain is not None:
        print(f"wall time: {plain:.2f} s plain, {profiled:.2f} s under cProfile")
    collect = cumulative(stats, "_pytest/main.py", "perform_collect")
    run = cumulative(stats, "_pytest/main.py", "pytest_runtestloop")
    print(f"profiled: collection {collect:.2f} s, running the items {run:.2f} s, "
          f"start-up and the rest {max(profiled - collect - run, 0):.2f} s")
    print()
    print(f"{'group (own time of its functions)':40s} {'seconds':>9s} {'share':>7s}")
    for group in GROUPS:
        print(f"{group:40s} {own[group]:9.2f} {100 * own[group] / total:6.1f}%")
    print(f"{'total':40s} {total:9.2f}")
    print(f"({unattributed:.2f} s of builtins and standard library were given to their callers' groups)")
    print()
    in_files = sum(seconds for seconds, _ in plugin_functions)
    print(f"the plugin's most expensive functions (own time; {in_files:.2f} s in conformance/ in all, "
          f"{own['conformance (plugin)'] - in_files:.2f} s more in builtins it called):")
    for seconds, where in sorted(plugin_functions, reverse=True)[:options.top]:
        print(f"  {seconds:7.3f} s  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
