"""The JSON Schema shipped in the package is current, and every spec file validates against it."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conformance import loading, schema

ROOT = Path(__file__).resolve().parents[1]
SPEC_FILES = sorted((ROOT / "specs").rglob("*.yaml"))


def test_shipped_schema_is_current():
    shipped = json.loads(schema.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert shipped == schema.json_schema(), "run: autograd-conformance schema -o conformance/spec.schema.json"


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
def test_spec_file_validates_against_json_schema(path):
    doc = loading.load_file(path)
    jsonschema.validate(doc.data, json.loads(schema.SCHEMA_PATH.read_text(encoding="utf-8")))


def test_json_schema_rejects_what_the_validator_rejects():
    bad = {"topic": "detach", "claims": [{"id": "x-y", "unknown": 1}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema.json_schema())
