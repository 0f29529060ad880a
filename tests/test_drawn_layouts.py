"""Drawn memory layouts (strategies, Note [Drawn layouts]).

Every layout is made as described (strides, storage offset, values, a leaf), the repro snippet's
expression rebuilds exactly the same tensor, the layouts a shape cannot have are never drawn, a
spec narrows the layouts by name, and Hypothesis draws every allowed layout.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import repro, strategies
from conformance.schema import Given
from conformance.strategies import GivenPlan, TensorRaw


def _plan(**tensor) -> GivenPlan:
    spec = Given(tensor=tensor)
    return GivenPlan(name="x", spec=spec, line=1, dtypes=strategies.expand_dtypes(tensor.get("dtype", "float")))


ENV = {"device": torch.device("cpu")}
ARRAY = np.arange(1.0, 13.0, dtype=np.float32).reshape(3, 4)


@pytest.mark.parametrize("layout,contiguous,offset", [
    ("contiguous", True, 0), ("transposed", False, 0), ("sliced", False, 0),
    ("offset", True, strategies.STORAGE_OFFSET), ("expanded", False, 0)])
def test_each_layout_is_made_as_named_and_rebuilt_exactly_by_the_repro(layout, contiguous, offset):
    array = np.ascontiguousarray(np.broadcast_to(ARRAY[:1], ARRAY.shape)) if layout == "expanded" else ARRAY
    raw = TensorRaw(array, "float32", layout)
    plan = _plan(dtype="float32", requires_grad=True, layout="all")
    made = strategies.make_tensor(raw, plan, ENV)
    assert made.is_leaf and made.requires_grad
    assert made.tolist() == array.tolist()
    assert made.is_contiguous() == contiguous and made.storage_offset() == offset
    if layout == "expanded":
        assert made.stride()[0] == 0
    source = repro.value_source(plan, raw)
    rebuilt = eval(source, {"torch": torch, "device": torch.device("cpu")})  # noqa: S307 - our own snippet text
    assert rebuilt.tolist() == made.tolist()
    assert rebuilt.stride() == made.stride() and rebuilt.storage_offset() == made.storage_offset()
    assert rebuilt.is_leaf and rebuilt.requires_grad


def test_layouts_a_shape_cannot_have_are_not_drawn():
    allowed = strategies.expand_layouts("all")
    assert strategies.layouts_for((), allowed) == ("contiguous", "offset")
    assert "transposed" not in strategies.layouts_for((4,), allowed)
    assert "expanded" not in strategies.layouts_for((1, 3), allowed)
    assert strategies.layouts_for((2, 0), allowed) == ("contiguous",)
    assert strategies.layouts_for((2, 3), strategies.expand_layouts("any")) == (
        "contiguous", "transposed", "sliced", "offset")


def test_a_spec_narrows_the_layouts_by_name_and_contiguous_comes_first():
    assert strategies.expand_layouts("contiguous") == ("contiguous",)
    assert strategies.expand_layouts(["offset", "contiguous"]) == ("contiguous", "offset")
    assert "expanded" not in strategies.expand_layouts("any")
    with pytest.raises(ValueError, match="unknown layout 'diagonal'"):
        Given(tensor={"layout": "diagonal"})


def test_zero_dim_draws_stay_zero_dim():
    raw = TensorRaw(np.array(2.5, dtype=np.float64), "float64")
    made = strategies.make_tensor(raw, _plan(dtype="float64"), ENV)
    assert made.dim() == 0 and made.item() == 2.5
    raw = TensorRaw(np.array(2.5, dtype=np.float64), "float64", "offset")
    made = strategies.make_tensor(raw, _plan(dtype="float64"), ENV)
    assert made.dim() == 0 and made.item() == 2.5 and made.storage_offset() == strategies.STORAGE_OFFSET


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(st.data())
def test_hypothesis_draws_every_allowed_layout(data):
    plans = [_plan(dtype="floating", shape={"min_dims": 2, "max_dims": 2, "min_side": 2})]
    example = data.draw(strategies.example_strategy(plans, "cpu", None))
    raw = example.raw["x"]
    SEEN.add(raw.layout)
    assert raw.layout in strategies.expand_layouts("any")
    assert f"layout={raw.layout}" in repr(example) or raw.layout == "contiguous"


SEEN: set = set()


def test_every_layout_was_seen():
    assert SEEN == set(strategies.expand_layouts("any")), SEEN
