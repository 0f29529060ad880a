"""Per-item isolation: global state is snapshot and restored around every item, and optionally
each item runs in a forked child process under OS limits.

Note [Isolation]
~~~~~~~~~~~~~~~~
Torch and NumPy keep process-wide settings (grad mode, anomaly detection, forward-AD levels,
default dtype, thread counts, denormal flushing, autocast, warn-always, deterministic mode,
matmul precision, saved-tensor hook and mode stacks, NumPy error handling and its callback,
print options, and the public attributes of the modules a spec can reach).  A claim that
changes one of them would change what the next, unrelated claim sees.  ``guarded`` takes a
``snapshot`` before an item, restores it afterwards whatever happened, and, when the item
itself passed but left a setting changed, fails the item naming the setting (a claim must
leave the world as it found it; the spec language only offers context managers that restore
on exit, so this fires on an engine or torch bug, or an escape).

Every item also runs under ``item_deadline`` (Note [Budgets and deadlines]): spec code that
is still evaluating after ITEM_TIME_LIMIT seconds stops with BudgetExceeded.

``--conformance-isolate`` adds a process boundary, for spec packs you did not write: each item
runs in a child made with ``os.fork`` that has RLIMIT_CPU, RLIMIT_AS (address space: what the
parent uses plus CHILD_MEMORY_BYTES) and a wall-clock limit (the parent kills it).  A crash
(SIGSEGV in torch, say), a hang inside one C call or an out-of-memory then costs that item only:
it is reported as a spec error of that claim, and the session goes on.  The child sends its
outcome back through a pipe (a pickled exception, or its text when it does not pickle).  torch
runs single-threaded in this mode: a fork after OpenMP has started its thread pool can hang
the child (GNU libgomp is not fork-safe).
"""
from __future__ import annotations

import contextlib
import os
import pickle
import resource
import select
import signal
import sys
import time
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from .running import SpecRuntimeError, VerdictMismatch

ITEM_TIME_LIMIT = float(os.environ.get("CONFORMANCE_ITEM_TIME_LIMIT", "120"))
CHILD_WALL_LIMIT = float(os.environ.get("CONFORMANCE_CHILD_WALL_LIMIT", str(ITEM_TIME_LIMIT + 30)))
CHILD_MEMORY_BYTES = int(os.environ.get("CONFORMANCE_CHILD_MEMORY", str(6 * 1024 ** 3)))


class StateLeak(SpecRuntimeError):
    """A claim passed but left global state changed."""


class ChildFailure(SpecRuntimeError):
    """An isolated child crashed, hung or ran out of memory; its message is in spec terms."""


# ---------------------------------------------------------------------------------------------
# Snapshot and restore
# ---------------------------------------------------------------------------------------------


def _call(owner: Any, name: str, *args: Any) -> Any:
    fn = getattr(owner, name, None)
    if fn is None:
        return None
    try:
        return fn(*args)
    except Exception:
        return None


def _flush_denormal() -> bool:
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    return bool((tiny * 1.0).item() == 0.0)


def _module_tables() -> "_Tables":
    from .language import allowlist

    return _Tables({name: dict(vars(module)) for name, module in allowlist.MODULE_OBJECTS.items()})


def _wraps(current: Any, value: Any, depth: int = 4) -> bool:
    """Whether ``current`` is ``value`` under decorators (``functools.wraps`` chains).

    torch._dynamo, imported lazily by the first optimizer or backward that needs it, replaces
    torch.manual_seed with a wrapper of it: one layer on torch 2.4 and later, two on 2.2 and 2.3
    (a DisableContext around a wrapper). That is torch's doing, not a spec's.
    """
    for _ in range(depth):
        current = getattr(current, "__wrapped__", None)
        if current is None:
            return False
        if current is value:
            return True
    return False


class _Tables(dict):
    """Module namespaces; equal when no attribute that existed before was replaced or deleted
    (attributes added later are submodules torch imports lazily, not a spec's doing)."""

    def replaced(self, other: dict) -> list[str]:
        """The attributes, as ``module.name``, that ``other`` no longer holds as they were here."""
        out = []
        for name, saved in self.items():
            now = other.get(name, {})
            for key, value in saved.items():
                current = now.get(key, _Tables)
                if current is not value and not _wraps(current, value):
                    out.append(f"{name}.{key}")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and not self.replaced(other)

    __hash__ = None  # type: ignore[assignment]


def _autocast() -> Tuple:
    out = []
    for device in ("cpu", "cuda"):
        try:
            out.append(torch.is_autocast_enabled(device))
        except TypeError:
            out.append(_call(torch, "is_autocast_cpu_enabled") if device == "cpu" else torch.is_autocast_enabled())
        except Exception:
            out.append(None)
    return tuple(out)


