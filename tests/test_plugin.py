"""The plugin end to end, driven through pytester: items, outcomes, reports, options, markers.

Spec files live under ``specs/`` in the pytester directory (the plugin collects YAML there).
Most runs are in-process (fast, and their reports can be inspected); a run that must not touch
this process (a broken torch, xdist workers) is a subprocess. Nothing here assumes the machine
has no GPU: where CUDA matters, the test asserts on whichever is true.
"""
from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET

import pytest
import torch

import conformance.running
from helpers import QUOTE, SEED_FILE, claim_yaml, outcomes_by_id, run_specs, spec_yaml, write_specs

HAS_CUDA = torch.cuda.is_available()
HAS_MPS = bool(getattr(getattr(torch.backends, "mps", None), "is_available", lambda: False)())

# A two-claim detach spec; line numbers below are the file's own (line 1 is "topic: detach").
DETACH = textwrap.dedent(f"""\
    topic: detach
    claims:
      - id: detach-shares-storage
        sources:
          - seed: {SEED_FILE}
            quote: {QUOTE}
        statement: x.detach() shares storage with x and does not require grad.
        verdict: holds
        given:
          x: {{tensor: {{dtype: float, requires_grad: true}}}}
        do:
          - y = x.detach()
        expect:
          - that: not y.requires_grad
          - shares_storage: [x, y]
      - id: detach-then-double
        sources:
          - seed: {SEED_FILE}
            quote: {QUOTE}
        statement: doubling a detached tensor doubles its values.
        verdict: holds
        given:
          x: {{tensor: {{dtype: float, requires_grad: true}}}}
        do:
          - y = x.detach() * 2
        expect:
          - close: {{actual: y, expected: x * 2}}
    """)

# Gradients of (x * 3).sum() accumulate over k backward calls: x.grad == 3 * k.
BACKWARD = textwrap.dedent(f"""\
    topic: backward
    claims:
      - id: grads-accumulate
        sources:
          - seed: {SEED_FILE}
            quote: {QUOTE}
        statement: each backward() adds into .grad.
        verdict: holds
        given:
          x: {{tensor: {{dtype: float, requires_grad: true}}}}
          k: {{integer: {{min: 1, max: 4}}}}
        do:
          - |
            for i in range(k):
                (x * 3).sum().backward()
        expect:
          - close: {{actual: x.grad, expected: 3.0 * k}}
    """)


