"""Each item draws its own examples, and a seed decides them (Note [Reproducible runs]).

The claims' test functions are generated from one piece of code, so without a per-item seed
and database key every claim would draw the same sequence of examples. Here two claims that
differ only in their ids are run through ``running.run_claim`` with a recording ``run_once``:
their example sequences must differ, while the same claim run twice with the same base seed
must see exactly the same sequence.
"""
from __future__ import annotations

import pytest

import conformance.running
from conformance.devices import Slot
from helpers import CPU, claim_yaml, compile_text, run_item, spec_yaml

GIVEN = "x: {tensor: {dtype: floating, requires_grad: true}}\nk: {integer: {min: 1, max: 50}}"
DO = "- y = (x.detach() * k).sum()"
EXPECT = "- that: not y.requires_grad"


@pytest.fixture
def recorder(monkeypatch):
    """{claim id / slot label: [repr of each Example run, in order]}."""
    seen: dict[str, list[str]] = {}
    original = conformance.running.run_once

    def recording(claim, slot, ex, stated=False):
        seen.setdefault(f"{claim.id}/{slot.label}", []).append(repr(ex))
        return original(claim, slot, ex, stated)

    monkeypatch.setattr(conformance.running, "run_once", recording)
    return seen


def twins():
    text = spec_yaml(claim_yaml("twin-one", given=GIVEN, do=DO, expect=EXPECT),
                     claim_yaml("twin-two", given=GIVEN, do=DO, expect=EXPECT))
    one, two = compile_text(text)
    return one, two


def test_claims_that_differ_only_in_id_draw_different_examples(recorder):
    one, two = twins()
    run_item(one, seed=0, max_examples=20)
    run_item(two, seed=0, max_examples=20)
    first, second = recorder["twin-one/cpu"], recorder["twin-two/cpu"]
    assert len(first) == len(second) == 20
    # Hypothesis may open with the same simplest example; the sequences as a whole must differ.
    assert first != second
    assert len(set(first) & set(second)) < 5


def test_the_same_claim_and_seed_draw_the_same_examples(recorder):
    one, _ = twins()
    run_item(one, seed=7, max_examples=20)
    first = list(recorder.pop("twin-one/cpu"))
    run_item(compile_text(spec_yaml(claim_yaml("twin-one", given=GIVEN, do=DO, expect=EXPECT)))[0],
             seed=7, max_examples=20)  # freshly compiled: nothing cached carries over
    assert recorder["twin-one/cpu"] == first


def test_another_base_seed_draws_other_examples(recorder):
    one, _ = twins()
    run_item(one, seed=1, max_examples=20)
    first = list(recorder.pop("twin-one/cpu"))
    run_item(one, seed=2, max_examples=20)
    assert recorder["twin-one/cpu"] != first


def test_each_device_slot_of_a_claim_draws_its_own_examples(recorder):
    one, _ = twins()
    run_item(one, seed=0, max_examples=20, slot=CPU)
    run_item(one, seed=0, max_examples=20, slot=Slot("cpu-again", "cpu"))
    assert recorder["twin-one/cpu"] != recorder["twin-one/cpu-again"]


def test_pinned_examples_come_first_and_are_shared(recorder):
    pinned = "examples:\n  - {x: [1.5, -2.0], k: 3}"
    text = spec_yaml(claim_yaml("pin-one", given=GIVEN, do=DO, expect=EXPECT, extra=pinned),
                     claim_yaml("pin-two", given=GIVEN, do=DO, expect=EXPECT, extra=pinned))
    for claim in compile_text(text):
        run_item(claim, seed=0, max_examples=5)
    one, two = recorder["pin-one/cpu"], recorder["pin-two/cpu"]
    assert one[0] == two[0] == "Example(x=tensor([1.5, -2.0], dtype=float32), k=3, torch_seed=0)"
    assert one[1:] != two[1:]


def test_a_module_attribute_replaced_by_torch_wrapping_it_is_not_a_leak_but_a_real_replacement_is(monkeypatch):
    import functools

    import torch

    from conformance import isolation

    original = torch.manual_seed

    def layer(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)
        return wrapper

    before = isolation.snapshot()
    monkeypatch.setattr(torch, "manual_seed", layer(layer(original)))  # two layers: torch 2.2/2.3's dynamo
    after = isolation.snapshot()
    assert "module attributes" not in isolation.changed(before, after)

    monkeypatch.setattr(torch, "manual_seed", lambda seed: None)  # not a wrapper of it: a spec's doing
    after = isolation.snapshot()
    names = isolation.changed(before, after)
    assert "module attributes" in names
    assert "module attributes: torch.manual_seed" in isolation.describe(before, after, names)