# name -> (getter, setter or None).  A setter restores the value the getter returned.
def _settings() -> Dict[str, Tuple[Callable[[], Any], Optional[Callable[[Any], None]]]]:
    fwd = getattr(torch.autograd, "forward_ad", None)
    c_autograd = getattr(torch._C, "_autograd", None)
    return {
        "grad mode": (torch.is_grad_enabled, torch.set_grad_enabled),
        "inference mode": (lambda: _call(torch, "is_inference_mode_enabled"), None),
        "anomaly detection": (torch.is_anomaly_enabled, lambda v: torch.autograd.set_detect_anomaly(v)),
        "anomaly nan check": (lambda: _call(torch, "is_anomaly_check_nan_enabled"), None),
        "forward-AD level": (lambda: getattr(fwd, "_current_level", None), None),
        "autograd multithreading": (lambda: _call(torch._C, "_is_multithreading_enabled"),
                                    lambda v: _call(torch.autograd, "set_multithreading_enabled", v)),
        "default dtype": (torch.get_default_dtype, torch.set_default_dtype),
        "default device": (lambda: str(_call(torch, "get_default_device")),
                           lambda v: _call(torch, "set_default_device", v)),
        "num threads": (torch.get_num_threads, torch.set_num_threads),
        "flush denormal": (_flush_denormal, torch.set_flush_denormal),
        "autocast": (_autocast, None),
        "warn always": (torch.is_warn_always_enabled, torch.set_warn_always),
        "deterministic algorithms": (
            lambda: (torch.are_deterministic_algorithms_enabled(),
                     _call(torch, "is_deterministic_algorithms_warn_only_enabled")),
            lambda v: torch.use_deterministic_algorithms(v[0], **({"warn_only": v[1]} if v[1] is not None else {}))),
        "float32 matmul precision": (lambda: _call(torch, "get_float32_matmul_precision"),
                                     lambda v: v is not None and torch.set_float32_matmul_precision(v)),
        "saved tensor hooks": (lambda: _call(c_autograd, "_top_saved_tensors_default_hooks", False) is not None, None),
        "torch function modes": (lambda: _call(torch._C, "_len_torch_function_stack"), None),
        "torch dispatch modes": (lambda: _call(torch._C, "_len_torch_dispatch_stack"), None),
        "torch print options": (lambda: dict(vars(torch._tensor_str.PRINT_OPTS)),
                                lambda v: torch._tensor_str.PRINT_OPTS.__dict__.update(v)),
        "numpy error handling": (np.geterr, lambda v: np.seterr(**v)),
        "numpy error callback": (np.geterrcall, np.seterrcall),
        "numpy print options": (np.get_printoptions, lambda v: np.set_printoptions(**v)),
        "warning filters": (lambda: list(warnings.filters), lambda v: warnings.filters.__setitem__(slice(None), v)),
        "module attributes": (_module_tables, _restore_tables),
    }


def _restore_tables(tables: Dict[str, Dict[str, Any]]) -> None:
    from .language import allowlist

    for name, saved in tables.items():
        namespace = vars(allowlist.MODULE_OBJECTS[name])
        for key, value in saved.items():
            if namespace.get(key, saved) is not value:
                namespace[key] = value


SETTINGS = _settings()


def snapshot() -> Dict[str, Any]:
    out = {}
    for name, (getter, _) in SETTINGS.items():
        try:
            out[name] = getter()
        except Exception:
            out[name] = None
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, _Tables):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(x is y or x == y for x, y in zip(a, b))
    try:
        return a is b or bool(a == b)
    except Exception:
        return False


# Restored after every item but not held against the claim: torch and Hypothesis adjust these
# themselves (a lazily imported module registers its warning filters).
SILENT = frozenset({"warning filters"})


def changed(before: Dict[str, Any], after: Dict[str, Any]) -> List[str]:
    return [name for name in before if not _same(before[name], after.get(name))]


def describe(before: Dict[str, Any], after: Dict[str, Any], names: List[str]) -> str:
    """The changed settings for a message; module attributes are named one by one."""
    parts = []
    for name in names:
        saved = before.get(name)
        if isinstance(saved, _Tables) and isinstance(after.get(name), dict):
            shown = saved.replaced(after[name])
            parts.append(f"{name}: {', '.join(shown[:5])}{' ...' if len(shown) > 5 else ''}" if shown else name)
        else:
            parts.append(name)
    return ", ".join(parts)


def _unwind_stacks() -> None:
    """Undo what has no setter: open forward-AD levels, pushed saved-tensor hooks."""
    fwd = getattr(torch.autograd, "forward_ad", None)
    while fwd is not None and getattr(fwd, "_current_level", -1) >= 0:
        try:
            torch._C._exit_dual_level(level=fwd._current_level)
        except Exception:
            break
        fwd._current_level -= 1
    c_autograd = getattr(torch._C, "_autograd", None)
    for _ in range(100):
        if _call(c_autograd, "_top_saved_tensors_default_hooks", False) is None:
            break
        _call(c_autograd, "_pop_saved_tensors_default_hooks")


