"""Device paths that hold up on any backend: unknown, absent and required devices, crashed items,
cross-device claims of one kind, device-safe failure reports and seeding.

Runs that patch torch (a tensor repr that raises) or lose a worker are subprocesses, so this
process stays clean. No test assumes a GPU; the absent device used is ``xpu`` (a device type
every torch build knows, absent on the machines this project runs on).
"""
from __future__ import annotations

import textwrap
import warnings

import pytest
import torch

from conformance import devices, portable, strategies
from conformance.assertions import short_repr
from helpers import ACCUMULATION_SPEC, run_specs, write_specs

ABSENT = "xpu"
pytestmark = pytest.mark.skipif(devices.unavailable_reason(ABSENT) is None,
                                reason="these tests need a device type that is absent here; xpu is present")

REPR_RAISES = textwrap.dedent("""\
    import torch

    def _refuse(self, *args, **kwargs):
        raise RuntimeError("this backend cannot print tensors")

    torch.Tensor.__repr__ = _refuse
    """)


def test_a_device_whose_tensor_repr_raises_still_fails_in_spec_terms(pytester):
    write_specs(pytester, {"backward": ACCUMULATION_SPEC})
    pytester.makeconftest(REPR_RAISES)
    result = run_specs(pytester, subprocess=True)
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "claim grads-overwritten [cpu] failed (specs/backward.yaml:" in out
    assert "expectation that failed:" in out and "close: x.grad ~= 3.0" in out
    assert "actual:   <tensor shape=(" in out and "values not printable" in out
    assert "example (shrunk by Hypothesis)" in out and "x = torch.tensor(" in out
    assert "standalone reproduction" in out
    assert "cannot print tensors" not in out  # no raw traceback from the repr
    result.assert_outcomes(passed=1, failed=1)


def test_an_unknown_device_type_is_a_usage_error_listing_the_known_types(pytester):
    write_specs(pytester, {"backward": ACCUMULATION_SPEC})
    result = run_specs(pytester, devices="cpu,cdua")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--conformance-devices: unknown device 'cdua'" in err
    assert "knows the device types cpu, cuda," in err


@pytest.mark.parametrize("how", ["option", "ini", "env"])
def test_require_devices_turns_an_absent_device_into_failures(pytester, monkeypatch, how):
    write_specs(pytester, {"backward": ACCUMULATION_SPEC.replace("expected: 3.0", "expected: 6.0")})
    args = []
    if how == "option":
        args.append("--conformance-require-devices")
    elif how == "ini":
        pytester.makeini("[pytest]\nconformance_require_devices = true\n")
    else:
        monkeypatch.setenv(devices.REQUIRE_ENV, "1")
    result = run_specs(pytester, *args, devices=f"cpu,{ABSENT}")
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert f"required device absent (--conformance-require-devices): {ABSENT}:" in out
    assert f"NOT RUN on {ABSENT}:" in out and "2 items failed" in out
    result.assert_outcomes(passed=2, errors=2)  # failed in setup: the item never ran


def test_an_absent_device_is_reported_not_run_at_the_end(pytester):
    write_specs(pytester, {"backward": ACCUMULATION_SPEC.replace("expected: 3.0", "expected: 6.0")})
    result = run_specs(pytester, devices=f"cpu,{ABSENT}")
    assert result.ret == pytest.ExitCode.OK
    last = result.stdout.lines[-3:]
    assert any(f"NOT RUN on {ABSENT}:" in line and "2 items skipped; nothing was checked on it" in line
               for line in last), last


CRASH = textwrap.dedent("""\
    import os

    def pytest_runtest_call(item):
        if item.name == "grads-overwritten[cpu]":
            os._exit(3)  # as a segfaulting kernel would: the worker is gone
    """)


def test_a_crashing_item_under_xdist_is_counted_and_shown(pytester):
    write_specs(pytester, {"backward": ACCUMULATION_SPEC})
    pytester.makeconftest(CRASH)
    result = run_specs(pytester, "-n", "2", subprocess=True)
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "cpu: 1 passed, 0 failed, 0 skipped, 1 crashed (worker lost)" in out


def test_a_cross_claim_of_one_kind_has_only_that_slot():
    cuda_only = devices.slots({"cross": "cuda"}, ("cpu", "mydev"))
    assert [(s.label, s.other_device, s.absent) for s in cuda_only] == [("cpu-cuda", "cuda", False)]
    assert cuda_only[0].skip_reason.startswith("claim is about cuda; cuda not requested")
    generic = devices.slots("cross", ("cpu", ABSENT))
    assert [(s.label, s.absent) for s in generic] == [(f"cpu-{ABSENT}", True)]


def test_an_indexed_device_beyond_the_count_is_absent(monkeypatch):
    class Fake:
        is_available = staticmethod(lambda: True)
        device_count = staticmethod(lambda: 1)

    devices.unavailable_reason.cache_clear()
    monkeypatch.setattr(torch, "xpu", Fake, raising=False)
    try:
        assert devices.unavailable_reason("xpu:0") is None
        assert devices.unavailable_reason("xpu:1") == "xpu:1 is not present (torch.xpu.device_count() is 1)"
    finally:
        devices.unavailable_reason.cache_clear()


def test_a_tensor_that_cannot_reach_the_cpu_is_described_by_its_metadata():
    meta = torch.ones(2, 3, device="meta")  # no data: .to("cpu") raises, as a broken backend's copy would
    assert short_repr(meta) == ("<tensor shape=(2, 3), dtype=torch.float32, layout=torch.strided, device=meta, "
                                "requires_grad=False (values not printable)>")
    assert short_repr([meta, 1.5]).startswith("[<tensor shape=(2, 3)")


def test_equal_refuses_tensors_on_different_devices():
    with pytest.raises(ValueError, match="different devices"):
        portable.equal(torch.ones(2, device="meta"), torch.ones(2))


def test_seeding_warns_once_not_per_example(monkeypatch):
    def noisy(seed):
        warnings.warn("Set seed for `mydev` device does not take effect", UserWarning)

    monkeypatch.setattr(strategies, "_only_cpu_generator", lambda: False)
    monkeypatch.setattr(torch, "manual_seed", noisy)
    monkeypatch.setattr(strategies, "_SEED_WARNED", [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for seed in range(50):
            strategies.seed_torch(seed)
    assert len(caught) == 1 and "shown once" in str(caught[0].message)
