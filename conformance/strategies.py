"""Hypothesis strategies for a claim's ``given`` block, built from small named pieces.

Note [Draws and materialization]
A claim's ``given`` entries are drawn in order, so a later entry may depend on an earlier one
(``shape: "x.shape"``, ``requires_grad: rg``, ``module: "nn.Linear(n, 2)"``). Drawing produces
an ``Example``: the *raw* values (numpy arrays with a dtype name, scalars) and a torch seed.
Materializing an Example on a device slot turns raw values into tensors (always a fresh copy,
so the raw arrays stay pristine for the failure report) and evaluates ``expr``/``module``
entries after ``torch.manual_seed(torch_seed)``, so module initialisation is reproducible from
the Hypothesis example alone and can be written into a repro snippet.

dtype and device are not hidden inside opaque draws: the dtype is drawn from the family named
in the spec and reported by name, and the device comes from the item's slot.

Note [Drawn layouts]
A tensor's memory layout is a drawn dimension like its dtype: ``contiguous``; ``transposed``
(dimensions reversed, rank >= 2); ``sliced`` (every other element of a storage twice as long in
the last dimension); ``offset`` (contiguous, starting 2 elements into its storage); and, opt-in
since writes to it are refused, ``expanded`` (dimension 0 has stride 0, so every row is the same
memory). A spec narrows it with ``layout: contiguous`` (or a list); the default ``any`` is the
four writable layouts. Each layout is a ``Placement``: one flat storage (the drawn values where
the tensor sees them, ``FILLER`` elsewhere) plus ``(size, stride, storage_offset)``; the tensor is
``storage.as_strided(size, stride, offset)`` cut from its storage, a leaf (``requires_grad`` is
set on it afterwards). The repro snippet writes exactly that expression, so it rebuilds the same
strides and offset. Layouts that do not exist for a shape (transposed below rank 2, anything but
contiguous for an empty tensor) are not drawn for it; shrinking goes towards ``contiguous``.
The building calls are taken from torch's C base class at import, so a mutant that patches
``Tensor.detach`` or ``Tensor.as_strided`` changes what a spec sees, never how a value is drawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .schema import DTYPE_FAMILIES, LAYOUT_FAMILIES, MAX_DRAWN_ELEMENTS, Given

NUMPY_DTYPE = {
    "float32": np.float32, "float64": np.float64, "float16": np.float16, "bfloat16": np.float32,
    "int64": np.int64, "int32": np.int32, "int16": np.int16, "int8": np.int8, "uint8": np.uint8,
    "bool": np.bool_, "complex64": np.complex64, "complex128": np.complex128,
}
FLOAT_WIDTH = {"float32": 32, "float64": 64, "float16": 16, "bfloat16": 32}
DEFAULT_FLOAT_BOUNDS = (-10.0, 10.0)
DEFAULT_INT_BOUNDS = (-100, 100)
SEED_BOUND = 2**31 - 1
MAX_DRAWN_DIMS = 6


def expand_dtypes(spec: str | list[str]) -> tuple[str, ...]:
    names = [spec] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for name in names:
        for dtype in DTYPE_FAMILIES.get(name, (name,)):
            if dtype not in out:
                out.append(dtype)
    return tuple(out)


def expand_layouts(spec: str | list[str]) -> tuple[str, ...]:
    names = [spec] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for name in names:
        for layout in LAYOUT_FAMILIES.get(name, (name,)):
            if layout not in out:
                out.append(layout)
    if "contiguous" in out:  # shrinking goes towards the plain layout
        out.remove("contiguous")
        out.insert(0, "contiguous")
    return tuple(out)


def torch_dtype(name: str):
    import torch

    return getattr(torch, name)


@dataclass(frozen=True)
class TensorRaw:
    """A drawn tensor before it is made: its values, the dtype and the memory layout it will have."""

    array: np.ndarray
    dtype: str
    layout: str = "contiguous"


STORAGE_OFFSET = 2  # elements before an ``offset`` tensor's first element in its storage


@dataclass(frozen=True)
class Placement:
    """Where a drawn tensor lies in memory (Note [Drawn layouts]): flat storage, size, stride, offset."""

    storage: np.ndarray
    size: tuple
    stride: tuple
    offset: int


def filler(dtype: str):
    """The value in storage elements that a non-contiguous tensor does not see (never a drawn one)."""
    return True if dtype == "bool" else 77


def _contiguous_strides(shape: tuple) -> tuple:
    strides, step = [], 1
    for side in reversed(shape):
        strides.append(step)
        step *= max(side, 1)
    return tuple(reversed(strides))


def layouts_for(shape: tuple, layouts: tuple[str, ...]) -> tuple[str, ...]:
    """The layouts among ``layouts`` that exist for a tensor of ``shape`` (always contiguous first)."""
    if math.prod(shape) == 0:
        return ("contiguous",)
    usable = {"contiguous": True, "transposed": len(shape) >= 2, "sliced": len(shape) >= 1,
              "offset": True, "expanded": len(shape) >= 1 and shape[0] > 1}
    out = tuple(name for name in layouts if usable[name])
    return out or ("contiguous",)


def placement(raw: "TensorRaw") -> Placement:
    array, layout = raw.array, raw.layout
    shape = tuple(array.shape)
    if layout == "contiguous":
        return Placement(array.reshape(-1), shape, _contiguous_strides(shape), 0)
    if layout == "transposed":
        order = tuple(reversed(range(len(shape))))
        flipped = np.ascontiguousarray(array.transpose(order))
        return Placement(flipped.reshape(-1), shape, tuple(reversed(_contiguous_strides(flipped.shape))), 0)
    if layout == "sliced":
        wide = np.full(shape[:-1] + (2 * shape[-1],), filler(raw.dtype), dtype=array.dtype)
        wide[..., ::2] = array
        strides = _contiguous_strides(wide.shape)
        return Placement(wide.reshape(-1), shape, strides[:-1] + (2,), 0)
    if layout == "offset":
        flat = np.concatenate([np.full(STORAGE_OFFSET, filler(raw.dtype), dtype=array.dtype), array.reshape(-1)])
        return Placement(flat, shape, _contiguous_strides(shape), STORAGE_OFFSET)
    if layout == "expanded":  # drawn arrays for this layout repeat row 0 (see _draw_example)
        row = np.ascontiguousarray(array[:1])
        return Placement(row.reshape(-1), shape, (0,) + _contiguous_strides(shape)[1:], 0)
    raise AssertionError(f"unknown layout {layout!r}")


def _base_method(name: str):
    """``torch.Tensor.<name>`` as torch's C base class defines it (never a patched copy)."""
    import torch

    for klass in torch.Tensor.__mro__[1:]:
        if name in vars(klass):
            return vars(klass)[name]
    return getattr(torch.Tensor, name)