def line_of(text: str, fragment: str) -> int:
    """1-based line of the first line of ``text`` containing ``fragment``."""
    for number, line in enumerate(text.splitlines(), 1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in the spec")


def reports(result):
    return result.reprec.getreports("pytest_runtest_logreport")


def cuda_outcome_ok(outcome: str, longrepr) -> bool:
    if HAS_CUDA:
        return outcome == "passed"
    return outcome == "skipped" and "CUDA is not available" in str(longrepr)


# --- passing, failing, broken torch ---------------------------------------------------------

def test_a_correct_spec_passes_on_cpu_and_cuda_is_run_or_skipped_with_the_reason(pytester):
    write_specs(pytester, {"detach": DETACH})
    result = run_specs(pytester, devices=None)  # the default: cpu,cuda
    outcomes = outcomes_by_id(reports(result))
    assert set(outcomes) == {f"specs/detach.yaml::{cid}[{slot}]" for cid in ("detach-shares-storage", "detach-then-double")
                             for slot in ("cpu", "cuda")}
    for nodeid, outcome in outcomes.items():
        if nodeid.endswith("[cpu]"):
            assert outcome == "passed", nodeid
    for rep in reports(result):
        if rep.nodeid.endswith("[cuda]") and (rep.when == "call" or rep.skipped):
            assert cuda_outcome_ok(rep.outcome, rep.longrepr), (rep.nodeid, rep.longrepr)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*conformance summary*", "cpu: 2 passed, 0 failed, 0 skipped"])


def test_a_wrong_expected_value_fails_in_the_specs_terms(pytester):
    wrong = BACKWARD.replace("expected: 3.0 * k", "expected: 3.0")
    write_specs(pytester, {"grads": wrong})
    result = run_specs(pytester)
    result.assert_outcomes(failed=1)
    expect_line = line_of(wrong, "close: {actual: x.grad")
    claim_line = line_of(wrong, "- id: grads-accumulate")
    result.stdout.fnmatch_lines([
        f"claim grads-accumulate [[]cpu[]] failed (specs/grads.yaml:{claim_line})",
        "  statement: each backward() adds into .grad.",
        f"  quote ({SEED_FILE}): {QUOTE}",
        "  verdict: holds",
        "expectation that failed:",
        f"  expect[[]0[]] (line {expect_line}) close: x.grad ~= 3.0 (rtol=*, atol=*)",
        "*actual:*",
        "*expected: 3.0",
        "example (shrunk by Hypothesis)",
        "  torch.manual_seed(*)",
        "  x = torch.tensor(*",
        "  k = 2",  # the smallest k that shows it
        "rerun: pytest 'specs/grads.yaml::grads-accumulate[[]cpu[]]' --conformance-specs=specs --conformance-profile=ci --conformance-seed=0",
        "standalone reproduction*",
    ])
    # The report speaks about the spec, not the plugin's internals.
    failure = result.stdout.str().split("FAILURES", 1)[1].split("conformance summary", 1)[0]
    assert "conformance/running.py" not in failure and "Traceback" not in failure


def test_the_same_spec_fails_against_a_broken_torch(pytester):
    write_specs(pytester, {"detach": DETACH})
    # A fork whose detach() copies: the storage claim must catch it (subprocess: the patch stays there).
    pytester.makeconftest("""
        import torch
        torch.Tensor.detach = lambda self: self.clone()
        """)
    result = run_specs(pytester, subprocess=True)
    result.assert_outcomes(passed=1, failed=1)  # copying keeps the values: doubling still agrees
    result.stdout.fnmatch_lines(["claim detach-shares-storage [[]cpu[]] failed*",
                                 "  expect[[]0[]] (line 14) that: not y.requires_grad"])


# --- selection: markers and keywords ---------------------------------------------------------

@pytest.mark.parametrize("selection, expected", [
    (("-m", "detach"), {"detach-shares-storage[cpu]", "detach-then-double[cpu]"}),
    (("-m", "backward"), {"grads-accumulate[cpu]"}),
    (("-m", "holds"), {"detach-shares-storage[cpu]", "detach-then-double[cpu]", "grads-accumulate[cpu]"}),
    (("-m", "refuted"), set()),
    (("-m", "cpu and not detach"), {"grads-accumulate[cpu]"}),
    (("-k", "double"), {"detach-then-double[cpu]"}),
    (("-k", "shares or accumulate"), {"detach-shares-storage[cpu]", "grads-accumulate[cpu]"}),
])
def test_markers_and_keywords_select_claims(pytester, selection, expected):
    write_specs(pytester, {"detach": DETACH, "backward": BACKWARD})
    result = run_specs(pytester, *selection)
    ran = {rep.nodeid.split("::")[1] for rep in reports(result) if rep.when == "call"}
    assert ran == expected


# --- devices ------------------------------------------------------------------------------

def test_cpu_only_run_has_no_cuda_items(pytester):
    write_specs(pytester, {"detach": DETACH})
    result = run_specs(pytester, devices="cpu")
    assert {rep.nodeid.split("[")[-1] for rep in reports(result)} == {"cpu]"}
    result.assert_outcomes(passed=2)


def test_an_absent_requested_device_gives_skipped_items_with_the_reason(pytester):
    write_specs(pytester, {"backward": BACKWARD})
    result = run_specs(pytester, devices="cpu,mps")
    (mps,) = [rep for rep in reports(result) if rep.nodeid.endswith("[mps]") and rep.when in ("setup", "call")
              and not (rep.when == "setup" and rep.passed)]
    if HAS_MPS:
        assert mps.passed
    else:
        assert mps.skipped and "MPS is not available" in str(mps.longrepr)


def test_a_claim_only_for_cuda_is_a_skipped_item_when_cuda_is_not_requested(pytester):
    only = BACKWARD.replace("    given:", "    devices: {only: [cuda]}\n    given:")
    write_specs(pytester, {"backward": only})
    result = run_specs(pytester, devices="cpu")
    result.assert_outcomes(skipped=1)
    (rep,) = [r for r in reports(result) if r.skipped]
    assert rep.nodeid == "specs/backward.yaml::grads-accumulate[cuda]"
    assert "claim runs only on cuda; cuda not requested" in str(rep.longrepr)


def test_a_claim_only_for_cuda_with_cuda_requested_runs_or_is_skipped(pytester):
    only = BACKWARD.replace("    given:", "    devices: {only: [cuda]}\n    given:")
    write_specs(pytester, {"backward": only})
    result = run_specs(pytester, devices=None)
    items = outcomes_by_id(reports(result))
    assert list(items) == ["specs/backward.yaml::grads-accumulate[cuda]"]
    (rep,) = [r for r in reports(result) if r.when == "call" or r.skipped]
    assert cuda_outcome_ok(rep.outcome, rep.longrepr)


def test_cross_device_claims_give_cpu_cuda_items(pytester):
    cross = textwrap.dedent(f"""\
        topic: devices
        claims:
          - id: to-other-device-and-back
            sources:
              - seed: {SEED_FILE}
                quote: {QUOTE}
            statement: moving a tensor to another device and back keeps its values.
            verdict: holds
            devices: cross
            given:
              x: {{tensor: {{dtype: float}}}}
            do:
              - y = x.to(other_device).to(device)
            expect:
              - equal: {{actual: y, expected: x}}
        """)
    write_specs(pytester, {"cross": cross})
    result = run_specs(pytester, devices=None)
    items = outcomes_by_id(reports(result))
    assert list(items) == ["specs/cross.yaml::to-other-device-and-back[cpu-cuda]"]
    (rep,) = [r for r in reports(result) if r.when == "call" or r.skipped]
    assert cuda_outcome_ok(rep.outcome, rep.longrepr)


# --- duplicate ids, verdicts, versions --------------------------------------------------------

def test_duplicate_ids_across_files_are_one_error_naming_both_places(pytester):
    other = claim_yaml("unique-claim")
    write_specs(pytester, {"a": spec_yaml(), "b": spec_yaml(claim_yaml(), other)})
    result = run_specs(pytester)
    outcomes = outcomes_by_id(reports(result))
    assert outcomes == {
        "specs/a.yaml::detach-no-grad[cpu]": "passed",
        "specs/b.yaml::detach-no-grad[cpu]": "error",
        "specs/b.yaml::unique-claim[cpu]": "passed",
    }
    result.stdout.fnmatch_lines(["specs/b.yaml:3: id: duplicate claim id 'detach-no-grad' (also defined at specs/a.yaml:3)"])


def test_a_verdict_that_no_longer_matches_torch_fails(pytester):
    stale = claim_yaml("detach-said-to-keep-grad-fn", verdict="refuted", extra=textwrap.dedent("""\
        refinement: detach() gives a tensor without a grad_fn.
        as_stated:
          expect:
            - that: y.grad_fn is None
          refuted_by: {expect: 0}
        """))
    write_specs(pytester, {"stale": spec_yaml(stale)})
    result = run_specs(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "claim detach-said-to-keep-grad-fn [[]cpu[]] failed*",
        "verdict check failed:",
        "  verdict 'refuted' no longer matches torch: *as_stated.expect[[]0[]] (line *): that: y.grad_fn is None*",
        "*as_stated.expect[[]0[]] (line *) that: y.grad_fn is None",
    ])
    result.stdout.fnmatch_lines(["verdict checks: 0 confirmed, 1 mismatched"])


