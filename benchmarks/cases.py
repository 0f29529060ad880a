"""The four representative claims, each twice: as spec YAML and as a hand-written test.

Each case has
  * ``yaml``: one claim, compiled in-process exactly as collection does
    (loading.load_text -> schema.validate -> compiling.compile_file);
  * ``handwritten``: a plain pytest+Hypothesis test doing the same torch work on the same
    kind of draws (same dtypes, shapes, element bounds, same 25 examples, no database);
  * ``example`` and ``plain``: one fixed Example for the plugin's evaluator, and plain Python
    doing the same torch work on the same raw arrays (the no-Hypothesis comparison).

Both sides of a case do the same checks with the same tolerances. The hand-written tests are
written the way a careful person would write them, with one exception: where the claim needs
a torch seed (the module case) they seed the CPU generator directly, as the plugin does, so the
comparison is about the plugin and not about ``torch.manual_seed``'s lazy accelerator seeding
(which costs about a millisecond per call on a CPU-only torch; see README.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conformance import compiling, loading, schema
from conformance.strategies import Example, TensorRaw
from conformance.versions import installed_torch_version

MAX_EXAMPLES = 25  # the ci profile's count
HAND_SETTINGS = settings(max_examples=MAX_EXAMPLES, database=None, deadline=None, derandomize=True)

HEADER = """\
topic: {topic}
claims:
"""

# --- the same draws the plugin makes, written by hand ---------------------------------------

SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
NUMPY = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "bfloat16": np.float32}
WIDTH = {"float32": 32, "float64": 64, "float16": 16, "bfloat16": 32}
TORCH = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
         "bfloat16": torch.bfloat16}


def float_array(dtype: str, shape) -> st.SearchStrategy:
    return hnp.arrays(NUMPY[dtype], shape,
                      elements=st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False, width=WIDTH[dtype]))


# Built once, as a careful author would; the ones whose shape depends on an earlier draw are
# necessarily built per example (the plugin caches those by dtype and shape).
ARRAYS = {dtype: float_array(dtype, SHAPES) for dtype in NUMPY}


def tensor_of(array: np.ndarray, dtype: str, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(array, dtype=TORCH[dtype], requires_grad=requires_grad)


def close(actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1.3e-6, atol: float = 1e-5) -> bool:
    return actual.shape == expected.shape and torch.allclose(actual.detach(), expected, rtol=rtol, atol=atol)


# --- 1. requires_grad propagation -----------------------------------------------------------

REQUIRES_GRAD = HEADER.format(topic="requires_grad") + """\
  - id: bench-output-requires-grad-iff-any-input-does
    sources:
      - {seed: 000_c48a7f3b9240f2d3.txt, quote: "如果在所有输入中,有一个输入需要求导,那么输出一定会需要求导"}
    statement: The result of an operation requires grad if any input requires grad, and only then.
    verdict: holds
    given:
      a_rg: {boolean: {}}
      b_rg: {boolean: {}}
      a: {tensor: {dtype: float, requires_grad: a_rg}}
      b: {tensor: {dtype: float, shape: a.shape, requires_grad: b_rg}}
      op: {sampled_from: [add, mul, sub, div]}
    do:
      - |
        if op == "add":
            out = a + b
        elif op == "mul":
            out = a * b
        elif op == "sub":
            out = a - b
        else:
            out = a / (b.abs() + 1)
    expect:
      - equal: {actual: out.requires_grad, expected: a_rg or b_rg}
      - that: (out.grad_fn is not None) == (a_rg or b_rg)
