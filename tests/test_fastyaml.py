"""The libyaml fast path gives exactly the Document ruamel.yaml gives, or declines (Note [Fast YAML path])."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conformance import fastyaml, loading
from helpers import ROOT

CORPUS = sorted((ROOT / "specs").glob("*.yaml")) + sorted((ROOT / "tests" / "malformed").glob("*.yaml"))
EDGES = {
    "yaml-1.1-words-are-strings": "a: yes\nb: no\nc: on\nd: off\ne: y\n",
    "numbers": "a: 1\nb: -2\nc: 1.5\nd: 1e3\ne: -0.25e-2\nf: 0\n",
    "unsure-numbers": "a: 0x10\nb: 010\nc: 1_000\nd: .5\ne: .inf\nf: 1:20\ng: 2001-12-14\n",
    "quoted-numbers-stay-strings": "a: '1'\nb: \"2.5\"\nc: 'true'\n",
    "nulls-and-bools": "a: ~\nb: null\nc:\nd: true\ne: False\n",
    "blocks": "a: |\n  line one\n  line two\nb: >\n  folded\n  text\nc:\n  - |\n    in a list\n",
    "anchors": "base: &b {x: 1, y: [1, 2]}\nuse: *b\nagain: *b\n",
    "tags": "a: !!str 1\nb: !!python/name:os.system ''\n",
    "duplicate-key": "a: 1\na: 2\n",
    "merge-key": "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n",
    "complex-key": "? [a, b]\n: 1\n",
    "not-equal-is-no-tag": "expect:\n  - that: x != y\n",
    "two-documents": "a: 1\n---\nb: 2\n",
    "broken": "a: [1, 2\n",
    "seed-file-names": "seed: 002_6f65035d0d7de381.txt\nv: 0.4.0版本\n",
}


def _both(text: str):
    fast = fastyaml.parse(text, "t.yaml", loading.MAX_NODES, loading.MAX_DEPTH)
    try:
        slow = loading._parse(text, "t.yaml")
    except Exception as exc:  # noqa: BLE001 - the slow path's error is what users see
        slow = exc
    return fast, slow


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_the_corpus_parses_the_same_both_ways(path: Path):
    fast, slow = _both(path.read_text(encoding="utf-8", errors="replace"))
    if fast is not None:
        assert not isinstance(slow, Exception), slow
        assert (fast.data, fast.lines, fast.blocks) == (slow.data, slow.lines, slow.blocks)


def test_the_shipped_claims_take_the_fast_path():
    pytest.importorskip("yaml")
    fast = [p for p in (ROOT / "specs").glob("*.yaml")
            if fastyaml.parse(p.read_text(encoding="utf-8"), p.name, loading.MAX_NODES, loading.MAX_DEPTH)]
    assert len(fast) == len(list((ROOT / "specs").glob("*.yaml")))


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edge_cases_are_the_same_or_declined(name):
    fast, slow = _both(EDGES[name])
    if fast is None:
        return
    assert not isinstance(slow, Exception), slow
    assert (fast.data, fast.lines, fast.blocks) == (slow.data, slow.lines, slow.blocks)


def test_what_must_be_declined_is_declined():
    for name in ("unsure-numbers", "tags", "duplicate-key", "merge-key", "complex-key", "two-documents", "broken"):
        assert fastyaml.parse(EDGES[name], "t.yaml", loading.MAX_NODES, loading.MAX_DEPTH) is None, name


def test_a_mismatch_would_be_seen(monkeypatch):
    # the comparison above can fail: resolve plain scalars the YAML 1.1 way and 'yes' becomes True
    monkeypatch.setattr(fastyaml, "_TRUE", fastyaml._TRUE + ("yes",))
    fast, slow = _both(EDGES["yaml-1.1-words-are-strings"])
    assert fast.data != slow.data


def test_an_alias_bomb_goes_to_ruamel_and_its_limit(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
    text = "\n".join(lines) + "\n"
    assert fastyaml.parse(text, "t.yaml", loading.MAX_NODES, loading.MAX_DEPTH) is None
    with pytest.raises(loading.SpecError, match="more than"):
        loading.load_text(text, "t.yaml")


def test_without_pyyaml_everything_goes_to_ruamel(monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)
    assert fastyaml.parse("a: 1\n", "t.yaml", loading.MAX_NODES, loading.MAX_DEPTH) is None