def restore(saved: Dict[str, Any]) -> None:
    _unwind_stacks()
    for name, (getter, setter) in SETTINGS.items():
        if setter is None or saved.get(name) is None:
            continue
        try:
            if not _same(getter(), saved[name]):
                setter(saved[name])
        except Exception:
            pass


@contextlib.contextmanager
def guarded(where: str):
    """Run an item with its global state restored afterwards; raise StateLeak if it changed it."""
    from .language import item_deadline

    before = snapshot()
    ok = False
    try:
        with item_deadline(ITEM_TIME_LIMIT):
            yield
        ok = True
    finally:
        after = snapshot()
        diff = changed(before, after)
        if diff:
            restore(before)
        diff = [name for name in diff if name not in SILENT]
        if ok and diff:
            raise StateLeak(f"{where}: the claim left global state changed ({describe(before, after, diff)}); a claim must "
                            "restore what it changes (use a 'with' block)")


# ---------------------------------------------------------------------------------------------
# Forked children
# ---------------------------------------------------------------------------------------------


_PREPARED = []


def prepare_isolated_session() -> None:
    """Called before the first isolated item (see Note [Isolation] on threads)."""
    if not _PREPARED:
        torch.set_num_threads(1)
        _PREPARED.append(True)


def _limit_child() -> None:
    cpu = int(CHILD_WALL_LIMIT)
    with contextlib.suppress(Exception):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    with contextlib.suppress(Exception):
        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * resource.getpagesize()
        limit = used + CHILD_MEMORY_BYTES
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with contextlib.suppress(Exception):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _encode(outcome: Tuple[str, Any, Any]) -> bytes:
    try:
        return pickle.dumps(outcome)
    except Exception:
        kind, exc, extra = outcome
        text = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
        return pickle.dumps(("text", text, extra))


def run_in_child(body: Callable[[], Any], where: str, extra: Callable[[], Any] = lambda: None,
                 wall_limit: Optional[float] = None) -> Any:
    """Run ``body`` in a forked child; re-raise its exception here, or ChildFailure on crash/hang.

    Returns ``extra()`` as computed in the child (e.g. the item's statistics) when body passes;
    when it raises, the exception carries that value as ``child_extra``.
    """
    wall = CHILD_WALL_LIMIT if wall_limit is None else wall_limit
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_fd)
            _limit_child()
            try:
                body()
                data = _encode(("ok", None, extra()))
            except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
                exc.__traceback__ = None
                data = _encode(("raised", exc, extra()))
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(data)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks: List[bytes] = []
    deadline = time.monotonic() + wall
    timed_out = False
    with os.fdopen(read_fd, "rb") as fh:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([fh], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fh.fileno(), 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        raise ChildFailure(f"{where}: the item ran past its wall-time limit of {wall:g} s and was stopped")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        why = " (CPU-time limit)" if sig == signal.SIGXCPU else ""
        raise ChildFailure(f"{where}: the item crashed with {name}{why} in its isolated child process")
    try:
        kind, value, child_extra = pickle.loads(b"".join(chunks))
    except Exception:
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
        raise ChildFailure(f"{where}: the isolated child ended (status {code}) without a result, "
                           "e.g. out of memory") from None
    if kind == "ok":
        return child_extra
    if kind == "text":
        raise ChildFailure(f"{where}: {value}")
    if isinstance(value, MemoryError):
        raise ChildFailure(f"{where}: the item ran out of memory in its isolated child process")
    try:
        value.child_extra = child_extra
    except Exception:
        pass
    raise value


class _StaleVerdict(Exception):
    """VerdictMismatch as it crosses the pipe (the compiled claim itself does not pickle)."""

    def __init__(self, examples: int):
        super().__init__(examples)
        self.examples = examples


def run_item(item: Any, profile: Any, run_claim: Callable[..., None], isolate: bool) -> None:
    """Run one ClaimItem: guarded always, in a forked child when ``isolate``."""
    claim = item.claim
    where = f"{claim.file}:{claim.line}: {claim.id}"

    def body() -> None:
        try:
            run_claim(claim, item.slot, profile, item.stats)
        except VerdictMismatch as exc:
            raise _StaleVerdict(exc.examples) from None

    if isolate:
        prepare_isolated_session()
    with guarded(where):
        if not isolate:
            run_claim(claim, item.slot, profile, item.stats)
            return
        try:
            child_stats = run_in_child(body, where, extra=lambda: dict(vars(item.stats)))
        except _StaleVerdict as exc:
            vars(item.stats).update(getattr(exc, "child_extra", None) or {})
            raise VerdictMismatch(claim, exc.examples) from None
        except BaseException as exc:
            vars(item.stats).update(getattr(exc, "child_extra", None) or {})
            raise
        vars(item.stats).update(child_stats or {})
