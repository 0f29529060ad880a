"""The shared parse cache returns exactly what parsing returns, and never replaces the checks."""
from __future__ import annotations

import pytest

from conformance import loading, parse_cache, schema
from conformance.errors import SpecErrors

TEXT = "topic: detach\nclaims:\n  - id: a-b\n    do:\n      - |\n        y = 1\n"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(parse_cache.ENV_VAR, str(tmp_path))
    return tmp_path


def test_a_hit_equals_a_fresh_parse(cache_dir):
    first = loading.load_text(TEXT, "specs/a.yaml")
    assert len(list(cache_dir.glob("*.json"))) == 1
    second = loading.load_text(TEXT, "specs/b.yaml")
    assert (second.data, second.lines, second.blocks) == (first.data, first.lines, first.blocks)
    assert second.file == "specs/b.yaml"


def test_a_cached_document_is_still_validated(cache_dir):
    loading.load_text(TEXT, "specs/a.yaml")
    with pytest.raises(SpecErrors):
        schema.validate(loading.load_text(TEXT, "specs/a.yaml"))


def test_a_corrupt_entry_falls_back_to_parsing(cache_dir):
    loading.load_text(TEXT, "specs/a.yaml")
    for entry in cache_dir.glob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    assert loading.load_text(TEXT, "specs/a.yaml").data["topic"] == "detach"


def test_off_disables_it(tmp_path, monkeypatch):
    monkeypatch.setenv(parse_cache.ENV_VAR, "off")
    assert parse_cache.directory() is None
    loading.load_text(TEXT, "specs/a.yaml")
    assert not list(tmp_path.glob("*.json"))