"""


def _combine(a: torch.Tensor, b: torch.Tensor, op: str) -> torch.Tensor:
    if op == "add":
        return a + b
    if op == "mul":
        return a * b
    if op == "sub":
        return a - b
    return a / (b.abs() + 1)


def _requires_grad_body(a_rg: bool, b_rg: bool, a_arr, a_dtype, b_arr, b_dtype, op: str) -> None:
    a = tensor_of(a_arr, a_dtype, a_rg)
    b = tensor_of(b_arr, b_dtype, b_rg)
    out = _combine(a, b, op)
    assert out.requires_grad is (a_rg or b_rg)
    assert (out.grad_fn is not None) == (a_rg or b_rg)


@st.composite
def _two_arrays(draw):
    a_dtype = draw(st.sampled_from(["float32", "float64"]))
    a = draw(ARRAYS[a_dtype])
    b_dtype = draw(st.sampled_from(["float32", "float64"]))
    b = draw(float_array(b_dtype, a.shape))
    return a, a_dtype, b, b_dtype


def make_requires_grad_hand(counter: list) -> Callable[[], None]:
    @HAND_SETTINGS
    @given(st.booleans(), st.booleans(), _two_arrays(), st.sampled_from(["add", "mul", "sub", "div"]))
    def test_requires_grad(a_rg, b_rg, arrays, op):
        counter[0] += 1
        a, a_dtype, b, b_dtype = arrays
        _requires_grad_body(a_rg, b_rg, a, a_dtype, b, b_dtype, op)

    return test_requires_grad


_RG_A = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
_RG_B = np.linspace(1, 4, 12, dtype=np.float32).reshape(3, 4)
REQUIRES_GRAD_EXAMPLE = dict(a_rg=True, b_rg=False, a=(_RG_A, "float32"), b=(_RG_B, "float32"), op="div")


def requires_grad_plain() -> None:
    e = REQUIRES_GRAD_EXAMPLE
    _requires_grad_body(e["a_rg"], e["b_rg"], e["a"][0], e["a"][1], e["b"][0], e["b"][1], e["op"])


# --- 2. backward with accumulation ----------------------------------------------------------

ACCUMULATION = HEADER.format(topic="backward") + """\
  - id: bench-gradients-accumulate-across-backward-calls
    sources:
      - {seed: 002_6f65035d0d7de381.txt, quote: 該張量的梯度將累加到.grad屬性中}
    statement: Each call to backward() adds the new gradient into a leaf's .grad.
    verdict: holds
    given:
      x: {tensor: {dtype: float, requires_grad: true}}
      k: {integer: {min: 1, max: 4}}
    do:
      - |
        for i in range(k):
            (x * 3).sum().backward()
    expect:
      - close: {actual: x.grad, expected: 3.0 * k}
"""


def _accumulation_body(arr, dtype: str, k: int) -> None:
    x = tensor_of(arr, dtype, True)
    for _ in range(k):
        (x * 3).sum().backward()
    assert close(x.grad, torch.full_like(x, 3.0 * k))


@st.composite
def _one_array(draw, dtypes=("float32", "float64")):
    dtype = draw(st.sampled_from(list(dtypes)))
    return draw(ARRAYS[dtype]), dtype


def make_accumulation_hand(counter: list) -> Callable[[], None]:
    @HAND_SETTINGS
    @given(_one_array(), st.integers(1, 4))
    def test_accumulation(x, k):
        counter[0] += 1
        _accumulation_body(x[0], x[1], k)

    return test_accumulation


_ACC_X = np.linspace(-2, 2, 6).reshape(2, 3)
ACCUMULATION_EXAMPLE = dict(x=(_ACC_X, "float64"), k=3)


def accumulation_plain() -> None:
    e = ACCUMULATION_EXAMPLE
    _accumulation_body(e["x"][0], e["x"][1], e["k"])


# --- 3. a module and an optimizer step (nn.Linear + SGD) -------------------------------------

OPTIMIZER = HEADER.format(topic="optimizers") + """\
  - id: bench-sgd-step-moves-weights-against-the-gradient
    sources:
      - {seed: 002_6f65035d0d7de381.txt, quote: 該張量的梯度將累加到.grad屬性中}
    statement: One SGD step without momentum subtracts lr times the gradient from each weight.
    verdict: holds
    given:
      n: {integer: {min: 1, max: 8}}
      x: {tensor: {dtype: float32, shape: "(n, 3)"}}
      lr: {floating: {min: 0.001, max: 0.5}}
      net: {module: "nn.Linear(3, 2)"}
      opt: {expr: "optim.SGD(net.parameters(), lr=lr)"}
    do:
      - before = net.weight.detach().clone()
      - |
        opt.zero_grad()
        loss = net(x).pow(2).sum()
        loss.backward()
        opt.step()
    expect:
      - that: net.weight.grad is not None
      - close: {actual: net.weight, expected: before - lr * net.weight.grad, atol: 1e-5}
