"""The fast mutation subset (one mutant per topic) is killed by the real spec corpus.

This is the suite-level proof that the checks can fail: each mutant breaks one behaviour the
articles describe, inside a pytest subprocess, and the conformance run must catch it. The full
run over every mutant is ``python -m conformance mutate`` (docs/mutation.md).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conformance import mutants

ROOT = Path(__file__).resolve().parents[1]


def test_fast_subset_covers_every_topic():
    topics = {mutants.MUTANTS[name].topic for name in mutants.fast_names()}
    assert topics == {m.topic for m in mutants.MUTANTS.values()}


def test_every_fast_mutant_is_killed_by_the_spec_corpus(tmp_path):
    matrix = tmp_path / "matrix.json"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "mutate", "--fast", "--jobs", "2", "--json", str(matrix),
         "--conformance-devices=cpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    data = json.loads(matrix.read_text(encoding="utf-8"))
    assert data["total"] == len(mutants.fast_names()) and data["killed"] == data["total"], data
    assert {m["mutant"] for m in data["mutants"]} == set(mutants.fast_names())
