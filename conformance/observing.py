"""What torch did, not whether it matched: the observed behaviour of a claim's steps and checks.

Note [Observed behaviour]
A results file says which expectation applied (``expect[2] torch<2.0``); a reader comparing
releases also wants to see what torch actually did. ``observe_claim`` runs a compiled claim once
more on one fixed example, outside Hypothesis and without judging it, and records per step:

  * every warning the step emitted (category and message),
  * the exception it raised (type and message), or that it completed,
  * the value of every name it assigned (``summarize``: a tensor's dtype, shape, requires_grad,
    whether it is a leaf, and its first values; other values by type and repr),

and per expectation whether it held, with the failure's own text (actual/expected) when not.
The claim is observed twice; a fact that differs between the two (uninitialized memory, an
address) is recorded as "(varies from run to run)" rather than as a value.
The ``as_stated`` block of a refined/refuted claim is observed the same way, so the value that
makes the article's statement wrong is on record too. Messages are normalized so that only
behaviour differs between two builds: the build-specific ``(Triggered internally at
FILE:LINE.)`` suffix and memory addresses are cut. The example is the claim's first pinned
example, else the first one Hypothesis generates, which is its simplest: later ones depend on
the constants Hypothesis collects from whatever local modules are loaded, so the same claim
would get another example in a pytest run than in ``drift observe``. The simplest example is
the same in every process and on every release.

Observation never raises: a claim that cannot be observed records why. It is used for the
results of versioned claims (``recorded_observations``, via the plugin) and by ``drift``.
"""
from __future__ import annotations

import difflib
import math
import re
import warnings
from typing import Any

from .assertions import ClaimFailure

TRIGGERED = re.compile(r"\s*\(Triggered internally at [^)]*\)\s*$", re.S)
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
MAX_TEXT = 800  # longer texts keep their start and end (a warning's last word can be the news)
MAX_VALUES = 8
GENERATED_INDEX = 1  # the first generated example: see Note [Observed behaviour]
NOT_OBSERVED = "(not observed)"
VARIES = "(varies from run to run)"


def normalize(text: str) -> str:
    text = TRIGGERED.sub("", str(text))
    text = ADDRESS.sub("0x…", text).strip()
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT // 2] + " … " + text[-MAX_TEXT // 2:]


def _number(v: Any) -> Any:
    """Floats rounded (printing noise is not drift); nan and inf as text (JSON has neither, nan != nan)."""
    if isinstance(v, float):
        return round(v, 6) if math.isfinite(v) else str(v)
    return v


def summarize(value: Any) -> Any:
    """A small, JSON-able, build-independent picture of a value."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is always there when claims run
        torch = None
    try:
        if torch is not None and isinstance(value, torch.Tensor):
            out: dict = {"tensor": str(value.dtype).replace("torch.", ""), "shape": list(value.shape),
                         "requires_grad": bool(value.requires_grad), "is_leaf": bool(value.is_leaf)}
            if value.layout != torch.strided or value.is_meta:
                out["layout"] = str(value.layout)
                return out
            flat = value.detach().reshape(-1)[:MAX_VALUES].cpu()
            if flat.is_complex():
                out["values"] = [normalize(repr(complex(v))) for v in flat.tolist()]
            else:
                out["values"] = [_number(v) for v in flat.tolist()]
            if value.numel() > MAX_VALUES:
                out["values"].append("…")
            return out
        if value is None or isinstance(value, (bool, int, str)):
            return value if not isinstance(value, str) else normalize(value)
        if isinstance(value, float):
            return _number(value)
        if isinstance(value, (list, tuple)) and len(value) <= MAX_VALUES:
            return [summarize(v) for v in value]
        return {"type": type(value).__name__, "repr": normalize(repr(value))}
    except Exception as exc:  # a value whose repr or shape fails is itself an observation
        return {"type": type(value).__name__, "unreadable": f"{type(exc).__name__}: {normalize(exc)}"}


def _step(step, env: dict) -> dict:
    before = {k: id(v) for k, v in env.items()}
    seen: dict = {"at": step.at.label, "do": step.written}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            step.block.run(env)
        except ClaimFailure as exc:
            seen["failed"] = normalize(exc.render())
        except Exception as exc:
            seen["raised"] = f"{type(exc).__name__}: {normalize(exc)}"
    if caught:
        seen["warnings"] = [f"{w.category.__name__}: {normalize(w.message)}" for w in caught]
    assigned = [k for k in getattr(step.block, "assigns", ()) if k in env and before.get(k) != id(env[k])]
    if assigned:
        seen["values"] = {k: summarize(env[k]) for k in sorted(assigned)}
    return seen


def _checks(checks, env: dict) -> list[dict]:
    out = []
    for check in checks:
        seen = {"at": check.at.label, "check": f"{check.kind}: {check.written}"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                check.run(env)
                seen["held"] = True
            except ClaimFailure as exc:
                seen["held"] = False
                seen["saw"] = normalize(exc.render().split("\n", 1)[-1])
            except Exception as exc:
                seen["held"] = False
                seen["saw"] = f"{type(exc).__name__}: {normalize(exc)}"
        out.append(seen)
    return out


def _run(claim, slot, steps, checks, example) -> list[dict]:
    from .strategies import materialize

    env = materialize(claim.plans, example, slot.device, slot.other_device)
    seen = []
    for step in steps:
        one = _step(step, env)
        seen.append(one)
        if "raised" in one and step.raises is None:
            return seen  # the rest would only report the consequences
    return seen + _checks(checks, env)


def fixed_example(claim, slot):
    """The claim's first pinned example, else the first (simplest) one generated (Note [Observed behaviour])."""
    if claim.examples:
        return claim.examples[0]
    from hypothesis import HealthCheck, Phase, find, settings

    from .strategies import example_strategy

    count = [0]

    def nth(_ex) -> bool:
        count[0] += 1
        return count[0] >= GENERATED_INDEX

    return find(example_strategy(claim.plans, slot.device, slot.other_device), nth,
                settings=settings(database=None, derandomize=True, phases=[Phase.generate], max_examples=50,
                                  deadline=None, suppress_health_check=list(HealthCheck)))


