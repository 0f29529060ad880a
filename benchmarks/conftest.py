"""Benchmarks of the conformance plugin: run with ``pytest benchmarks/`` (see README.md).

They live outside ``tests/`` so the project's test run never collects them, and the project's
``testpaths = ["specs"]`` does not apply because the directory is named on the command line.
Every benchmark measures a ratio side by side in the same run; the ratios are printed in a
section of their own at the end and stored in each benchmark's ``extra_info``
(``--benchmark-json=FILE`` keeps them).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the helper modules (cases, sidebyside, specgen)
    sys.path.insert(0, str(HERE))

from sidebyside import RATIOS  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    # Cheap, in-process benchmarks first; the subprocess ones (collection, whole suite) last.
    order = {"test_overhead.py": 0, "test_collection.py": 1, "test_suite.py": 2}
    items.sort(key=lambda item: order.get(item.path.name, 1))


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    if not RATIOS:
        return
    tr = terminalreporter
    tr.section("benchmark ratios (measured side by side in this run)")
    for ratio in RATIOS:
        tr.write_line(ratio.line())
