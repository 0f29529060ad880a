"""Release grouping in the report: folded columns, release ranges, observed behaviour per release."""
from __future__ import annotations

from types import SimpleNamespace

from conformance import report_groups


def warning_observation(word: str) -> dict:
    return {"example": "Example(x=...)", "observed": [
        {"at": "do[0]", "do": "g = h.grad", "warnings": [f"UserWarning: See the PR for more {word}"]},
        {"at": "expect[0]", "check": "that: g is None", "held": True}]}


def cell(torch: str, outcome: str = "passed", device: str = "cpu", applied=(), observed=None, examples=25) -> dict:
    entries = [] if outcome is None else [{"outcome": outcome, "verdict_check": "confirmed", "applied": list(applied),
                                           "note": "", "examples": examples, "run": f"torch-{torch}.json",
                                           "observed": observed}]
    return {"torch": torch, "device": device, "outcome": outcome, "entries": entries, "applied": list(applied)}


def test_consecutive_releases_with_the_same_result_are_one_row():
    cells = [cell("2.7.1", applied=["do[2] torch<2.9"]), cell("2.8.0", applied=["do[2] torch<2.9"], examples=20),
             cell("2.9.1", applied=["do[3] torch>=2.9"]), cell("2.10.0", "failed", applied=["do[3] torch>=2.9"]),
             cell("2.7.1", "skipped", device="cuda"), cell("2.8.0", "skipped", device="cuda")]
    groups = report_groups.release_groups(cells)
    assert [(g["torch"], g["device"], g["outcome"]) for g in groups] == [
        ("2.7.1 – 2.8.0", "cpu", "passed"), ("2.9.1", "cpu", "passed"), ("2.10.0", "cpu", "failed"),
        ("2.7.1 – 2.8.0", "cuda", "skipped")]
    assert groups[0]["examples"] == "20–25" and groups[0]["run"] == "2 results files"
    assert groups[1]["run"] == "torch-2.9.1.json" and groups[1]["applied"] == ["do[3] torch>=2.9"]


def test_observed_values_are_shown_as_release_spans_with_the_change():
    cells = [cell(v, observed=warning_observation("informations.")) for v in ("2.7.1", "2.8.0")]
    cells += [cell(v, observed=warning_observation("information.")) for v in ("2.9.1", "2.10.0")]
    (fact,) = report_groups.observed_spans(cells)  # the check held everywhere: not listed
    assert fact["fact"] == "step 1 (g = h.grad) warnings"
    assert [s["torch"] for s in fact["spans"]] == ["2.7.1 – 2.8.0", "2.9.1 – 2.10.0"]
    assert fact["spans"][1]["change"] == "… PR for more [-informations.-] [+information.+]"
    assert report_groups.observed_change(cells[1], cells[2]) == [
        "observed step 1 (g = h.grad) warnings: … PR for more [-informations.-] [+information.+]"]
    assert report_groups.observed_change(cells[0], cells[1]) == []
    same = [cell(v, observed=warning_observation("information.")) for v in ("2.9.1", "2.10.0")]
    assert report_groups.observed_spans(same) == []


def test_columns_where_nothing_ran_are_folded():
    columns = [SimpleNamespace(torch=t, device=d) for t in ("2.8.0", "2.9.1") for d in ("cpu", "cuda")]
    row = {"id": "c", "outcomes": ["passed", "skipped"],
           "cells": [cell("2.8.0"), cell("2.8.0", "skipped", "cuda"), cell("2.9.1"), cell("2.9.1", "skipped", "cuda")]}
    rows, kept, folded = report_groups.fold_columns([row], columns)
    assert [(c.torch, c.device) for c in kept] == [("2.8.0", "cpu"), ("2.9.1", "cpu")]
    assert folded == [{"device": "cuda", "releases": 2, "torch": ["2.8.0", "2.9.1"]}]
    assert [c["outcome"] for c in rows[0]["cells"]] == ["passed", "passed"] and rows[0]["outcomes"] == ["passed"]
    row["cells"][1] = cell("2.8.0", "failed", "cuda")  # an item ran on cuda under 2.8.0: that column stays
    assert report_groups.fold_columns([row], columns)[2] == [{"device": "cuda", "releases": 1, "torch": ["2.9.1"]}]
