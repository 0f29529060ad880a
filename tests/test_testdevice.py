"""The project's PrivateUse1 test device behaves like a device: aliasing, in-place, out=, copies.

The checks run in a subprocess (loading the device renames PrivateUse1 for the whole process),
against the library built from tests/testdevice/testdevice.cpp (cached; .ci/run builds it first).
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECKS = textwrap.dedent("""\
    import warnings
    import torch
    import tests.testdevice as td

    td.activate()
    dev = torch.device("testdev")
    x = torch.arange(6.0).reshape(2, 3).to(dev)
    assert x.device.type == "testdev" and x.is_testdev and torch.testdev.device_count() == 1
    v = x[0]                                   # a view made by a generic kernel
    before = x._version
    v.add_(10)                                 # torch's generic add_ runs add.out through the fallback
    assert x.cpu().tolist() == [[10.0, 11.0, 12.0], [3.0, 4.0, 5.0]], x.cpu()
    assert v._base is x and x._version == before + 1
    x[1].zero_()                               # an in-place op the fallback runs on the device memory
    assert x.cpu().tolist() == [[10.0, 11.0, 12.0], [0.0, 0.0, 0.0]], x.cpu()
    x[1] = 5.0                                 # fill_ on a view, version counter shared with the base
    assert x.cpu().tolist()[1] == [5.0, 5.0, 5.0] and x._version == before + 3
    u = x.view(-1).unfold(0, 2, 2)             # a view made by this backend's kernel
    assert u.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    e = x.t().exp()                            # a new result of the fallback lives on the device
    assert e.device == x.device and torch.allclose(e.cpu(), x.cpu().t().exp())
    out = torch.empty(0, device=dev)           # out= that must be resized
    torch.add(x, 1, out=out)
    assert out.shape == (2, 3) and out.device == x.device and out.cpu().tolist()[1] == [6.0, 6.0, 6.0]
    r = torch.ones(2, device=dev)
    r.resize_(5)
    assert r.shape == (5,) and r[:2].cpu().tolist() == [1.0, 1.0]
    for dtype in (torch.float32, torch.float64, torch.int64, torch.bool, torch.complex64):
        c = (torch.arange(4) % 2).to(dtype)
        assert torch.equal(c.to(dev).cpu(), c), dtype
    leaf = torch.ones(3, requires_grad=True)
    (leaf.to(dev) * 2).sum().backward()
    assert leaf.grad.device.type == "cpu" and leaf.grad.tolist() == [2.0, 2.0, 2.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.manual_seed(0)
        torch.nn.functional.mse_loss(torch.ones(2, 2, device=dev), torch.zeros(2, 2, device=dev), reduction="none")
    assert repr(torch.ones(1, device=dev)) == "tensor([1.], device='testdev:0')"
    try:
        x.numpy()
    except TypeError as exc:
        assert "testdev" in str(exc)
    else:
        raise AssertionError("numpy() of a device tensor did not raise")
    print("testdevice ok")
    """)


def test_the_test_device_keeps_aliasing_in_place_out_and_copies_right():
    proc = subprocess.run([sys.executable, "-c", CHECKS], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0 and "testdevice ok" in proc.stdout, proc.stdout + proc.stderr
