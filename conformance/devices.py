"""Which devices a claim runs on: requested devices, their availability, per-claim constraints.

Note [Device slots]
Every claim is expanded into one pytest item per *slot*. A slot is a device label such as
``cpu``, ``cuda`` or a PrivateUse1 backend's name, or for claims about moving between devices
(``devices: cross``) a pair ``cpu-X`` where ``device`` is the host and ``other_device`` the
accelerator X. A cross claim about one accelerator kind (``devices: {cross: cuda}``, e.g. one
that calls ``x.cuda()``) has only the ``cpu-cuda`` slot. The requested devices come from
``--conformance-devices`` (or ``CONFORMANCE_DEVICES``), default ``cpu,cuda``: CUDA is always
requested, so on a machine without it every claim shows a skipped ``[cuda]`` item with the
reason, rather than vanishing. A claim's own constraint (``only``/``except``/``cross``) removes
slots it does not apply to; a slot it needs but the user did not request is kept as a skipped
item that says so. Nothing is dropped silently.

Note [Unknown, absent and required devices]
A requested name torch cannot parse as a device (``cdua``, or a PrivateUse1 backend that was
not imported) is a usage error listing the device types torch knows: a typo must not give a
green run with every item skipped. A known type that is not usable here (no GPU, ``cuda:1`` on
a one-GPU machine) is *absent*: its items are skipped with the reason and the end of the run
says prominently that the device was not run. ``--conformance-require-devices`` (ini
``conformance_require_devices``, env ``CONFORMANCE_REQUIRE_DEVICES=1``) makes each item on an
absent device fail instead, for CI jobs whose point is to run on that device.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

DEFAULT_DEVICES = ("cpu", "cuda")
ENV_VAR = "CONFORMANCE_DEVICES"
REQUIRE_OPTION = "--conformance-require-devices"
REQUIRE_INI = "conformance_require_devices"
REQUIRE_ENV = "CONFORMANCE_REQUIRE_DEVICES"


@dataclass(frozen=True)
class Slot:
    label: str
    device: str
    other_device: str | None = None
    skip_reason: str | None = None
    absent: bool = False  # skipped because a requested device is not usable here (not: not requested)


def requested(option: str | None) -> tuple[str, ...]:
    text = option or os.environ.get(ENV_VAR) or ",".join(DEFAULT_DEVICES)
    names = []
    for part in text.split(","):
        part = part.strip()
        if part and part not in names:
            names.append(part)
    if "cpu" not in names:
        names.insert(0, "cpu")
    return tuple(names)


def known_types() -> list[str]:
    """The device types this torch accepts in a device string (PrivateUse1 under its current name)."""
    import torch

    try:
        torch.device("conformance_probe")
    except Exception as exc:
        match = re.search(r"Expected one of (.*?) device type", str(exc))
        if match:
            names = [n.strip() for n in match.group(1).split(",")]
            private = torch._C._get_privateuse1_backend_name()
            return [private if n == "privateuseone" else n for n in names]
    return []


def check_known(names: tuple[str, ...]) -> None:
    """Raise ValueError naming every requested device that torch cannot parse, with the known types."""
    import torch

    bad = []
    for name in names:
        try:
            torch.device(name)
        except Exception as exc:
            bad.append(f"{name!r} ({str(exc).splitlines()[0][-80:]})" if ":" in name else repr(name))
    if bad:
        raise ValueError(
            f"--conformance-devices: unknown device {', '.join(bad)}; torch {torch.__version__} knows the "
            f"device types {', '.join(known_types())} (an out-of-tree backend must be imported first, "
            f"e.g. with -p MODULE)")


@lru_cache(maxsize=None)
def unavailable_reason(name: str) -> str | None:
    """None when torch can use device ``name`` (a type, optionally with an index) here, else why not."""
    import torch

    kind, _, index_text = name.partition(":")
    index = int(index_text) if index_text.isdigit() else None
    if kind == "cpu":
        return None
    if kind == "mps":
        mps = getattr(getattr(torch, "backends", None), "mps", None)
        if mps is not None and mps.is_available() and not index:
            return None
        return "MPS is not available (torch.backends.mps.is_available() is False)"
    module = getattr(torch, kind, None)
    is_available = getattr(module, "is_available", None)
    if callable(is_available):
        try:
            if not is_available():
                shown = "CUDA" if kind == "cuda" else kind
                return f"{shown} is not available (torch.{kind}.is_available() is False)"
            count = getattr(module, "device_count", None)
            if index is not None and callable(count) and index >= count():
                return f"{name} is not present (torch.{kind}.device_count() is {count()})"
            return None
        except Exception as exc:  # a backend that cannot even answer
            return f"{kind} is not available ({type(exc).__name__}: {exc})"
    try:
        torch.empty(1, device=name)
        return None
    except Exception as exc:
        return f"device {name!r} is not usable by this torch ({type(exc).__name__}: {str(exc).splitlines()[0]})"


def _slot(label: str, device: str, other: str | None, not_requested: str | None) -> Slot:
    if not_requested:
        return Slot(label, device, other, not_requested)
    reason = unavailable_reason(other or device)
    return Slot(label, device, other, reason, absent=reason is not None)


def slots(constraint: Any, wanted: tuple[str, ...]) -> list[Slot]:
    """The slots of one claim given its ``devices`` constraint and the requested devices."""
    if hasattr(constraint, "model_dump"):  # the validated spec's DevicesOnly/DevicesExcept/DevicesCross model
        constraint = constraint.model_dump(by_alias=True)
    requested_text = f"--conformance-devices={','.join(wanted)}"
    if isinstance(constraint, dict) and isinstance(constraint.get("cross"), str):
        kind = constraint["cross"]
        others = [d for d in wanted if d.partition(":")[0] == kind] or [kind]
        return [_slot(f"cpu-{other}", "cpu", other,
                      None if other in wanted else f"claim is about {kind}; {kind} not requested ({requested_text})")
                for other in others]
    if constraint == "cross":
        others = [d for d in wanted if d != "cpu"] or ["cuda"]
        return [_slot(f"cpu-{other}", "cpu", other,
                      None if other in wanted else f"needs a second device; none requested besides cpu ({requested_text})")
                for other in others]
    if isinstance(constraint, dict) and "only" in constraint:
        names = list(constraint["only"])
        return [_slot(name, name, None, None if name in wanted else
                      f"claim runs only on {', '.join(names)}; {name} not requested ({requested_text})")
                for name in names]
    excluded = set(constraint.get("except", ())) if isinstance(constraint, dict) else set()
    return [_slot(name, name, None, None) for name in wanted if name not in excluded]


# --- pytest wiring helpers (the plugin calls these) ------------------------------------------

def require_devices(config) -> bool:
    """--conformance-require-devices (ini conformance_require_devices, env CONFORMANCE_REQUIRE_DEVICES)."""
    from . import options

    return bool(options.value(config, "require_devices"))


def settle(slot: Slot, require: bool) -> None:
    """In an item's setup: skip a slot that cannot run, or fail it when its device is required."""
    import pytest

    if slot.skip_reason is None:
        return
    if slot.absent and require:
        pytest.fail(f"required device absent ({REQUIRE_OPTION}): {slot.label}: {slot.skip_reason}", pytrace=False)
    pytest.skip(f"not run on {slot.label}: {slot.skip_reason}")


def crashed_slot(report) -> str | None:
    """The slot of a claim item whose worker crashed (pytest-xdist reports it with when='???')."""
    if getattr(report, "when", None) != "???" or not report.failed:
        return None
    match = re.search(r"::[^:]+\[([^\]]+)\]$", report.nodeid)
    return match.group(1) if match else None


def not_run_lines(wanted: tuple[str, ...], counts: dict[str, dict[str, int]], require: bool) -> list[str]:
    """One loud line per requested device that did not run here, with how many items it skipped."""
    lines = []
    for name in wanted:
        reason = unavailable_reason(name)
        if reason is None:
            continue
        labels = [s for s in counts if s == name or s.endswith(f"-{name}")]
        skipped = sum(counts[s].get("skipped", 0) for s in labels)
        failed = sum(counts[s].get("failed", 0) for s in labels)
        what = (f"{failed} items failed ({REQUIRE_OPTION})" if require
                else f"{skipped} items skipped; nothing was checked on it")
        lines.append(f"NOT RUN on {name}: {reason}: {what}")
    return lines