def _observe_once(claim, slot, example) -> dict:
    out: dict = {"example": normalize(repr(example)),
                 "observed": _run(claim, slot, claim.steps, claim.checks, example)}
    if claim.stated_checks is not None:
        out["as_stated"] = _run(claim, slot, claim.stated_steps, claim.stated_checks, example)
    return out


def _keep_stable(first: Any, second: Any) -> Any:
    """``first`` with every part that differs in ``second`` replaced by VARIES."""
    if isinstance(first, dict) and isinstance(second, dict):
        return {k: _keep_stable(v, second.get(k, VARIES)) for k, v in first.items()}
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second) and \
            all(isinstance(v, dict) for v in first):
        return [_keep_stable(a, b) for a, b in zip(first, second)]
    return first if first == second else VARIES


def observe_claim(claim, slot) -> dict:
    """Observed behaviour of one compiled claim on one slot; never raises.

    The claim is observed twice on the same example: what differs between the two (the contents
    of ``torch.empty``, a ``data_ptr()``) is nondeterministic, not behaviour, and is kept as VARIES
    so that it never shows up as a difference between releases.
    """
    try:
        example = fixed_example(claim, slot)
        return _keep_stable(_observe_once(claim, slot, example), _observe_once(claim, slot, example))
    except Exception as exc:
        return {"error": f"not observed: {type(exc).__name__}: {normalize(exc)}"}


def recorded_observations(claim, slot) -> dict | None:
    """What the results file keeps for a claim: observations of versioned claims only (see Note)."""
    if not claim.applied or slot.skip_reason:
        return None
    return observe_claim(claim, slot)


def flatten(observation: dict) -> dict[str, Any]:
    """One key per observed fact, for diffing: ``"step 3 (g = h.grad) warnings": [...]``.

    Steps and checks are numbered in the order they ran, not by their index in the spec, so the
    two alternatives of a versioned step (``do[2]`` up to a release, ``do[3]`` from it) line up.
    """
    flat: dict[str, Any] = {}
    if "error" in observation:
        flat["error"] = observation["error"]
        return flat
    for part in ("observed", "as_stated"):
        prefix = "" if part == "observed" else "as_stated "
        steps = checks = 0
        for entry in observation.get(part) or []:
            if "check" in entry:
                checks += 1
                where = f"{prefix}check {checks} ({entry['check']})"
            else:
                steps += 1
                where = f"{prefix}step {steps} ({entry.get('do', '')})"
            for key, value in entry.items():
                if key in ("at", "do", "check"):
                    continue
                if key == "values":
                    for name, v in value.items():
                        flat[f"{where} {name}"] = v
                else:
                    flat[f"{where} {key}"] = value
    return flat


def word_change(a: Any, b: Any) -> str | None:
    """``… for more [-informations.-] [+information.+]`` when both sides are (lists of) text."""
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) == 1:
        a, b = a[0], b[0]
    if not (isinstance(a, str) and isinstance(b, str)) or NOT_OBSERVED in (a, b):
        return None
    wa, wb = a.split(), b.split()
    out = []
    ops = difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).get_opcodes()
    for n, (op, i1, i2, j1, j2) in enumerate(ops):
        if op == "equal":  # keep three words of context on each side of a change
            words = wa[i1:i2]
            head = words[:3] if n else []
            tail = words[-3:] if n < len(ops) - 1 else []
            if len(words) <= len(head) + len(tail):
                out.append(" ".join(words))
            else:
                out.append(" ".join([*head, "…", *tail]))
        else:
            if i2 > i1:
                out.append("[-" + " ".join(wa[i1:i2]) + "-]")
            if j2 > j1:
                out.append("[+" + " ".join(wb[j1:j2]) + "+]")
    return " ".join(out)