def test_a_confirmed_verdict_passes(pytester):
    refuted = claim_yaml("detach-said-to-require-grad", verdict="refuted", extra=textwrap.dedent("""\
        refinement: detach() gives a tensor that does not require grad.
        as_stated:
          expect:
            - that: y.requires_grad
          refuted_by: {expect: 0}
        """))
    write_specs(pytester, {"refuted": spec_yaml(refuted)})
    result = run_specs(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["verdict checks: 1 confirmed, 0 mismatched"])


VERSIONED = claim_yaml("versioned", expect=textwrap.dedent("""\
    - that: not y.requires_grad
    - {that: "y.requires_grad", torch: "<1.0"}
    - {that: "SIBLING", torch: ">=1.0"}
    """))


def test_versioned_expectations_apply_by_the_installed_torch(pytester):
    write_specs(pytester, {"versions": spec_yaml(VERSIONED.replace("SIBLING", "y.grad_fn is None"))})
    result = run_specs(pytester)
    result.assert_outcomes(passed=1)  # the "<1.0" check would fail: it was not applied
    (call,) = [r for r in reports(result) if r.when == "call"]
    assert dict(call.user_properties)["applied"] == ["expect[2] torch>=1.0"]


def test_the_sibling_for_the_installed_torch_is_the_one_checked(pytester):
    text = spec_yaml(VERSIONED.replace("SIBLING", "y.requires_grad"))
    write_specs(pytester, {"versions": text})
    result = run_specs(pytester)
    result.assert_outcomes(failed=1)
    line = line_of(text, 'torch: ">=1.0"')
    result.stdout.fnmatch_lines([f"  expect[[]2[]] (line {line}) that: y.requires_grad"])