_BUILDERS: dict = {}


def _from_numpy():
    """torch's own from_numpy, not the ``torch.from_numpy`` attribute a mutant may have replaced
    (a mutant that rounds int64 values there would otherwise change the drawn values too)."""
    import torch

    return getattr(getattr(torch._C, "_VariableFunctions", None), "from_numpy", None) or torch.from_numpy


def _builder(name: str):
    if name not in _BUILDERS:
        _BUILDERS[name] = _base_method(name)
    return _BUILDERS[name]


@dataclass
class GivenPlan:
    """One ``given`` entry, compiled: the spec plus compiled expressions it refers to."""

    name: str
    spec: Given
    line: int | None
    dtypes: tuple[str, ...] = ()
    shape_expr: Callable | None = None
    requires_grad_expr: Callable | None = None
    expr: Callable | None = None
    source: str | None = None

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def drawn(self) -> bool:
        return self.kind not in ("expr", "module")


@dataclass
class Example:
    """Raw values for every drawn name, a torch seed, and whether it was pinned in the spec."""

    raw: dict[str, Any]
    torch_seed: int = 0
    pinned: bool = False
    _fresh_env: dict | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:  # what Hypothesis prints: the spec's own names
        parts = [f"{k}={_raw_repr(v)}" for k, v in self.raw.items()]
        parts.append(f"torch_seed={self.torch_seed}")
        return "Example(" + ", ".join(parts) + ")"

    def _repr_pretty_(self, printer, cycle) -> None:
        # Hypothesis's pretty printer would otherwise list the dataclass fields, live tensors on
        # the slot's device included; a device whose repr or ops fail must not break the report.
        printer.text(repr(self))


