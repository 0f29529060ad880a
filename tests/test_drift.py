"""Observed behaviour and the drift probe: what torch did, compared between two torch builds."""
from __future__ import annotations

import json
import os
import sys
import textwrap

import pytest
import torch

from conformance import drift, observing
from helpers import QUOTE, SEED_FILE

SPEC = textwrap.dedent(f"""\
    topic: item
    claims:
      - id: item-of-many-raises
        sources: [{{seed: {SEED_FILE}, quote: {json.dumps(QUOTE, ensure_ascii=False)}}}]
        statement: item() of a tensor with several elements raises; sum() gives one element.
        verdict: holds
        given:
          m: {{tensor: {{dtype: float, shape: {{min_dims: 1, max_dims: 2, min_side: 2}}}}}}
        do:
          - do: m.item()
            raises: RuntimeError
          - s = m.sum()
        expect:
          - that: s.dim() == 0
      - id: versioned-sum
        sources: [{{seed: {SEED_FILE}, quote: {json.dumps(QUOTE, ensure_ascii=False)}}}]
        statement: a claim with a versioned step records what it observed in the results.
        verdict: holds
        given:
          x: {{tensor: {{dtype: float32, shape: [2]}}}}
        do:
          - {{do: "s = x.sum()", torch: ">=1.0"}}
        expect:
          - that: s.dim() == 0
    """)


@pytest.fixture()
def specs(tmp_path):
    d = tmp_path / "specs"
    d.mkdir()
    (d / "item.yaml").write_text(SPEC, encoding="utf-8")
    return d


def test_normalize_cuts_build_paths_and_addresses():
    text = "x is deprecated (Triggered internally at /pytorch/aten/src/ATen/core/TensorBody.h:494.)"
    assert observing.normalize(text) == "x is deprecated"
    assert observing.normalize("<object at 0x7f3a9c2b10d0>") == "<object at 0x…>"
    long = "start " + "word " * 400 + "the end."
    assert observing.normalize(long).endswith("the end.") and " … " in observing.normalize(long)


def test_observe_records_the_exception_and_values(specs):
    data = drift.observe([specs])
    seen = data["claims"]["item-of-many-raises"]
    assert seen["outcome"] == "passed"
    flat = observing.flatten(seen)
    assert flat["step 1 (m.item()) raised"].startswith("RuntimeError: a Tensor with ")
    assert flat["step 2 (s = m.sum()) s"]["shape"] == [] and flat["check 1 (that: s.dim() == 0) held"] is True


def test_same_build_has_no_drift_and_a_changed_message_is_drift(specs, monkeypatch):
    before = drift.observe([specs])
    assert drift.compare(before, drift.observe([specs]))["drift"] == []

    real = torch.Tensor.item

    def item(self):  # the wording torch 1.13 used, on the same condition
        if self.numel() != 1:
            raise RuntimeError("only one element tensors can be converted to Python scalars")
        return real(self)

    monkeypatch.setattr(torch.Tensor, "item", item)
    after = drift.observe([specs])
    diff = drift.compare(before, after)
    assert [d["claim"] for d in diff["drift"]] == ["item-of-many-raises"]  # passes on both, observed differently
    (fact,) = diff["drift"][0]["facts"]
    assert fact["fact"] == "step 1 (m.item()) raised"
    text = drift.render(diff)
    assert "1 pass on both but observe something different" in text
    assert "[+only one element tensors can+] be converted to [-Scalar-] [+Python scalars+]" in text


def test_a_claim_that_fails_on_one_side_is_an_outcome_change_not_drift(specs, monkeypatch):
    before = drift.observe([specs])
    real = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda self: 0.0 if self.numel() != 1 else real(self))  # no raise: fails
    diff = drift.compare(before, drift.observe([specs]))
    assert diff["drift"] == []
    (entry,) = diff["outcome_changes"]
    assert entry["claim"] == "item-of-many-raises" and entry["outcome_b"].startswith("failed")
    assert any(f["fact"] == "step 1 (m.item()) raised" and f["b"] == "(not observed)" for f in entry["facts"])


def test_bad_sides_are_refused_with_exit_2(tmp_path, capsys):
    assert drift.main([str(tmp_path / "missing.json"), str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text('{"claims": []}')
    assert drift.main([str(other), str(other)]) == 2
    assert "not an observations file" in capsys.readouterr().err
    assert drift.main(["observe", "--specs", str(tmp_path / "nope")]) == 2


def test_an_interpreter_is_observed_in_its_own_process(specs, tmp_path, capsys):
    saved = tmp_path / "here.json"
    assert drift.main(["observe", "-o", str(saved), "--specs", str(specs)]) == 0
    assert drift.main([sys.executable, str(saved), "--specs", str(specs), "--strict"]) == 0
    out = capsys.readouterr().out
    assert f"torch {torch.__version__} -> torch {torch.__version__}: 2 claims observed on both; 0 pass" in out


def test_results_record_observations_of_versioned_claims_only(specs, tmp_path):
    here = os.getcwd()
    os.chdir(specs.parent)
    try:
        code = pytest.main(["specs", "--conformance-specs=specs", "-p", "no:cacheprovider", "-q", "--conformance-profile=ci",
                            "--conformance-devices=cpu", "--conformance-results=results.json"])
    finally:
        os.chdir(here)
    assert code == 0
    data = json.loads((specs.parent / "results.json").read_text(encoding="utf-8"))
    observed = {c["id"]: c["results"][0]["observed"] for c in data["claims"]}
    assert observed["item-of-many-raises"] is None
    assert observed["versioned-sum"]["observed"][0]["values"]["s"]["shape"] == []
    jsonschema = pytest.importorskip("jsonschema")
    from conformance import results

    jsonschema.validate(data, results.schema())


def test_what_varies_from_run_to_run_is_not_drift(specs, monkeypatch):
    import itertools

    counter = itertools.count()
    real_sum = torch.Tensor.sum
    monkeypatch.setattr(torch.Tensor, "sum", lambda self, *a, **k: real_sum(self, *a, **k) * 0 + next(counter))
    data = drift.observe([specs])
    flat = observing.flatten(data["claims"]["item-of-many-raises"])
    s = flat["step 2 (s = m.sum()) s"]
    assert s["values"] == observing.VARIES and s["shape"] == []  # a new value on every run: not a behaviour
    assert flat["step 1 (m.item()) raised"].startswith("RuntimeError: a Tensor with ")  # stable: kept
