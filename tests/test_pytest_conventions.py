"""The plugin as one pytest plugin among others: opt-in collection, pytest's and Hypothesis's conventions,
failure size, the environment check. Each test runs a real pytest in a subprocess (``pytester``)."""
from __future__ import annotations

import re
import textwrap

import pytest

from helpers import ACCUMULATION_SPEC, claim_yaml, spec_yaml
from test_plugin import BACKWARD

ARGS = ("--conformance-devices=cpu", "--conformance-profile=ci")
FAILING = BACKWARD.replace("expected: 3.0 * k", "expected: 3.0")  # grads-accumulate fails on every example


def _specs(pytester, directory: str = "specs", **files: str) -> None:
    for name, text in files.items():
        path = pytester.path / directory / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# --- opt-in collection -----------------------------------------------------------------------

UNRELATED_TEST = """
import sys

def test_unrelated():
    assert True

def test_zz_the_conformance_plugin_imported_nothing_heavy():
    heavy = {"torch", "hypothesis", "numpy", "ruamel.yaml", "pydantic"} & set(sys.modules)
    assert not heavy, heavy
"""


def test_an_unrelated_project_with_yaml_under_specs_is_untouched(pytester):
    _specs(pytester, "api/specs", openapi="openapi: 3.0.0\ninfo: {title: x}\n")
    _specs(pytester, "specs", other="topic: not-a-claim-file\n")
    pytester.makepyfile(test_api=UNRELATED_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=2)
    assert not [line for line in result.stdout.lines if line.startswith("conformance")]


def test_an_ini_declared_directory_runs_when_walked_into_and_not_with_other_paths(pytester):
    pytester.makeini("[pytest]\nconformance_specs = my-claims\nconformance_devices = cpu\n"
                     "conformance_profile = ci\n")
    _specs(pytester, "my-claims", backward=ACCUMULATION_SPEC)
    pytester.makepyfile(**{"tests/test_x.py": UNRELATED_TEST})
    walked = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # the two claims, and the project's two tests (this session ran claims, so torch is imported)
    walked.assert_outcomes(passed=2, failed=2)
    walked.stdout.fnmatch_lines(["FAILED my-claims/backward.yaml::grads-overwritten[[]cpu[]]*"])
    only_tests = pytester.runpytest_subprocess("-p", "no:cacheprovider", "tests", "-p", "no:hypothesispytest")
    only_tests.assert_outcomes(passed=2)


def test_a_command_line_directory_is_collected_from_anywhere(pytester, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "c.yaml").write_text(FAILING, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--conformance-specs={elsewhere}", *ARGS)
    result.assert_outcomes(failed=1)
    # the printed rerun command works from the invocation directory
    rerun = re.search(r"^rerun: (pytest .*)$", result.stdout.str(), re.M).group(1)
    argv = [a.strip("'") for a in rerun.split()[1:]]
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", *argv, "--conformance-devices=cpu")
    again.assert_outcomes(failed=1)


def test_a_missing_specs_directory_is_a_usage_error(pytester):
    result = pytester.runpytest_subprocess("--conformance-specs=nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--conformance-specs (--conformance-specs): *nope is not a directory"])


# --- pytest conventions ------------------------------------------------------------------------

def test_last_failed_failed_first_and_stepwise_rerun_only_what_they_should(pytester):
    _specs(pytester, backward=ACCUMULATION_SPEC)  # grads-accumulate passes, grads-overwritten fails
    first = pytester.runpytest_subprocess("--conformance-specs=specs", *ARGS)
    first.assert_outcomes(passed=1, failed=1)
    lf = pytester.runpytest_subprocess("--conformance-specs=specs", *ARGS, "--lf")
    lf.assert_outcomes(failed=1)
    lf.stdout.fnmatch_lines(["*run-last-failure: rerun previous 1 failure*"])
    ff = pytester.runpytest_subprocess("--conformance-specs=specs", *ARGS, "--ff", "-v")
    ff.stdout.fnmatch_lines(["*grads-overwritten?cpu? FAILED*", "*grads-accumulate?cpu? PASSED*"])
    sw = pytester.runpytest_subprocess("--conformance-specs=specs", *ARGS, "--sw")
    sw.assert_outcomes(passed=1, failed=1)  # stops at the failure
    sw_again = pytester.runpytest_subprocess("--conformance-specs=specs", *ARGS, "--sw")
    sw_again.assert_outcomes(failed=1)  # starts from it: the passing claim before it is not run again


