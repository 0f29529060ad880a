"""Fuzz the loader, validator and compiler: no input may end in a traceback.

Whatever text a spec file holds, ``load_text`` + ``schema.validate`` + ``compile_file`` either
return compiled claims or raise ``SpecError``/``SpecErrors`` whose every message is one line
starting with ``FILE:LINE:`` or ``FILE:``. Four kinds of input: random text built from YAML's own
punctuation, a valid spec with random edits to its text, random YAML documents (recursive
dicts, lists and scalars) and random edits to a valid spec's data (keys removed, added,
renamed, values replaced by random trees or by values that are almost right).

The runs are derandomized so CI is stable; run with ``FUZZ_RANDOM=1`` (and a bigger
``FUZZ_EXAMPLES``) to explore new inputs.
"""
from __future__ import annotations

import copy
import io
import json
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from conformance import loading
from conformance.errors import SpecError, SpecErrors
from helpers import QUOTE, SEED_FILE, compile_text, error_lines

FILE = "specs/fuzz.yaml"
LOCATED = re.compile(r"^specs/fuzz\.yaml(:\d+)?: .*\S")

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,
    derandomize=not os.environ.get("FUZZ_RANDOM"),
    suppress_health_check=list(HealthCheck),
)

VALID = {
    "topic": "backward",
    "claims": [
        {
            "id": "grads-accumulate",
            "sources": [{"seed": SEED_FILE, "quote": QUOTE}],
            "statement": "backward() adds into .grad.",
            "verdict": "refined",
            "refinement": "it adds, it does not overwrite",
            "given": {
                "x": {"tensor": {"dtype": "float", "shape": {"min_dims": 1, "max_side": 3},
                                 "requires_grad": True, "elements": {"min": -2, "max": 2}}},
                "k": {"integer": {"min": 1, "max": 3}},
                "y": {"tensor": {"dtype": ["float32"], "shape": "x.shape"}},
                "net": {"module": "nn.Linear(2, 2)"},
            },
            "do": [
                "z = (x * k).sum()",
                {"do": "z.backward()", "torch": ">=1.0"},
                {"do": "z.backward()", "raises": "RuntimeError", "match": "backward through the graph"},
            ],
            "expect": [
                {"close": {"actual": "x.grad", "expected": "1.0 * k", "rtol": 0, "atol": 1e-6}},
                {"equal": {"actual": "x.shape", "expected": "y.shape"}},
                {"that": "x.grad is not None", "torch": "<1.0"},
                {"shares_storage": ["x", "x.detach()"]},
                {"gradcheck": {"fn": "lambda t: t * 2", "inputs": ["x"], "order": 1}},
            ],
            "as_stated": {"expect": [{"that": "x.grad is None"}], "refuted_by": {"expect": 0}},
            "examples": [{"x": [1.0, 2.0], "k": 2, "y": {"value": [0.0, 0.0], "dtype": "float32"}}],
            "max_examples": 5,
            "devices": {"only": ["cpu"]},
        }
    ],
}

KEYS = sorted({
    "topic", "claims", "id", "sources", "seed", "quote", "statement", "verdict", "refinement",
    "as_stated", "refuted_by", "reuse", "helpers", "devices", "given", "do", "expect", "examples", "max_examples", "tensor", "integer",
    "floating", "boolean", "sampled_from", "expr", "module", "dtype", "shape", "elements",
    "requires_grad", "device", "min", "max", "min_dims", "max_dims", "min_side", "max_side", "raises",
    "warns", "match", "torch", "that", "close", "equal", "shares_storage", "distinct_storage",
    "gradcheck", "actual", "expected", "rtol", "atol", "fn", "inputs", "order", "only", "except",
    "value", "torch_seed", "x", "_x", "torch", "__class__", "1", "",
})

# Values that are almost right somewhere: names, code, versions, dtypes, patterns.
NEAR_MISSES = [
    "float", "flot", "int64", "complex", "holds", "refuted", "cross", "all", "cpu", "cuda", "device",
    "other_device", ">=2.0", "=>2.0", "", " ", "banana", "<1.0", "x", "y", "x.shape", "x * 2",
    "torch.ones(2)", "torch.nonexistent_fn(x)", "frobnicate(x)", "lambda t: t", "lambda t=1: t",
    "x.__class__", "f'{x}'", "import os", "(", "[unclosed", "RuntimeError", "len", "UserWarning",
    "__import__", "open('CANARY', 'w')", "torch.save(x, 'CANARY')", "10 ** 10 ** 10", "[1] * 10**9",
    "for i in range(3):\n    z = x * i", "with torch.no_grad():\n    z = x * 2", "z = (", "x +",
    SEED_FILE, "999_unknown.txt", QUOTE, "not in the article", "Detach_Bad_Id", "a-b", "-a",
    "\t", "\n", "\x00", "é", "😀", "!!python/object/apply:os.system",
]

scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats()
           | st.text(max_size=12) | st.sampled_from(NEAR_MISSES))
keys = st.sampled_from(KEYS) | st.text(max_size=8)
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)

TOKENS = [
    ":", ": ", "-", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "*b", "!!python/name:os.system ",
    "!!str ", "!!binary ", "!foo ", "\t", "\n", "\n  ", "\n    ", "'", '"', "|", ">", "#", "---",
    "...", "? ", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "<<: ", "~", "null", "true", "1e9",
    "0x1F", ".nan", "2024-01-01", "topic", "claims", "id", "do", "expect", "given", "x",
    "\\", "\\u", "\ufeff", "\x00", "\x85", "\u2028", "é",
]
random_text = st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=40).map("".join)


def _dump_yaml(data) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue()


def _valid_text() -> str:
    return _dump_yaml(VALID)


VALID_TEXT = _valid_text()


def check(text: str) -> None:
    """The property: compiled claims, or located one-line messages; never anything else."""
    try:
        compile_text(text, FILE)
    except (SpecError, SpecErrors) as exc:
        lines = error_lines(exc)
        assert lines, "SpecErrors with no errors"
        for line in lines:
            assert "\n" not in line, f"message spans lines: {line!r}"
            assert LOCATED.match(line), f"message without a FILE:LINE prefix: {line!r}"


def test_the_unmutated_document_compiles():
    claims = compile_text(VALID_TEXT, FILE)
    assert [c.id for c in claims] == ["grads-accumulate"]


@FUZZ
@given(random_text)
def test_random_text(text):
    check(text)


@FUZZ
@given(st.data())
def test_valid_spec_with_random_text_edits(data):
    text = VALID_TEXT
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        at = data.draw(st.integers(0, len(text)), label="at")
        cut = data.draw(st.integers(0, 8), label="cut")
        insert = data.draw(st.sampled_from(TOKENS) | st.text(max_size=6), label="insert")
        text = text[:at] + insert + text[at + cut:]
    check(text)


@FUZZ
@given(trees, st.booleans())
def test_random_documents(tree, as_json):
    text = json.dumps(tree, ensure_ascii=False) if as_json else _dump_yaml(tree)
    check(text)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, path + (index,))


def _get(node, path):
    for part in path:
        node = node[part]
    return node


@FUZZ
@given(st.data())
def test_valid_spec_with_random_data_edits(data):
    doc = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent = _get(doc, path[:-1])
        last = path[-1]
        action = data.draw(st.sampled_from(["replace", "near-miss", "delete", "add-key", "rename", "duplicate"]))
        if action == "replace":
            parent[last] = data.draw(trees, label="tree")
        elif action == "near-miss":
            parent[last] = data.draw(st.sampled_from(NEAR_MISSES), label="value")
        elif action == "delete":
            del parent[last]
        elif action == "add-key" and isinstance(parent, dict):
            parent[data.draw(keys, label="key")] = data.draw(trees, label="tree")
        elif action == "rename" and isinstance(parent, dict):
            parent[data.draw(keys, label="key")] = parent.pop(last)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    check(_dump_yaml(doc))


@pytest.mark.parametrize("text", [
    "", "\n", "~", "[]", "{}", "0", "'", "- -", ":", "? : ", "&a *a", "*a", "a: *b", "!!str",
    "\ufeff", "\x00", "a:\n\t- b", "%YAML 9.9\n---\na: 1", "--- 1\n--- 2", "a: [1, 2]\na: 3",
    "{a: 1, a: 2}", "[" * 200, "a: " + "{b: " * 60 + "1" + "}" * 60,
])
def test_edge_texts(text):
    check(text)


def test_load_file_rejects_undecodable_bytes(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"topic: detach\nclaims: \xff\xfe\n")
    with pytest.raises(SpecError, match=r"^specs/fuzz\.yaml:2: the file is not UTF-8 text \(byte 22\)$"):
        loading.load_file(path, FILE)
