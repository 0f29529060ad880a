"""Command line: ``python -m conformance schema`` (write the JSON Schema)."""
from __future__ import annotations

import argparse
import sys


PASS_THROUGH = ("report", "mutate")  # sub-commands that parse their own arguments


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "drift":  # observed behaviour of two torch releases, compared
        from . import drift

        return drift.main(argv[1:])
    if argv and argv[0] in PASS_THROUGH:
        rest = argv[1:]
        if argv[0] == "report":
            from . import report

            return report.main(rest)
        from . import mutation

        return mutation.main(rest)
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    schema_cmd = sub.add_parser("schema", help="write the spec format's JSON Schema")
    schema_cmd.add_argument("-o", "--output", default=None, help="path (default: the copy shipped in the package)")
    report_cmd = sub.add_parser("report", help="merge results files into docs (verified-behaviour.md/.html)")
    report_cmd.add_argument("rest", nargs=argparse.REMAINDER)
    mutate_cmd = sub.add_parser("mutate", help="run the suite under every built-in mutant; print the kill matrix")
    mutate_cmd.add_argument("rest", nargs=argparse.REMAINDER)
    sub.add_parser("mutants", help="list the built-in mutants")
    args = parser.parse_args(argv)
    if args.command == "report":
        from . import report

        return report.main(args.rest)
    if args.command == "mutate":
        from . import mutation

        return mutation.main(args.rest)
    if args.command == "mutants":
        from . import mutants

        for mutant in mutants.MUTANTS.values():
            print(f"{mutant.name:40s} {mutant.topic:14s} {mutant.description}")
        return 0
    if args.command == "schema":
        from pathlib import Path

        from .schema import SCHEMA_PATH, write_json_schema

        target = Path(args.output) if args.output else SCHEMA_PATH
        write_json_schema(target)
        print(f"wrote {target}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
