"""The report: merging results files from several torch versions into Markdown and one offline HTML page."""
from __future__ import annotations

import copy
import json
import os
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance import report

SPEC = textwrap.dedent("""\
    topic: backward
    claims:
      - id: grads-accumulate
        sources: [{seed: 002_6f65035d0d7de381.txt, quote: 該張量的梯度將累加到.grad屬性中}]
        statement: backward adds into .grad, so x * 3 twice gives 6 | not 3.
        verdict: holds
        given:
          x: {tensor: {dtype: float, requires_grad: true}}
        do:
          - (x * 3).sum().backward()
          - (x * 3).sum().backward()
        expect:
          - close: {actual: x.grad, expected: 6.0}
          - {that: "x.grad is not None", torch: ">=1.13"}
          - {that: "x.grad is not None", torch: "<1.13"}
      - id: no-grad-results-do-not-require-grad
        sources: [{seed: 001_d61604267d30844b.txt, quote: 每一步的计算结果中requires_grad都是False}]
        statement: inside no_grad, results do not require grad.
        verdict: holds
        given:
          x: {tensor: {dtype: float, requires_grad: true}}
        do:
          - |
            with torch.no_grad():
                y = x * 2
        expect:
          - that: not y.requires_grad
      - id: cpu-only-claim
        sources: [{seed: 001_d61604267d30844b.txt, quote: 每一步的计算结果中requires_grad都是False}]
        statement: a claim limited to the CPU has no item on other devices.
        verdict: holds
        devices: {only: [cpu]}
        given:
          x: {tensor: {dtype: float}}
        expect:
          - that: not x.requires_grad
    """)


@pytest.fixture(scope="module")
def real_results(tmp_path_factory) -> dict:
    """One real results file, written by the plugin in a pytest session run in this process (cheap: torch
    is already imported)."""
    root = tmp_path_factory.mktemp("run")
    (root / "specs").mkdir()
    (root / "specs" / "backward.yaml").write_text(SPEC, encoding="utf-8")
    here = os.getcwd()
    os.chdir(root)
    try:
        code = pytest.main(["specs", "--conformance-specs=specs", "-p", "no:cacheprovider", "-q", "--conformance-profile=ci",
                            "--conformance-devices=cpu,xpu", "--conformance-results=results.json"])
    finally:
        os.chdir(here)
    assert code == 0
    return json.loads((root / "results.json").read_text(encoding="utf-8"))


def claim(data: dict, claim_id: str) -> dict:
    return next(c for c in data["claims"] if c["id"] == claim_id)


def newer_torch(data: dict) -> dict:
    """The same run as if made on a newer torch where one claim fails and another's expectation changed."""
    new = copy.deepcopy(data)
    new["torch"].update(version="2.99.0+cpu", release="2.99.0")
    new["finished"] = "2999-01-01T00:00:00+00:00"
    failed = claim(new, "no-grad-results-do-not-require-grad")["results"][0]
    failed.update(outcome="failed", message="claim no-grad-results-do-not-require-grad [cpu] failed\n"
                                            "expect[0] that: not y.requires_grad",
                  snippet="import torch\nassert False  # <script>alert(1)</script>")
    claim(new, "grads-accumulate")["results"][0]["applied"] = ["expect[1] torch>=2.99"]
    claim(new, "grads-accumulate")["statement"] = "backward adds into .grad <script>alert(1)</script> | really"
    return new


@pytest.fixture()
def two_versions(tmp_path: Path, real_results: dict) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "torch-old.json").write_text(json.dumps(real_results), encoding="utf-8")
    (folder / "torch-new.json").write_text(json.dumps(newer_torch(real_results)), encoding="utf-8")
    (folder / "notes.json").write_text("{}", encoding="utf-8")  # not a results file: warned about, skipped
    return folder


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids, self.links, self.text, self.tags = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.add(value)
            if name in ("src", "href") and value is not None:
                self.links.append(value)

    def handle_data(self, data):
        self.text.append(data)


def test_real_results_file_has_applied_labels(real_results):
    assert claim(real_results, "grads-accumulate")["results"][0]["applied"] == ["expect[1] torch>=1.13"]