def test_strict_markers_is_clean_for_topics_verdicts_and_devices(pytester):
    _specs(pytester, cross=spec_yaml(claim_yaml("cross-claim", extra="devices: cross")),
           own=spec_yaml(claim_yaml("own-claim"), topic="mylib_things"))
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider",
                                           "--conformance-specs=specs", *ARGS, "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    selected = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider",
                                             "--conformance-specs=specs", *ARGS, "-m", "mylib_things")
    selected.assert_outcomes(passed=1)


def test_options_come_from_the_environment_and_the_ini_file_with_the_command_line_first(pytester, monkeypatch):
    _specs(pytester, backward=ACCUMULATION_SPEC)
    pytester.makeini("[pytest]\nconformance_specs = specs\nconformance_profile = deep\nconformance_seed = 7\n")
    monkeypatch.setenv("CONFORMANCE_DEVICES", "cpu")
    monkeypatch.setenv("CONFORMANCE_MAX_EXAMPLES", "3")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-seed=11")
    result.stdout.fnmatch_lines(["conformance: profile deep, 3 examples, base seed 11 (rerun with "
                                 "--conformance-profile=deep --conformance-seed=11 --conformance-max-examples=3)"])
    assert "cuda" not in result.stdout.str()
    bad = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-max-examples=lots")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--conformance-max-examples: expected an integer for --conformance-max-examples*"])


def test_except_devices_leaves_a_device_out_and_says_so(pytester):
    _specs(pytester, backward=ACCUMULATION_SPEC)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=specs",
                                           "--conformance-profile=ci", "--conformance-except-devices=cuda")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*excluded: cuda (--conformance-except-devices)"])
    bad = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=specs",
                                        "--conformance-devices=cpu", "--conformance-except-devices=mps")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


# --- Hypothesis conventions --------------------------------------------------------------------

def test_hypothesis_seed_becomes_the_printed_base_seed(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)  # CI=true would choose the ci profile (see profiles.choose)
    _specs(pytester, backward=ACCUMULATION_SPEC)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=specs",
                                           "--conformance-devices=cpu", "--hypothesis-seed=1234")
    result.stdout.fnmatch_lines(["conformance: profile dev, 50 examples, base seed 1234 (rerun with "
                                 "--conformance-profile=dev --conformance-seed=1234)"])


def test_a_registered_hypothesis_profile_is_used_unless_a_suite_profile_is_named(pytester):
    _specs(pytester, backward=ACCUMULATION_SPEC)
    pytester.makeconftest("from hypothesis import settings\n"
                          "settings.register_profile('tiny', max_examples=2, derandomize=True)\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=specs",
                                           "--conformance-devices=cpu", "--hypothesis-profile=tiny")
    result.stdout.fnmatch_lines(["conformance: profile hypothesis:tiny, 2 examples, base seed 0 (rerun with "
                                 "--hypothesis-profile=tiny --conformance-seed=0)"])
    named = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=specs",
                                          "--conformance-devices=cpu", "--hypothesis-profile=tiny",
                                          "--conformance-profile=ci")
    named.stdout.fnmatch_lines(["conformance: profile ci, 25 examples, base seed 0*"])


def test_hypothesis_statistics_are_shown_for_claims(pytester):
    _specs(pytester, backward=ACCUMULATION_SPEC)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=specs", *ARGS,
                                           "--hypothesis-show-statistics", "-k", "accumulate")
    result.stdout.fnmatch_lines(["*Hypothesis Statistics*", "*grads-accumulate?cpu?:*",
                                 "*- during generate phase*"])


# --- failure size -------------------------------------------------------------------------------

@pytest.mark.parametrize("style, most_lines", [("line", 1), ("short", 12), ("auto", 18), ("long", 100)])
# (long shows the whole standalone reproduction inline: its drawn layout and file helpers make it the longest)
def test_failure_reports_are_sized_by_tb(pytester, style, most_lines):
    _specs(pytester, grads=FAILING)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=specs", *ARGS,
                                           f"--tb={style}", "--conformance-repro-dir=repro")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    body = out.split("= FAILURES =", 1)[1].split("conformance summary", 1)[0].strip().splitlines()
    body = [line for line in body if not line.startswith(("____", "====")) and line.strip()]
    assert 1 <= len(body) <= most_lines, "\n".join(body)
    assert "repro/grads-accumulate-cpu.py" in out
    assert ("import torch" in out) == (style == "long")
    assert (pytester.path / "repro" / "grads-accumulate-cpu.py").read_text().startswith("# Reproduces claim")