# --- xdist, seeds ------------------------------------------------------------------------------

def _junit_outcomes(path) -> dict[str, str]:
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        out[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return out


def test_xdist_runs_the_same_items_with_the_same_outcomes(pytester):
    wrong = BACKWARD.replace("id: grads-accumulate", "id: grads-overwrite").replace("expected: 3.0 * k", "expected: 3.0")
    write_specs(pytester, {"detach": DETACH, "backward": BACKWARD, "wrong": wrong})
    serial = run_specs(pytester, "--junitxml=serial.xml", devices=None)
    parallel = run_specs(pytester, "--junitxml=parallel.xml", "-n", "2", devices=None, subprocess=True)
    assert serial.ret == parallel.ret == pytest.ExitCode.TESTS_FAILED
    a, b = _junit_outcomes(pytester.path / "serial.xml"), _junit_outcomes(pytester.path / "parallel.xml")
    assert len(a) == 8 and a == b
    assert list(a.values()).count("failure") == (2 if HAS_CUDA else 1)  # grads-overwrite, on each device run


def _recorded_examples(pytester, monkeypatch, *args) -> tuple[list[str], str]:
    """Run in-process, recording every example the claims run on; (examples, output)."""
    seen: list[str] = []
    original = conformance.running.run_once

    def recording(claim, slot, ex, stated=False):
        seen.append(f"{claim.id}: {ex!r}")
        return original(claim, slot, ex, stated)

    with monkeypatch.context() as patch:  # not monkeypatch.undo(): pytester's chdir is on it too
        patch.setattr(conformance.running, "run_once", recording)
        result = run_specs(pytester, *args, profile_name="dev")
    return seen, result.stdout.str()


def test_the_header_seed_reruns_the_same_examples(pytester, monkeypatch):
    write_specs(pytester, {"backward": BACKWARD})
    first, out = _recorded_examples(pytester, monkeypatch)
    match = re.search(r"conformance: profile dev, \d+ examples, base seed (\d+) \(rerun with "
                      r"--conformance-profile=dev --conformance-seed=(\d+)\)", out)
    assert match and match.group(1) == match.group(2), out
    again, _ = _recorded_examples(pytester, monkeypatch, f"--conformance-seed={match.group(1)}")
    assert len(first) >= 20 and again == first
    other, _ = _recorded_examples(pytester, monkeypatch, f"--conformance-seed={int(match.group(1)) + 1}")
    assert other != first


def test_a_failure_reads_the_same_when_rerun_with_its_seed(pytester):
    # A failure that depends on the drawn values: the example it shrinks to comes from the seed.
    wrong = BACKWARD.replace("expected: 3.0 * k", "expected: 3.0 * k + (x.grad.numel() > 2) * 1.0")
    write_specs(pytester, {"grads": wrong})

    def failure_text(seed: int) -> str:
        out = run_specs(pytester, f"--conformance-seed={seed}", profile_name="dev").stdout.str()
        return out.split("FAILURES", 1)[1].split("short test summary", 1)[0]

    first = failure_text(12345)
    assert "x = torch.tensor(" in first and "--conformance-seed=12345" in first
    assert failure_text(12345) == first


# --- quotes --------------------------------------------------------------------------------

def test_quotes_are_checked_when_the_seed_articles_are_found(pytester, monkeypatch):
    monkeypatch.delenv("CONFORMANCE_SEEDS", raising=False)
    write_specs(pytester, {"detach": spec_yaml().replace(QUOTE, "二者指向不同的内存")})
    unchecked = run_specs(pytester)
    unchecked.assert_outcomes(passed=1)
    unchecked.stdout.fnmatch_lines(["conformance: seed articles not found, so quotes are not checked*"])
    checked = run_specs(pytester, seeds=True)
    checked.assert_outcomes(errors=1)
    checked.stdout.fnmatch_lines([f"specs/detach.yaml:6: claims[[]0[]].sources[[]0[]].quote: quote not found verbatim in {SEED_FILE}*"])