def test_merged_markdown_shows_both_versions_the_failure_and_what_changed(two_versions, tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./specs here: claims.md falls back to the claims in the results
    out = tmp_path / "docs"
    assert report.main([str(two_versions), "-o", str(out), "--specs", str(two_versions.parent / "nospecs")]) == 2
    assert report.main([str(two_versions), "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert "notes.json: not a conformance results file" in printed.err
    md = (out / "verified-behaviour.md").read_text(encoding="utf-8")
    assert "_Generated by `python -m conformance report" in md
    overview = md.split("## Overview")[1].split("## Counts")[0]
    header = next(line for line in overview.splitlines() if line.startswith("| claim |"))
    assert header.count(" · cpu |") == 2 and "torch 2.99.0+cpu · cpu" in header
    row = next(line for line in overview.splitlines() if line.startswith("| [no-grad-results-do-not-require-grad]"))
    assert row.count("✅") == 1 and row.count("❌") == 1 and row.count("⏭") == 0
    # the nosuchdevice columns ran nothing: folded out of the overview, explained under Not run
    assert "Folded (no claim ran there; see [Not run](#not-run)): xpu on 2 releases." in overview
    assert "❌ failed" in md and "expect[0] that: not y.requires_grad" in md
    changed = md.split("## What changed between versions")[1].split("## Not run")[0]
    assert "[no-grad-results-do-not-require-grad]" in changed and "outcome passed → failed" in changed
    assert "[grads-accumulate]" in changed and "applied expectations changed" in changed
    assert "expect[1] torch>=2.99" in changed
    not_run = md.split("## Not run")[1].split("## Claims")[0]
    assert "xpu" in not_run and "2 of 2 claims not run" in not_run
    # the newest run's wording wins, escaped for Markdown: the pipe cannot break a table
    assert "backward adds into .grad \\<script>alert(1)\\</script> | really" in md
    assert "| 3 | 3 | 0 | 0 |" in md.split("### Per topic")[1]  # backward: 3 claims, 3 holds
    # a slot the claim does not have is blank (not applicable), not "not in these results"
    row = next(line for line in overview.splitlines() if line.startswith("| [cpu-only-claim]"))
    assert row.endswith("| ✅ | ✅ |") and "cpu-only-claim" not in not_run
    claims_md = (out / "claims.md").read_text(encoding="utf-8")
    assert "from the results files" in claims_md.splitlines()[2] and "### grads-accumulate" in claims_md


def test_html_page_parses_lists_every_claim_and_works_offline(two_versions, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "docs"
    assert report.main([str(two_versions), "-o", str(out)]) == 0
    text = (out / "verified-behaviour.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    ids = {c["id"] for c in json.loads((two_versions / "torch-old.json").read_text(encoding="utf-8"))["claims"]}
    for claim_id in ids:
        assert report.html_id(claim_id) in page.ids
    assert not [link for link in page.links if not link.startswith("#")], "links must stay inside the page"
    assert "link" not in page.tags and "img" not in page.tags
    assert "http://" not in text and "https://" not in text
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text  # autoescaped
    assert {"filter-topic", "filter-verdict", "filter-outcome", "overview-table"} <= page.ids
    assert text.count("<script>") == 1 and text.count("<style>") == 1


def test_claims_md_lists_every_claim_from_the_spec_files(tmp_path, monkeypatch):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "backward.yaml").write_text(SPEC, encoding="utf-8")
    (specs / "broken.yaml").write_text("topic: detach\nclaims: []\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert report.main(["--claims-only", "-o", "docs/"]) == 0
    md = (tmp_path / "docs" / "claims.md").read_text(encoding="utf-8")
    assert md.splitlines()[2].startswith("_Generated by `python -m conformance report --claims-only -o docs/`")
    assert "### grads-accumulate" in md and "### no-grad-results-do-not-require-grad" in md
    assert "> 該張量的梯度將累加到.grad屬性中" in md and "`specs/backward.yaml:3`" in md
    assert "| holds | 3 |" in md and "| [backward](#topic-backward) | 3 | 3 | 0 | 0 |" in md
    assert "`specs/broken.yaml`" in md  # a file that cannot be read is named, not silently dropped
    assert not (tmp_path / "docs" / "verified-behaviour.md").exists()


def test_claim_missing_from_a_run_is_reported_as_not_in_these_results(real_results):
    new = newer_torch(real_results)
    new["claims"] = [c for c in new["claims"] if c["id"] != "cpu-only-claim"]
    runs = [report.Run("old.json", real_results, "2.13.0", report._version("2.13.0")),
            report.Run("new.json", new, "2.99.0", report._version("2.99.0"))]
    merged = report.merge(runs)
    row = next(r for r in merged["claims"] if r["id"] == "cpu-only-claim")
    assert [c["outcome"] for c in row["cells"]] == ["passed", None]  # nosuchdevice columns folded
    missing = {entry["label"]: entry["missing"] for entry in merged["not_run"]}
    assert missing["torch 2.99.0 · cpu"] == ["cpu-only-claim"]
    assert "cpu-only-claim" not in missing.get("torch 2.13.0 · xpu", [])  # n/a there, not missing


def test_report_needs_results_unless_claims_only(tmp_path, capsys):
    assert report.main(["-o", str(tmp_path)]) == 2
    assert "--claims-only" in capsys.readouterr().err


def test_templates_ship_with_the_package():
    names = {p.name for p in report.TEMPLATES.iterdir()}
    assert {"verified-behaviour.md.jinja", "verified-behaviour.html.jinja", "claims.md.jinja"} <= names