def test_an_unexpected_exception_reads_in_spec_terms_and_is_bounded_in_the_results(pytester):
    _specs(pytester, backward=ACCUMULATION_SPEC)
    pytester.makeconftest(textwrap.dedent("""
        import conformance.running as running
        def broken(*args, **kwargs):
            raise RuntimeError("torch exploded " + "x" * 20000)
        running.run_claim = broken
    """))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=specs", *ARGS,
                                           "--tb=short", "--conformance-results=out.json")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["claim grads-accumulate [[]cpu[]] raised RuntimeError: torch exploded*"])
    import json

    data = json.loads((pytester.path / "out.json").read_text())
    messages = [r["message"] for c in data["claims"] for r in c["results"]]
    assert all(m.startswith("claim ") and "Traceback" not in m and len(m) <= 4000 for m in messages), messages
    assert data["numpy"]["version"]


# --- the environment check --------------------------------------------------------------------

def test_a_torch_without_numpy_interop_is_one_usage_error(pytester):
    _specs(pytester, backward=ACCUMULATION_SPEC)
    pytester.makeconftest(textwrap.dedent("""
        import torch
        torch.__version__ = "2.2.2"
        def numpy(self, *args, **kwargs):
            raise RuntimeError("Numpy is not available")
        torch.Tensor.numpy = numpy
    """))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=specs", *ARGS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    import numpy

    if int(numpy.__version__.split(".")[0]) >= 2:
        result.stderr.fnmatch_lines(["ERROR: torch 2.2.2 was built against NumPy 1.x and cannot use the installed "
                                     f"NumPy {numpy.__version__}; install numpy<2*"])
    else:
        result.stderr.fnmatch_lines(["ERROR: torch 2.2.2 cannot exchange arrays with NumPy*"])
    assert "passed" not in result.stdout.str() and "failed" not in result.stdout.str()


def test_every_option_is_documented_with_its_ini_key_and_environment_variable():
    from conformance.options import OPTIONS
    from helpers import ROOT

    docs = (ROOT / "docs" / "options.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for o in OPTIONS:
        assert f"| `{o.flag}` | `{o.ini}` | `{o.env_var}`" in docs, o.flag
        assert o.flag in readme, o.flag


# --- own claims ---------------------------------------------------------------------------------

def _doc_example() -> str:
    from helpers import ROOT

    text = (ROOT / "docs" / "spec-format.md").read_text(encoding="utf-8")
    section = text.split("## Writing claims for your own library", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_documented_own_library_claim_compiles_and_runs(pytester):
    from helpers import compile_text

    (claim,) = compile_text(_doc_example(), file="conformance-claims/mylib_grads.yaml")
    assert claim.topic == "mylib_grads" and claim.claim.sources[0].url.startswith("https://")
    _specs(pytester, "conformance-claims", mylib_grads=_doc_example())
    ok = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=conformance-claims", *ARGS,
                                       "--strict-markers", "-m", "mylib_grads")
    ok.assert_outcomes(passed=1)
    wrong = _doc_example().replace("torch.full_like(x, k)", "torch.full_like(x, k + 1)")
    _specs(pytester, "conformance-claims", mylib_grads=wrong)
    bad = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-specs=conformance-claims", *ARGS)
    bad.assert_outcomes(failed=1)
    bad.stdout.fnmatch_lines(["  quote (https://example.org/mylib/docs/scale.html): the gradient of scale*"])


@pytest.mark.parametrize("source, message", [
    ("{none: our own API contract}", None),
    ("{url: 'https://example.org/x', quote: says so}", None),
    ("{url: 'https://example.org/x'}", "a source with 'url' needs 'quote'"),
    ("{none: r, quote: q}", "a source with 'none' has no 'quote'"),
    ("{seed: a.txt, url: 'https://example.org/x', quote: q}", "a source is {seed: ARTICLE, quote: ...}"),
    ("{url: 'file:///etc/passwd', quote: q}", "url"),
])
def test_sources_of_own_claims(source, message):
    from helpers import claim_yaml, spec_errors

    text = spec_yaml(claim_yaml("own-claim"), topic="mylib").replace(
        "  sources:\n", f"  sources: [{source}]\n__DROP__", 1)
    text = re.sub(r"__DROP__(    .*\n)+?(?=    statement)", "", text)
    errors = spec_errors(text, seeds_dir=None)
    if message is None:
        assert errors == []
    else:
        assert any(message in e for e in errors), errors


def test_topics_are_open_but_must_be_marker_names_and_the_shipped_ones_stay_known():
    from conformance.schema import TOPICS
    from helpers import ROOT, spec_errors

    assert spec_errors(spec_yaml(topic="mylib_things"), seeds_dir=None) == []
    assert spec_errors(spec_yaml(topic="My Lib"), seeds_dir=None)
    import yaml

    shipped = {yaml.safe_load(p.read_text(encoding="utf-8"))["topic"] for p in (ROOT / "specs").glob("*.yaml")}
    assert shipped <= set(TOPICS), shipped - set(TOPICS)
