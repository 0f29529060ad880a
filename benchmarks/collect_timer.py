"""A pytest plugin for the collection benchmark: writes how long collection itself took.

Loaded in the benchmark's subprocess with ``-p collect_timer`` (benchmarks/ on PYTHONPATH); it
writes ``{"seconds": ..., "items": ...}`` to the file named by ``COLLECT_TIMER_FILE``, so the
interpreter, torch and pytest start-up (seconds, and noisy) can be told apart from collection.
"""
from __future__ import annotations

import json
import os
import time

_started: list[float] = []


def pytest_collection(session) -> None:
    _started.append(time.perf_counter())


def pytest_collection_finish(session) -> None:
    path = os.environ.get("COLLECT_TIMER_FILE")
    if path and _started:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"seconds": time.perf_counter() - _started[0], "items": len(session.items)}, out)
