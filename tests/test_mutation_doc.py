"""The generated blocks of docs/mutation.md (conformance.mutation_doc, Note [Generated mutation doc]).

The committed doc must list exactly the shipped mutants, in the table and in the kill matrix, and
the matrix must show each of them KILLED: adding a mutant without a mutation run, or shipping one
the suite does not kill, fails here. The rendering, merging and rewriting are checked on small
made-up results, including the ways they must fail.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import mutants, mutation, mutation_doc

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "mutation.md"


def test_the_doc_lists_exactly_the_shipped_mutants_in_its_table():
    text = DOC.read_text(encoding="utf-8")
    assert mutation_doc.block(text, "mutants") == mutation_doc.mutant_table(mutants.MUTANTS), (
        "docs/mutation.md's mutant table is stale: python -m conformance mutate --from-json RESULTS.json "
        "--doc docs/mutation.md")


def test_the_kill_matrix_lists_exactly_the_shipped_mutants_each_killed():
    matrix = mutation_doc.block(DOC.read_text(encoding="utf-8"), "kill-matrix")
    assert mutation_doc.listed_names(matrix) == list(mutants.MUTANTS)
    rows = [line for line in matrix.splitlines() if line.startswith("| `")]
    not_killed = [line for line in rows if "| KILLED |" not in line]
    assert not not_killed, not_killed
    n = len(mutants.MUTANTS)
    assert f"Mutation score: **{n}/{n} (100%)** shipped mutants killed." in matrix


class _M:
    def __init__(self, name, topic="backward", description="breaks *it* | badly", fast=False):
        self.name, self.topic, self.description, self.fast = name, topic, description, fast


REGISTRY = {n: _M(n) for n in ("alpha-one", "beta-two", "gamma-three")}


def _results(path: Path, rows, torch="2.13.0+cpu") -> str:
    path.write_text(json.dumps({
        "torch": torch, "jobs": 1, "wall_s": 12.0, "baseline": {"summary": "3 passed in 1.0s"},
        "mutants": [{"mutant": n, "topic": "backward", "status": s, "wall_s": 1.5,
                     "killing_claims": c, "summary": "1 failed"} for n, s, c in rows]}), encoding="utf-8")
    return str(path)


def _doc(path: Path) -> str:
    start = "<!-- generated: {} (python -m conformance mutate --doc docs/mutation.md; do not edit by hand) -->"
    end = "<!-- end generated: {} -->"
    path.write_text("# title\n\nprose kept\n\n" + start.format("mutants") + "\nold\n" + end.format("mutants")
                    + "\n\nmiddle prose\n\n" + start.format("kill-matrix") + "\nold\n" + end.format("kill-matrix")
                    + "\n\ntail prose\n", encoding="utf-8")
    return str(path)


def test_a_later_results_file_replaces_earlier_rows_and_unrun_mutants_show(tmp_path):
    full = _results(tmp_path / "full.json", [("alpha-one", "KILLED", ["a[cpu]", "b[cpu]", "c[cpu]", "d[cpu]"]),
                                            ("beta-two", "SURVIVED", []), ("retired-mutant", "KILLED", ["x"])])
    rerun = _results(tmp_path / "rerun.json", [("beta-two", "KILLED", ["e[cpu]"])])
    doc = _doc(tmp_path / "mutation.md")
    killed, shipped, not_killed = mutation_doc.update_doc(doc, REGISTRY, [full, rerun])
    assert (killed, shipped, not_killed) == (2, 3, ["gamma-three"])
    text = Path(doc).read_text(encoding="utf-8")
    assert text.startswith("# title\n\nprose kept\n") and "middle prose" in text and text.endswith("tail prose\n")
    matrix = mutation_doc.block(text, "kill-matrix")
    assert mutation_doc.listed_names(matrix) == ["alpha-one", "beta-two", "gamma-three"]
    assert "| `alpha-one` | backward | KILLED | 1.5 s | a[cpu], b[cpu], c[cpu] ... |" in matrix
    assert "| `beta-two` | backward | KILLED | 1.5 s | e[cpu] |" in matrix
    assert "| `gamma-three` | backward | NOT RUN |  |  |" in matrix
    assert "Mutation score: **2/3 (67%)** shipped mutants killed; not killed: `gamma-three`." in matrix
    assert "(1 result(s) for mutants not in the shipped set left out.)" in matrix
    table = mutation_doc.block(text, "mutants")
    assert "| `alpha-one` | backward | breaks \\*it\\* \\| badly |  |" in table


def test_a_survivor_is_shown_with_its_summary_and_fails_the_command(tmp_path, capsys):
    doc = _doc(tmp_path / "mutation.md")
    some = next(iter(mutants.MUTANTS))
    results = _results(tmp_path / "r2.json", [(n, "SURVIVED" if n == some else "KILLED", ["k[cpu]"])
                                              for n in mutants.MUTANTS])
    assert mutation.main(["--from-json", results, "--doc", doc]) == 1
    assert f"not killed: {some}" in capsys.readouterr().out
    assert f"| `{some}` |" in mutation_doc.block(Path(doc).read_text(encoding="utf-8"), "kill-matrix")


def test_every_shipped_mutant_killed_makes_the_command_succeed(tmp_path, capsys):
    results = _results(tmp_path / "r.json", [(n, "KILLED", ["k[cpu]"]) for n in mutants.MUTANTS])
    doc = _doc(tmp_path / "mutation.md")
    assert mutation.main(["--from-json", results, "--doc", doc]) == 0
    text = Path(doc).read_text(encoding="utf-8")
    assert mutation_doc.block(text, "mutants") == mutation_doc.mutant_table(mutants.MUTANTS)
    assert mutation_doc.listed_names(mutation_doc.block(text, "kill-matrix")) == list(mutants.MUTANTS)


def test_a_doc_without_markers_or_a_bad_results_file_is_a_clear_error(tmp_path, capsys):
    plain = tmp_path / "plain.md"
    plain.write_text("no markers here\n", encoding="utf-8")
    results = _results(tmp_path / "r.json", [("alpha-one", "KILLED", [])])
    with pytest.raises(mutation_doc.DocError, match="no generated block 'mutants'"):
        mutation_doc.update_doc(str(plain), REGISTRY, [results])
    assert plain.read_text(encoding="utf-8") == "no markers here\n"  # nothing written
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    assert mutation.main(["--from-json", str(bad), "--doc", _doc(tmp_path / "m.md")]) == 2
    assert "bad.json: not a results file" in capsys.readouterr().err


def test_from_json_without_doc_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as info:
        mutation.main(["--from-json", str(tmp_path / "r.json")])
    assert info.value.code == 2