def _raw_repr(value: Any) -> str:
    if isinstance(value, TensorRaw):
        layout = "" if value.layout == "contiguous" else f", layout={value.layout}"
        return f"tensor({value.array.tolist()!r}, dtype={value.dtype}{layout})"
    return repr(value)


# --- small named pieces -------------------------------------------------------------------
# Hypothesis strategies are immutable values, and building one (with its validation) costs more
# than drawing from it, so the pieces below are built once per claim (``_ClaimDraws``) or cached
# by their arguments, instead of once per example.

@lru_cache(maxsize=256)
def element_strategy(dtype: str, bounds) -> st.SearchStrategy:
    if dtype == "bool":
        return st.booleans()
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(NUMPY_DTYPE[dtype])
        low, high = (bounds.min, bounds.max) if bounds else DEFAULT_INT_BOUNDS
        low, high = max(int(np.ceil(low)), int(info.min)), min(int(np.floor(high)), int(info.max))
        return st.integers(low, max(low, high))
    low, high = (bounds.min, bounds.max) if bounds else DEFAULT_FLOAT_BOUNDS
    if dtype.startswith("complex"):
        magnitude = max(abs(low), abs(high))
        return st.complex_numbers(max_magnitude=magnitude, allow_nan=False, allow_infinity=False,
                                  width=64 if dtype == "complex64" else 128)
    width = FLOAT_WIDTH[dtype]
    if dtype == "bfloat16":  # representable in float32; rounded on conversion
        width = 32
    return st.floats(float(low), float(high), allow_nan=False, allow_infinity=False, width=width)


def shape_strategy(shape_spec) -> st.SearchStrategy:
    return hnp.array_shapes(min_dims=shape_spec.min_dims, max_dims=shape_spec.max_dims,
                            min_side=shape_spec.min_side, max_side=shape_spec.max_side)


@lru_cache(maxsize=1024)
def array_strategy(dtype: str, shape: tuple, bounds) -> st.SearchStrategy:
    return hnp.arrays(NUMPY_DTYPE[dtype], shape, elements=element_strategy(dtype, bounds))


@lru_cache(maxsize=64)
def layout_strategy(layouts: tuple[str, ...]) -> st.SearchStrategy:
    return st.sampled_from(layouts)


def scalar_strategy(plan: GivenPlan) -> st.SearchStrategy:
    spec = plan.spec
    if spec.integer is not None:
        return st.integers(int(np.ceil(spec.integer.min)), int(np.floor(spec.integer.max)))
    if spec.floating is not None:
        return st.floats(float(spec.floating.min), float(spec.floating.max), allow_nan=False, allow_infinity=False)
    if spec.boolean is not None:
        return st.booleans()
    if spec.sampled_from is not None:
        return st.sampled_from(spec.sampled_from)
    raise AssertionError(f"not a scalar draw: {plan.kind}")


# --- materialization -----------------------------------------------------------------------

def seed_torch(seed: int) -> None:
    """``torch.manual_seed(seed)``, without its per-call cost on a torch with no accelerator.

    ``torch.manual_seed`` also queues the seed for each lazily initialised accelerator backend
    (CUDA, XPU, MTIA), capturing a stack trace each time: about 0.2 ms per backend under pytest,
    more than the torch work of a typical example. When none of those backends (nor MPS, nor a
    custom backend) is available, the queued seeds can never be applied and seeding the CPU
    generator is all the call does, so that is all we do; otherwise the full call is kept.
    """
    import torch

    if _only_cpu_generator():
        torch.random.default_generator.manual_seed(seed)
        return
    # A backend module without seeding hooks makes torch.manual_seed warn on every call (thousands
    # per run); say it once per process instead.
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.manual_seed(seed)
    if caught and not _SEED_WARNED:
        _SEED_WARNED.append(True)
        first = caught[0]
        warnings.warn(f"{first.message} (shown once; torch.manual_seed said this on seeding examples)",
                      first.category, stacklevel=2)


