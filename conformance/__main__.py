"""The command line of autograd-conformance (also ``python -m conformance``).

Note [Subcommands]
``COMMANDS`` is the whole command line: one row per subcommand with its one-line help and the
function that runs it on the remaining arguments. ``--help`` lists every row; adding a
subcommand is adding a row. Subcommands that have options of their own parse them themselves
(``run`` hands them to pytest).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable


def _run(rest: list[str]) -> int:
    """Run the shipped claims against the installed torch; any pytest option may follow."""
    from .plugin import shipped_specs

    where = shipped_specs()
    if where is None:
        print("autograd-conformance: the shipped claims are missing from this installation", file=sys.stderr)
        return 4
    if any(a in ("-h", "--help") for a in rest):
        print(f"usage: {_prog()} run [PYTEST OPTIONS...]\n\n{_run.__doc__}\nThe claims: {where}\n"
              f"Conformance options: see 'pytest --help' (group 'autograd conformance suite') or docs/options.md.")
        return 0
    import subprocess

    # a fresh interpreter: pytest must import this package itself (to rewrite its asserts, without warnings)
    return subprocess.call([sys.executable, "-m", "pytest", str(where), *rest])


def _schema(rest: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog=f"{_prog()} schema",
                                     description="print the spec format's JSON Schema (or write it with -o)")
    parser.add_argument("-o", "--output", default=None, help="write it to this file instead of standard output")
    args = parser.parse_args(rest)
    if args.output:
        from .schema import write_json_schema

        from pathlib import Path

        write_json_schema(Path(args.output))
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    import json

    from .schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
    return 0


def _report(rest: list[str]) -> int:
    from . import report

    return report.main(rest)


def _results_check(rest: list[str]) -> int:
    from . import results_check

    return results_check.main(rest)


def _mutate(rest: list[str]) -> int:
    from . import mutation

    return mutation.main(rest)


def _mutants(rest: list[str]) -> int:
    from . import mutants

    for mutant in mutants.MUTANTS.values():
        print(f"{mutant.name:40s} {mutant.topic:14s} {mutant.description}")
    return 0


def _drift(rest: list[str]) -> int:
    from . import drift

    return drift.main(rest)


@dataclass(frozen=True)
class Command:
    help: str
    main: Callable[[list[str]], int]


COMMANDS: dict[str, Command] = {
    "run": Command("run the shipped claims against the installed torch (pytest options may follow)", _run),
    "report": Command("merge results files into docs (verified-behaviour.md/.html, claims.md)", _report),
    "results-check": Command("fail when results files record a failed claim or miss current claims (stale)",
                             _results_check),
    "schema": Command("print the spec format's JSON Schema (-o FILE writes it)", _schema),
    "mutate": Command("run the suite under every built-in mutant of torch; print the kill matrix", _mutate),
    "mutants": Command("list the built-in mutants", _mutants),
    "drift": Command("compare the behaviour the claims observe on two installed torch releases", _drift),
}


def _prog() -> str:
    name = os.path.basename(sys.argv[0] or "")
    return "python -m conformance" if name in ("__main__.py", "", "-c") else name


def usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = [f"usage: {_prog()} COMMAND [ARGS...]", "",
             "A behavioural conformance suite for PyTorch autograd (YAML claims, run by pytest).", "",
             "commands:"]
    lines += [f"  {name:<{width}}  {cmd.help}" for name, cmd in COMMANDS.items()]
    lines += ["", f"'{_prog()} COMMAND --help' describes one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    command = COMMANDS.get(argv[0])
    if command is None:
        print(f"{_prog()}: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return command.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
