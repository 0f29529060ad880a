"""The results file: what a run writes with --conformance-results, plain and under pytest-xdist."""
from __future__ import annotations

import json

import jsonschema
import pytest

from conformance import results
from helpers import ACCUMULATION_SPEC

SPEC = ACCUMULATION_SPEC
BROKEN = "topic: detach\nclaims:\n  - id: Not-Kebab\n"
ARGS = ("specs", "-p", "no:cacheprovider", "--conformance-specs=specs", "--conformance-devices=cpu,xpu", "--conformance-profile=ci",
        "--conformance-results=out/results.json")


def validator() -> jsonschema.Draft202012Validator:
    schema = results.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def run(pytester: pytest.Pytester, *extra: str) -> tuple[object, dict]:
    pytester.makefile(".yaml", **{"specs/backward": SPEC, "specs/broken": BROKEN})
    result = pytester.runpytest_subprocess(*ARGS, *extra)
    path = pytester.path / "out" / "results.json"
    assert path.is_file(), result.stdout.str()
    data = json.loads(path.read_text(encoding="utf-8"))
    validator().validate(data)
    return result, data


def outcomes(data: dict) -> dict:
    return {(c["id"], r["device"]): r["outcome"] for c in data["claims"] for r in c["results"]}


EXPECTED = {("grads-accumulate", "cpu"): "passed", ("grads-accumulate", "xpu"): "skipped",
            ("grads-overwritten", "cpu"): "failed", ("grads-overwritten", "xpu"): "skipped"}


def check_content(data: dict) -> None:
    """What a plain run and a distributed run must both record."""
    assert data["schema_version"] == results.SCHEMA_VERSION
    assert outcomes(data) == EXPECTED
    assert [c["id"] for c in data["claims"]] == ["grads-accumulate", "grads-overwritten"]
    assert data["summary"] == {"passed": 1, "failed": 1, "skipped": 2, "error": 0, "xfailed": 0, "xpassed": 0,
                               "spec_errors": 1}
    claim = data["claims"][1]
    assert claim["statement"].startswith("a deliberately wrong claim")
    assert claim["sources"] == [{"seed": "002_6f65035d0d7de381.txt", "quote": "該張量的梯度將累加到.grad屬性中"}]
    assert (claim["topic"], claim["verdict"], claim["spec_file"], claim["spec_line"]) == (
        "backward", "holds", "specs/backward.yaml", 14)
    failed, skipped = claim["results"]
    assert failed["device"] == "cpu" and failed["examples"] >= 1 and failed["verdict_check"] == "not applicable"
    assert failed["message"].startswith("claim grads-overwritten [cpu] failed (specs/backward.yaml:14)")
    assert "import torch" in failed["snippet"]
    assert skipped["reason"].startswith("not run on xpu") and skipped["message"] is None
    assert skipped["examples"] is None
    assert data["devices"]["requested"] == ["cpu", "xpu"] and data["devices"]["present"] == ["cpu"]
    assert [a["device"] for a in data["devices"]["absent"]] == ["xpu"]
    assert [e["file"] for e in data["spec_errors"]] == ["specs/broken.yaml"]
    assert "claim id must be lower-case kebab-case" in data["spec_errors"][0]["message"]
    assert data["hypothesis"]["profile"] == "ci" and data["hypothesis"]["base_seed"] == 0
    assert data["exit_status"] == 1


def test_plain_run_writes_a_results_file_that_validates(pytester):
    result, data = run(pytester)
    check_content(data)
    assert data["xdist_workers"] is None
    result.stdout.fnmatch_lines(["*conformance summary*", "results written to out*results.json (2 claims, 4 items,"
                                 " 1 spec errors)", "docs: python -m conformance report out -o docs/*"])


def test_xdist_run_writes_one_file_with_the_same_content(pytester):
    pytest.importorskip("xdist")
    result, data = run(pytester, "-n", "2")
    check_content(data)  # only the controller wrote, from reports its workers sent
    assert data["xdist_workers"] == 2
    assert not list((pytester.path / "out").glob("*.tmp"))
    result.stdout.fnmatch_lines(["results written to out*results.json (2 claims, 4 items, 1 spec errors)"])


def test_load_refuses_files_of_another_layout(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema_version": 0, "claims": [], "torch": {}}), encoding="utf-8")
    with pytest.raises(ValueError, match="schema_version 0"):
        results.load(path)