_SEED_WARNED: list = []


_CPU_ONLY: list = []  # [manual_seed function checked, answer]


def _only_cpu_generator() -> bool:
    import torch

    if _CPU_ONLY and _CPU_ONLY[0] is torch.manual_seed:
        return _CPU_ONLY[1]
    answer = False
    try:
        privateuse = torch._C._get_privateuse1_backend_name()
        answer = (_is_torch_manual_seed(torch, torch.manual_seed)
                  and not getattr(torch._C, "_has_mps", False)
                  and not hasattr(torch, privateuse)
                  and not any(_backend_available(torch, name) for name in ("cuda", "xpu", "mtia")))
    except Exception:  # an older or unusual torch: keep the full call
        answer = False
    _CPU_ONLY[:] = [torch.manual_seed, answer]
    return answer


def _is_torch_manual_seed(torch, fn) -> bool:
    """Whether ``fn`` is torch's own manual_seed: as defined, or as wrapped by torch itself
    (importing torch._dynamo wraps it to disable compilation), but not replaced by anyone else."""
    import os

    original = torch.random.manual_seed
    if fn is original:
        return True
    code = getattr(fn, "__code__", None)
    return (getattr(fn, "__wrapped__", None) is original and code is not None
            and os.path.abspath(code.co_filename).startswith(os.path.dirname(os.path.abspath(torch.__file__)) + os.sep))


def _backend_available(torch, name: str) -> bool:
    module = getattr(torch, name, None)
    if module is None:
        return False
    is_available = getattr(module, "is_available", None)
    return True if is_available is None else bool(is_available())


def base_env(device: str, other_device: str | None) -> dict:
    import torch

    env = {"device": torch.device(device)}
    if other_device is not None:
        env["other_device"] = torch.device(other_device)
    return env


def make_tensor(raw: TensorRaw, plan: GivenPlan, env: dict):
    import torch

    device = env["device"] if plan.spec.tensor.device == "device" else (
        torch.device("cpu") if plan.spec.tensor.device == "cpu" else env["other_device"])
    from_numpy = _from_numpy()
    if raw.layout == "contiguous":
        tensor = from_numpy(np.asarray(raw.array, order="C")).to(device=device, dtype=torch_dtype(raw.dtype), copy=True)
    else:
        where = placement(raw)
        storage = from_numpy(where.storage).to(device=device, dtype=torch_dtype(raw.dtype), copy=True)
        tensor = _builder("detach")(_builder("as_strided")(storage, where.size, where.stride, where.offset))
    if _requires_grad(plan, env):
        tensor.requires_grad_(True)
    return tensor


def _requires_grad(plan: GivenPlan, env: dict) -> bool:
    flag = plan.spec.tensor.requires_grad
    if isinstance(flag, bool):
        return flag
    return bool(plan.requires_grad_expr(env))


def derived_value(plan: GivenPlan, env: dict):
    """Evaluate an ``expr``/``module`` entry; torch raising here fails the claim at that entry."""
    from .assertions import Located, StepFailed, first_line
    from .expressions import ExpressionError

    try:
        value = plan.expr(env)
        if plan.kind == "module":
            value = value.to(env["device"])
    except ExpressionError:
        raise
    except Exception as exc:
        raise StepFailed(Located(f"given.{plan.name}", plan.line), plan.source or "",
                         f"building it raised {type(exc).__name__}: {first_line(exc)}") from None
    return value


