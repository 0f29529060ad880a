"""Known-failure lists: expected failures, strict unexpected passes, stale entries, bad lines."""
from __future__ import annotations

from pathlib import Path

import pytest

from conformance.knownfail import KnownFailures
from helpers import ACCUMULATION_SPEC

SPEC = ACCUMULATION_SPEC


def run(pytester: pytest.Pytester, known: str, *extra: str):
    pytester.makefile(".yaml", **{"specs/backward": SPEC})
    pytester.makefile(".txt", known=known)
    return pytester.runpytest_subprocess(
        "specs", "-p", "no:cacheprovider", "--conformance-specs=specs", "--conformance-devices=cpu", "--conformance-profile=ci",
        "--conformance-known-failures=known.txt", "-rxX", *extra)


def test_listed_failure_is_expected_and_stale_entry_reported(pytester):
    result = run(pytester, "grads-overwritten  # our backward overwrites (fork issue 7)\n"
                           "no-such-claim  # typo in the list\n")
    result.assert_outcomes(passed=1, xfailed=1, warnings=1)
    result.stdout.fnmatch_lines(["*XFAIL*grads-overwritten*fork issue 7*",
                                 "*known.txt:2: entry no-such-claim matches no claim that ran*"])


def test_listed_claim_that_passes_is_a_strict_unexpected_pass(pytester):
    result = run(pytester, "grads-accumulate[cpu]  # we thought this failed\n"
                           "grads-overwritten  # expected\n")
    result.assert_outcomes(failed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*we thought this failed*"])
    assert result.ret == 1


def test_slot_specific_entry_does_not_cover_other_slots(pytester):
    result = run(pytester, "grads-overwritten[cuda]  # only on cuda\n")
    result.assert_outcomes(passed=1, failed=1)


def test_malformed_line_is_a_usage_error_naming_the_line(tmp_path: Path):
    with pytest.raises(ValueError, match=r"known\.txt:2: expected 'CLAIM-ID\[SLOT\]  # reason'"):
        KnownFailures.parse("ok-claim  # fine\nmissing-reason\n", tmp_path / "known.txt")


def test_parse_reads_ids_slots_and_reasons(tmp_path: Path):
    known = KnownFailures.parse("# comment\n\na-b[cuda]  # r1\nc-d # r2\n", tmp_path / "k.txt")
    assert [(e.claim_id, e.slot, e.reason, e.line) for e in known.entries] == [
        ("a-b", "cuda", "r1", 3), ("c-d", None, "r2", 4)]
    assert known.entry_for("a-b", "cpu") is None and known.entry_for("c-d", "cpu").reason == "r2"


def test_skip_section_does_not_run_the_listed_claim_and_says_why(pytester):
    # grads-overwritten fails when run; under [skip] it is not run at all, and the reason is shown.
    result = run(pytester, "[skip]\ngrads-overwritten[cpu]  # crashes our build (issue 9)\n", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["1 entries from *known.txt (1 not run: [[]skip[]])",
                                 "*SKIPPED*not run on this build (known.txt:2): crashes our build (issue 9)*"])


def test_sections_parse_and_an_unknown_section_names_its_line(tmp_path: Path):
    known = KnownFailures.parse("a-b  # r1\n[skip]\nc-d[mps]  # r2\n[xfail]\ne-f  # r3\n", tmp_path / "k.txt")
    assert [(e.claim_id, e.section) for e in known.entries] == [("a-b", "xfail"), ("c-d", "skip"), ("e-f", "xfail")]
    with pytest.raises(ValueError, match=r"k\.txt:1: unknown section \[skipped\]"):
        KnownFailures.parse("[skipped]\n", tmp_path / "k.txt")


def test_the_file_can_come_from_the_ini_file(pytester):
    pytester.makeini("[pytest]\nconformance_known_failures = known.txt\n")
    pytester.makefile(".yaml", **{"specs/backward": SPEC})
    pytester.makefile(".txt", known="grads-overwritten  # from the ini file\n")
    result = pytester.runpytest_subprocess("specs", "-p", "no:cacheprovider", "--conformance-specs=specs",
                                           "--conformance-devices=cpu", "--conformance-profile=ci", "-rx")
    result.assert_outcomes(passed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*XFAIL*grads-overwritten*from the ini file*"])
