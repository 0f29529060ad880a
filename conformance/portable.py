"""Plain-torch helpers shared by the checks and by generated repro snippets.

Note [One source for checks and snippets]
Each function here uses only torch, numpy and the standard library, and is written so that its
source can be pasted as-is into a standalone reproduction script (``repro`` does that with
``inspect.getsource``). The checks in ``assertions`` call the very same functions, so a snippet
fails for the same reason the claim did.
"""
import math

import numpy as np
import torch


def memory_span(obj):
    """(start, end) byte addresses of the memory backing a tensor's storage or an ndarray."""
    if isinstance(obj, torch.Tensor):
        storage = obj.untyped_storage() if hasattr(obj, "untyped_storage") else obj.storage()
        start = storage.data_ptr()
        size = storage.nbytes() if hasattr(storage, "nbytes") else storage.size() * obj.element_size()
        return obj.device, start, start + size
    if isinstance(obj, np.ndarray):
        start = obj.__array_interface__["data"][0]
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        low = base.__array_interface__["data"][0]
        return torch.device("cpu"), min(low, start), max(low + base.nbytes, start + obj.nbytes)
    raise TypeError(f"cannot tell the memory of a {type(obj).__name__}; expected a tensor or an ndarray")


def share_memory(a, b):
    """True when a and b (tensors or ndarrays) are backed by overlapping memory on one device."""
    device_a, start_a, end_a = memory_span(a)
    device_b, start_b, end_b = memory_span(b)
    if device_a != device_b or start_a == end_a or start_b == end_b:
        return False
    return start_a < end_b and start_b < end_a


def as_expected(expected, actual):
    """Turn a literal expectation into something comparable with ``actual``."""
    if isinstance(actual, torch.Tensor) and not isinstance(expected, torch.Tensor):
        expected = torch.as_tensor(expected, dtype=actual.dtype, device=actual.device)
        if expected.dim() == 0 and actual.dim() > 0:
            expected = expected.expand_as(actual)
    if isinstance(actual, (tuple, torch.Size)) and isinstance(expected, list):
        expected = tuple(expected)
    if isinstance(actual, np.ndarray) and not isinstance(expected, np.ndarray):
        expected = np.broadcast_to(np.asarray(expected, dtype=actual.dtype), actual.shape)
    return expected


def on_host(value):
    """A detached CPU copy of a tensor on another device, so a comparison needs no device kernel."""
    if isinstance(value, torch.Tensor) and value.device.type != "cpu":
        return value.detach().to("cpu")
    return value


def close(actual, expected, rtol, atol):
    """True when actual and expected agree within rtol/atol (same shape for tensors and arrays)."""
    actual, expected = on_host(actual), on_host(expected)
    expected = as_expected(expected, actual)
    if isinstance(actual, torch.Tensor):
        if not isinstance(expected, torch.Tensor) or tuple(actual.shape) != tuple(expected.shape):
            return False
        # half precision: no tighter than a few units in the last place of its 11 / 8 significant bits
        floor = {torch.float16: (5e-3, 1e-3), torch.bfloat16: (3e-2, 1e-2)}.get(actual.dtype)
        if floor is not None:
            rtol, atol = max(rtol, floor[0]), max(atol, floor[1])
        return bool(torch.allclose(actual.detach(), expected.detach().to(actual.device, actual.dtype),
                                   rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(actual, np.ndarray):
        return actual.shape == expected.shape and bool(np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True))
    return math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol)


def equal(actual, expected):
    """Exact equality: same shape and values for tensors and arrays, == otherwise."""
    if isinstance(actual, torch.Tensor) and isinstance(expected, torch.Tensor) and actual.device != expected.device:
        raise ValueError(f"the tensors are on different devices ({actual.device} and {expected.device})")
    actual, expected = on_host(actual), on_host(expected)
    expected = as_expected(expected, actual)
    if isinstance(actual, torch.Tensor):
        return (isinstance(expected, torch.Tensor) and tuple(actual.shape) == tuple(expected.shape)
                and actual.dtype == expected.dtype and bool(torch.equal(actual.detach(), expected.detach())))
    if isinstance(actual, np.ndarray):
        return actual.shape == expected.shape and actual.dtype == expected.dtype and bool(np.array_equal(actual, expected))
    if isinstance(expected, bool):
        return isinstance(actual, (bool, np.bool_)) and bool(actual) is expected
    return bool(actual == expected)
