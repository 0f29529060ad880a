"""``python -m conformance results-check``: each way a results file can be bad is caught.

Every case starts from a committed, clean results file, breaks one thing in a copy under
tmp_path, and checks that the command fails naming the file and the problem.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import results_check

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "results" / "torch-2.13.0.json"


def _copy(tmp_path: Path, edit=None, name: str = "torch-2.13.0.json") -> Path:
    data = json.loads(CLEAN.read_text(encoding="utf-8"))
    if edit is not None:
        edit(data)
    out = tmp_path / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def _set_outcome(outcome: str):
    def edit(data: dict) -> None:
        data["claims"][0]["results"][0]["outcome"] = outcome
    return edit


def test_a_clean_committed_file_passes(tmp_path, capsys):
    _copy(tmp_path)
    assert results_check.main([str(tmp_path / "results"), "--specs", str(ROOT / "specs"),
                               "--releases", "2.13.0"]) == 0
    assert "results-check: ok: 1 results files against" in capsys.readouterr().out


@pytest.mark.parametrize("outcome", ["failed", "error", "xpassed"])
def test_a_bad_outcome_fails_naming_claim_device_and_outcome(tmp_path, capsys, outcome):
    _copy(tmp_path, _set_outcome(outcome))
    claim = json.loads(CLEAN.read_text(encoding="utf-8"))["claims"][0]
    assert results_check.main([str(tmp_path / "results")]) == 1
    err = capsys.readouterr().err
    assert f"torch-2.13.0.json: {claim['id']}[{claim['results'][0]['device']}]: {outcome}" in err
    assert "FAILED: 1 problems" in err


@pytest.mark.parametrize("outcome", ["passed", "skipped", "xfailed"])
def test_allowed_outcomes_pass(tmp_path, outcome):
    _copy(tmp_path, _set_outcome(outcome))
    assert results_check.main([str(tmp_path / "results")]) == 0


def test_spec_and_collection_errors_fail(tmp_path, capsys):
    def edit(data):
        data["spec_errors"] = [{"file": "specs/x.yaml", "message": "specs/x.yaml:3: id: bad\nmore"}]
        data["collection_errors"] = [{"nodeid": "specs/y.yaml", "message": "boom"}]
    _copy(tmp_path, edit)
    assert results_check.main([str(tmp_path / "results")]) == 1
    err = capsys.readouterr().err
    assert "spec error in specs/x.yaml" in err and "collection error in specs/y.yaml" in err


def test_a_missing_current_claim_is_stale(tmp_path, capsys):
    dropped = {}

    def edit(data):
        dropped["id"] = data["claims"].pop(3)["id"]
    _copy(tmp_path, edit)
    # without --specs staleness is not checked; with it the dropped claim is named
    assert results_check.main([str(tmp_path / "results")]) == 0
    assert results_check.main([str(tmp_path / "results"), "--specs", str(ROOT / "specs")]) == 1
    err = capsys.readouterr().err
    assert f"torch-2.13.0.json: stale, 1 current claims missing: {dropped['id']}" in err


def test_a_release_without_results_fails(tmp_path, capsys):
    _copy(tmp_path)
    assert results_check.main([str(tmp_path / "results"), "--releases", "2.13.0,2.6.0"]) == 1
    assert "no results file for torch 2.6.0" in capsys.readouterr().err


def test_stale_folders_are_skipped_and_unreadable_files_fail(tmp_path, capsys):
    _copy(tmp_path, _set_outcome("failed"), name="stale/torch-2.13.0.json")
    _copy(tmp_path, name="torch-2.13.0.json")
    assert results_check.main([str(tmp_path / "results")]) == 0
    (tmp_path / "results" / "torch-9.9.9.json").write_text("{not json", encoding="utf-8")
    assert results_check.main([str(tmp_path / "results")]) == 1
    assert "torch-9.9.9.json: not a readable results file" in capsys.readouterr().err


def test_usage_errors_exit_2(tmp_path, capsys):
    assert results_check.main([str(tmp_path / "nowhere")]) == 2
    _copy(tmp_path)
    assert results_check.main([str(tmp_path / "results"), "--specs", str(tmp_path / "nope")]) == 2
    bad_specs = tmp_path / "badspecs"
    bad_specs.mkdir()
    (bad_specs / "broken.yaml").write_text("claims: [\n", encoding="utf-8")
    assert results_check.main([str(tmp_path / "results"), "--specs", str(bad_specs)]) == 2
    assert "do not load" in capsys.readouterr().err


def test_release_of_strips_the_local_build():
    assert results_check.release_of({"torch": {"version": "2.8.0+cu128"}}) == "2.8.0"
    assert results_check.release_of({"torch": {"version": "2.8.0+cu128", "release": "2.8.0"}}) == "2.8.0"


def test_the_command_is_wired_into_python_m_conformance(tmp_path):
    import subprocess
    import sys

    _copy(tmp_path, _set_outcome("failed"))
    proc = subprocess.run([sys.executable, "-m", "conformance", "results-check", str(tmp_path / "results")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ": failed" in proc.stderr


def test_a_claim_whose_text_changed_since_the_run_is_stale(tmp_path, capsys):
    edited = {}

    def edit(data):
        claim = data["claims"][5]
        edited["id"], claim["digest"] = claim["id"], "0000000000000000"  # the run saw another text
    _copy(tmp_path, edit)
    assert results_check.main([str(tmp_path / "results"), "--specs", str(ROOT / "specs")]) == 1
    err = capsys.readouterr().err
    assert f"torch-2.13.0.json: stale, 1 claims changed since the run: {edited['id']}" in err


def test_a_claim_edited_after_its_results_is_stale():
    claims = {"a": "0123456789abcdef", "b": "fedcba9876543210"}
    document = {"claims": [{"id": "a", "digest": "0123456789abcdef"}, {"id": "b", "digest": "1111111111111111"}]}
    assert results_check.stale_claims(document, claims) == {"missing": [], "changed": ["b"]}
    document["claims"][1]["digest"] = None  # written before results recorded digests
    assert results_check.stale_claims(document, claims)["changed"] == ["b"]
    assert results_check.stale_claims({"claims": []}, claims)["missing"] == ["a", "b"]