def materialize(plans: list[GivenPlan], example: Example, device: str, other_device: str | None) -> dict:
    """Make the environment for one run: base names plus every given value, in order."""
    if example._fresh_env is not None:  # made while drawing; use it once, then rebuild
        env, example._fresh_env = example._fresh_env, None
        return env
    env = base_env(device, other_device)
    seed_torch(example.torch_seed)
    for plan in plans:
        if plan.drawn:
            raw = example.raw[plan.name]
            env[plan.name] = make_tensor(raw, plan, env) if isinstance(raw, TensorRaw) else raw
        else:
            env[plan.name] = derived_value(plan, env)
    return env


def shape_of(value: Any) -> tuple:
    return tuple(int(side) for side in (value.shape if hasattr(value, "shape") else value))


def expression_shape(plan: GivenPlan, env: dict) -> tuple:
    """The shape a ``shape: EXPR`` entry gives, bounded as schema.py bounds literal and range shapes."""
    from .expressions import BudgetExceeded, ExpressionError

    value = plan.shape_expr(env)
    try:
        shape = shape_of(value)
    except (TypeError, ValueError):
        raise ExpressionError(f"shape of {plan.name!r} evaluated to {value!r}, which is not a shape") from None
    if len(shape) > MAX_DRAWN_DIMS or any(side < 0 for side in shape) or math.prod(shape) > MAX_DRAWN_ELEMENTS:
        raise BudgetExceeded(f"shape of {plan.name!r} evaluated to {shape}; a drawn tensor has at most "
                             f"{MAX_DRAWN_DIMS} dimensions and {MAX_DRAWN_ELEMENTS} elements")
    return shape


class _ClaimDraws:
    """A claim's given entries with the strategies they draw from, built once per item."""

    def __init__(self, plans: list[GivenPlan], device: str, other_device: str | None):
        self.plans, self.device, self.other_device = plans, device, other_device
        self.pieces = []  # per plan: (dtype strategy or None, shape strategy or None, scalar strategy or None)
        self.layouts = {}  # per tensor plan: the layouts its spec allows
        for plan in plans:
            if plan.kind == "tensor":
                self.layouts[plan.name] = expand_layouts(plan.spec.tensor.layout)
            if plan.kind == "tensor":
                shape = plan.spec.tensor.shape
                self.pieces.append((st.sampled_from(plan.dtypes) if len(plan.dtypes) > 1 else None,
                                    shape_strategy(shape) if not isinstance(shape, (list, str)) else None, None))
            elif plan.drawn:
                self.pieces.append((None, None, scalar_strategy(plan)))
            else:
                self.pieces.append((None, None, None))

    def __repr__(self) -> str:  # what Hypothesis shows for the strategy
        return f"given({', '.join(p.name for p in self.plans)}) on {self.device}"


_TORCH_SEEDS = st.integers(0, SEED_BOUND)


@st.composite
def _draw_example(draw, claim: _ClaimDraws) -> Example:
    import torch

    grad_mode = torch.is_grad_enabled()  # given expressions may set it (Note [Grad mode set by a plain call])
    try:
        return _draw_example_in(draw, claim)
    finally:
        torch.set_grad_enabled(grad_mode)


def _draw_example_in(draw, claim: _ClaimDraws) -> Example:
    torch_seed = draw(_TORCH_SEEDS)
    env = base_env(claim.device, claim.other_device)
    seed_torch(torch_seed)
    raw: dict[str, Any] = {}
    for plan, (dtypes, shapes, scalars) in zip(claim.plans, claim.pieces):
        if plan.kind == "tensor":
            dtype = draw(dtypes) if dtypes is not None else plan.dtypes[0]
            spec = plan.spec.tensor
            if isinstance(spec.shape, list):
                shape = tuple(spec.shape)
            elif isinstance(spec.shape, str):
                shape = expression_shape(plan, env)
            else:
                shape = draw(shapes)
            array = draw(array_strategy(dtype, shape, spec.elements))
            layouts = layouts_for(shape, claim.layouts[plan.name])
            layout = draw(layout_strategy(layouts)) if len(layouts) > 1 else layouts[0]
            if layout == "expanded":  # one row, repeated: what a stride-0 dimension holds
                array = np.ascontiguousarray(np.broadcast_to(array[:1], array.shape))
            raw[plan.name] = TensorRaw(array, dtype, layout)
            env[plan.name] = make_tensor(raw[plan.name], plan, env)
        elif plan.drawn:
            raw[plan.name] = env[plan.name] = draw(scalars)
        else:
            env[plan.name] = derived_value(plan, env)
    return Example(raw=raw, torch_seed=torch_seed, _fresh_env=env)