"""


def _seed_cpu(seed: int) -> None:
    torch.random.default_generator.manual_seed(seed)


def _optimizer_body(seed: int, arr, lr: float) -> None:
    _seed_cpu(seed)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    x = tensor_of(arr, "float32")
    before = net.weight.detach().clone()
    opt.zero_grad()
    loss = net(x).pow(2).sum()
    loss.backward()
    opt.step()
    assert net.weight.grad is not None
    assert close(net.weight, before - lr * net.weight.grad)


_BATCH = float_array("float32", st.tuples(st.integers(1, 8), st.just(3)))


def make_optimizer_hand(counter: list) -> Callable[[], None]:
    @HAND_SETTINGS
    @given(st.integers(0, 2**31 - 1), _BATCH, st.floats(0.001, 0.5, allow_nan=False, allow_infinity=False))
    def test_optimizer(seed, x, lr):
        counter[0] += 1
        _optimizer_body(seed, x, lr)

    return test_optimizer


_OPT_X = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
OPTIMIZER_EXAMPLE = dict(n=4, x=(_OPT_X, "float32"), lr=0.1)


def optimizer_plain() -> None:
    e = OPTIMIZER_EXAMPLE
    _optimizer_body(0, e["x"][0], e["lr"])


# --- 4. detach and aliasing ------------------------------------------------------------------

DETACH = HEADER.format(topic="detach") + """\
  - id: bench-detach-shares-storage-and-does-not-require-grad
    sources:
      - {seed: 004_6f3e9c265744f9b6.txt, quote: "共享数据的存储空间,二者指向同一块内存"}
    statement: x.detach() returns a tensor that does not require grad and shares storage with x.
    verdict: holds
    given:
      x: {tensor: {dtype: floating, requires_grad: true}}
    do:
      - y = x.detach()
      - |
        with torch.no_grad():
            before = x.clone()
      - y.add_(1)
    expect:
      - that: not y.requires_grad
      - that: y.grad_fn is None
      - shares_storage: [x, y]
      - equal: {actual: x.detach(), expected: y}
      - that: not torch.equal(x.detach(), before)
"""


def _shares(a: torch.Tensor, b: torch.Tensor) -> bool:
    sa, sb = a.untyped_storage(), b.untyped_storage()
    a0, b0 = sa.data_ptr(), sb.data_ptr()
    return a0 < b0 + sb.nbytes() and b0 < a0 + sa.nbytes()


def _detach_body(arr, dtype: str) -> None:
    x = tensor_of(arr, dtype, True)
    y = x.detach()
    with torch.no_grad():
        before = x.clone()
    y.add_(1)
    assert not y.requires_grad
    assert y.grad_fn is None
    assert _shares(x, y)
    assert x.detach().dtype == y.dtype and torch.equal(x.detach(), y)
    assert not torch.equal(x.detach(), before)


def make_detach_hand(counter: list) -> Callable[[], None]:
    @HAND_SETTINGS
    @given(_one_array(("float32", "float64", "float16", "bfloat16")))
    def test_detach(x):
        counter[0] += 1
        _detach_body(x[0], x[1])

    return test_detach


DETACH_EXAMPLE = dict(x=(np.array([3.0, 2.0, -1.5], dtype=np.float32), "float32"))


def detach_plain() -> None:
    _detach_body(*DETACH_EXAMPLE["x"])


# --- the table --------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    yaml: str
    make_handwritten: Callable[[list], Callable[[], None]]
    example: dict
    plain: Callable[[], None]

    def compile(self):
        doc = loading.load_text(self.yaml, f"bench/{self.name}.yaml")
        spec = schema.validate(doc)
        (claim,) = compiling.compile_file(doc, spec, installed_torch_version())
        return claim

    def fixed_example(self) -> Example:
        raw = {name: TensorRaw(value[0], value[1]) if isinstance(value, tuple) else value
               for name, value in self.example.items()}
        return Example(raw=raw, torch_seed=0)


CASES = [
    Case("requires_grad", REQUIRES_GRAD, make_requires_grad_hand, REQUIRES_GRAD_EXAMPLE, requires_grad_plain),
    Case("accumulation", ACCUMULATION, make_accumulation_hand, ACCUMULATION_EXAMPLE, accumulation_plain),
    Case("module_sgd", OPTIMIZER, make_optimizer_hand, OPTIMIZER_EXAMPLE, optimizer_plain),
    Case("detach", DETACH, make_detach_hand, DETACH_EXAMPLE, detach_plain),
]
