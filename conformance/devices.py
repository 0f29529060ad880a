"""Which devices a claim runs on: requested devices, their availability, per-claim constraints.

Note [Device slots]
Every claim is expanded into one pytest item per *slot*. A slot is a device label such as
``cpu`` or ``cuda``, or for claims about moving between devices (``devices: cross``) a pair
``cpu-cuda`` where ``device`` is the host and ``other_device`` the accelerator. The requested
devices come from ``--conformance-devices`` (or ``CONFORMANCE_DEVICES``), default ``cpu,cuda``:
CUDA is always requested, so on a machine without it every claim shows a skipped ``[cuda]``
item with the reason, rather than vanishing. A claim's own constraint (``only``/``except``)
removes slots it does not apply to; a slot it needs but the user did not request is kept as a
skipped item that says so. Nothing is dropped silently.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

DEFAULT_DEVICES = ("cpu", "cuda")
ENV_VAR = "CONFORMANCE_DEVICES"


@dataclass(frozen=True)
class Slot:
    label: str
    device: str
    other_device: str | None = None
    skip_reason: str | None = None


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


@lru_cache(maxsize=None)
def unavailable_reason(name: str) -> str | None:
    """None when torch can use device type ``name`` here, else why not."""
    import torch

    if name == "cpu":
        return None
    if name == "cuda":
        if torch.cuda.is_available():
            return None
        return "CUDA is not available (torch.cuda.is_available() is False)"
    if name == "mps":
        mps = getattr(getattr(torch, "backends", None), "mps", None)
        if mps is not None and mps.is_available():
            return None
        return "MPS is not available (torch.backends.mps.is_available() is False)"
    module = getattr(torch, name, None)
    is_available = getattr(module, "is_available", None)
    if callable(is_available):
        try:
            return None if is_available() else f"{name} is not available (torch.{name}.is_available() is False)"
        except Exception as exc:  # a backend that cannot even answer
            return f"{name} is not available ({type(exc).__name__}: {exc})"
    try:
        torch.empty(1, device=name)
        return None
    except Exception as exc:
        return f"device {name!r} is not usable by this torch ({type(exc).__name__}: {str(exc).splitlines()[0]})"


def slots(constraint: Any, wanted: tuple[str, ...]) -> list[Slot]:
    """The slots of one claim given its ``devices`` constraint and the requested devices."""
    if hasattr(constraint, "model_dump"):  # the validated spec's DevicesOnly/DevicesExcept model
        constraint = constraint.model_dump(by_alias=True)
    if constraint == "cross":
        others = [d for d in wanted if d != "cpu"] or ["cuda"]
        out = []
        for other in others:
            reason = None
            if other not in wanted:
                reason = f"needs a second device; none requested besides cpu (--conformance-devices={','.join(wanted)})"
            else:
                reason = unavailable_reason(other)
            out.append(Slot(f"cpu-{other}", "cpu", other, reason))
        return out
    if isinstance(constraint, dict) and "only" in constraint:
        names = list(constraint["only"])
        out = []
        for name in names:
            if name not in wanted:
                out.append(Slot(name, name, None,
                                f"claim runs only on {', '.join(names)}; {name} not requested "
                                f"(--conformance-devices={','.join(wanted)})"))
            else:
                out.append(Slot(name, name, None, unavailable_reason(name)))
        return out
    excluded = set(constraint.get("except", ())) if isinstance(constraint, dict) else set()
    return [Slot(name, name, None, unavailable_reason(name)) for name in wanted if name not in excluded]