def example_strategy(plans: list[GivenPlan], device: str, other_device: str | None) -> st.SearchStrategy:
    """The strategy for a whole claim: draws every given entry in order into an Example."""
    return _draw_example(_ClaimDraws(plans, device, other_device))


def pinned_example(plans: list[GivenPlan], values: dict, fail: Callable[[str, str], Exception]) -> Example:
    """An Example from a spec's ``examples:`` entry (literal values; dtypes default to the first)."""
    by_name = {p.name: p for p in plans}
    raw: dict[str, Any] = {}
    seed = values.get("torch_seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= SEED_BOUND:
        raise fail("torch_seed", f"torch_seed must be an integer from 0 to {SEED_BOUND}")
    for name, value in values.items():
        if name == "torch_seed":
            continue
        plan = by_name.get(name)
        if plan is None:
            raise fail(name, f"{name!r} is not a name under given: ({', '.join(by_name) or 'none'})")
        if not plan.drawn:
            raise fail(name, f"{name!r} is computed by an {plan.kind}: entry and cannot be pinned")
    for plan in plans:
        if not plan.drawn:
            continue
        if plan.name not in values:
            raise fail(plan.name, f"pinned example does not give {plan.name!r}; every drawn name needs a value")
        value = values[plan.name]
        if plan.kind == "tensor":
            dtype, layout = plan.dtypes[0], "contiguous"
            if isinstance(value, dict):
                unknown = set(value) - {"value", "dtype", "layout"}
                if unknown or "value" not in value:
                    raise fail(plan.name, "a pinned tensor is a literal or {value: LITERAL, dtype: NAME, layout: NAME}")
                dtype = value.get("dtype", dtype)
                layout = value.get("layout", "contiguous")
                if layout not in expand_layouts(plan.spec.tensor.layout):
                    raise fail(plan.name, f"layout {layout!r} is not among this tensor's layouts "
                                          f"({', '.join(expand_layouts(plan.spec.tensor.layout))})")
                if dtype not in plan.dtypes:
                    raise fail(plan.name, f"dtype {dtype!r} is not among this tensor's dtypes ({', '.join(plan.dtypes)})")
                value = value["value"]
            try:
                array = np.array(value, dtype=NUMPY_DTYPE[dtype])
            except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: 300 as int8
                raise fail(plan.name, f"cannot make a {dtype} tensor from {value!r}: {exc}") from None
            if layout not in layouts_for(tuple(array.shape), (layout,)):
                raise fail(plan.name, f"layout {layout!r} does not exist for shape {list(array.shape)}")
            if layout == "expanded" and not (array == array[:1]).all():
                raise fail(plan.name, "an expanded tensor repeats its first row; the pinned value does not")
            raw[plan.name] = TensorRaw(array, dtype, layout)
        else:
            problem = _scalar_problem(plan, value)
            if problem:
                raise fail(plan.name, problem)
            raw[plan.name] = value
    return Example(raw=raw, torch_seed=seed, pinned=True)


def _scalar_problem(plan: GivenPlan, value: Any) -> str | None:
    """Why a pinned scalar cannot stand for this draw (wrong type, or not among sampled_from)."""
    spec = plan.spec
    if spec.integer is not None and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{plan.name!r} is an integer draw; got {value!r}"
    if spec.floating is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"{plan.name!r} is a floating draw; got {value!r}"
    if spec.boolean is not None and not isinstance(value, bool):
        return f"{plan.name!r} is a boolean draw; got {value!r}"
    if spec.sampled_from is not None and value not in spec.sampled_from:
        return f"{value!r} is not one of {plan.name!r}'s sampled_from values"
    return None
