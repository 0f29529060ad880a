"""The hostile corpus: payloads a spec author might write to escape the spec language, and every
position of a spec that holds text, so that each payload is tried in each position.

Payloads are grouped by what they try (escapes, files and imports, global state, raw memory,
resources, hand-driven context managers, regexes).  ``POSITIONS`` turn one payload into one claim
(YAML text) that carries it in one place; ``spec_for`` puts a payload in all of them at once.
"""
from __future__ import annotations

import json
import textwrap

CANARY = "CANARY"

ESCAPES = [
    "__import__('os').system('touch CANARY')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__.__mro__[-1].__subclasses__()",
    "type(x)",
    "type('A', (), {'__array_interface__': 1})",
    "type('A', (object,), dict(__getitem__=1))",
    "x.__class__",
    "x.__dict__",
    "(lambda: 0).__code__",
    "(lambda: 0).__globals__",
    "torch.zeros.__self__",
    "torch.__builtins__",
    "np.__dict__",
    "F.__dict__",
    "getattr(torch, 'load')",
    "vars(torch)",
    "globals()",
    "locals()",
    "eval('1')",
    "exec('import os')",
    "compile('1', 'f', 'eval')",
    "open('CANARY', 'w')",
    "breakpoint()",
    "help(torch)",
    "input()",
    "memoryview(b'abc')",
    "bytearray(10)",
    "object.__subclasses__()",
    "super()",
    "iter([1])",
    "next(iter([1]))",
    "{'__class__': 1}",
    "dict(__class__=1)",
    "x.sum(**{'__class__': 1})",
    "[v for v in (1,)].__class__",
    "'{0.__class__}'.format(x)",
    "'%s' % x.__class__",
    "str.format('{0.__class__}', x)",
    "x.grad_fn.__call__",
    "torch.Tensor.__subclasses__()",
    "torch.nn.Module.__init__",
    "nn.Linear.forward.__globals__['torch']",
    "np.ndarray.__new__",
    "torch.Tensor._make_subclass",
    "x._version",
    "x.grad_fn._saved_self",
    "(v for v in [1]).gi_frame",
    "(v for v in [1]).send(None)",
    "math.__loader__",
    "f'{x}'",
]

FILES_AND_IMPORTS = [
    "torch.load('CANARY')",
    "torch.save(x, 'CANARY')",
    "np.save('CANARY', x.detach().numpy())",
    "np.load('CANARY')",
    "np.savetxt('CANARY', x.detach().numpy())",
    "np.loadtxt('CANARY')",
    "np.fromfile('CANARY')",
    "np.memmap('CANARY', mode='w+', shape=(3,))",
    "np.lib.format.open_memmap('CANARY', mode='w+', shape=(3,))",
    "np.lib.npyio.DataSource()",
    "np.ctypeslib.as_array(x)",
    "np.genfromtxt('CANARY')",
    "np.testing",
    "np.f2py",
    "np.distutils",
    "np.lookfor('x')",
    "np.show_config()",
    "x.detach().numpy().tofile('CANARY')",
    "x.detach().numpy().dump('CANARY')",
    "x.detach().numpy().dumps()",
    "x.detach().numpy().ctypes",
    "x.detach().numpy().data",
    "torch.from_file('CANARY', True, 10)",
    "torch.UntypedStorage.from_file('CANARY', True, 8)",
    "torch.hub.load('pytorch/vision', 'resnet18')",
    "torch.hub.download_url_to_file('http://x', 'CANARY')",
    "torch.jit.load('CANARY')",
    "torch.jit.script(lambda t: t)",
    "torch.compile(lambda t: t)",
    "torch.ops.load_library('CANARY')",
    "torch.classes.load_library('CANARY')",
    "torch.utils.cpp_extension.load('x', ['CANARY'])",
    "torch.utils.data",
    "torch.multiprocessing.Process()",
    "torch.distributed",
    "torch.package",
    "torch.serialization.load('CANARY')",
    "torch._C",
    "torch.backends",
    "torch.onnx",
    "torch.fx",
    "torch.export",
    "torch.library",
    "torch.cuda.memory",
    "x.type('os.system')",
    "torch.nn.modules.module",
    "F.torch.load('CANARY')",
    "F.warnings",
    "torch.autograd.graph.log",
    "torch.import_ir_module",
    "torch.profiler.profile()",
    "torch.set_printoptions(profile='full')",
]

GLOBAL_STATE = [
    "torch.set_grad_enabled(False)",
    "torch.autograd.set_grad_enabled(False)",
    "torch.autograd.set_detect_anomaly(True)",
    "torch.set_default_dtype(torch.float64)",
    "torch.set_default_device('meta')",
    "torch.set_num_threads(1)",
    "torch.set_flush_denormal(True)",
    "torch.set_warn_always(True)",
    "torch.use_deterministic_algorithms(True)",
    "torch.set_float32_matmul_precision('medium')",
    "torch.autograd.set_multithreading_enabled(False)",
    "torch.autograd.forward_ad.dual_level().__enter__()",
    "torch.autograd.forward_ad.enter_dual_level()",
    "torch.no_grad().__enter__()",
    "torch.enable_grad().__exit__(None, None, None)",
    "torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t).__enter__()",
    "torch.inference_mode().__enter__()",
    "torch.autocast('cpu').__enter__()",
    "np.seterr(all='raise')",
    "np.seterrcall(print)",
    "np.set_printoptions(precision=1)",
    "torch.manual_seed(0)",
    "torch.no_grad().clone()",
    "[torch.no_grad() for _ in range(1)][0].__enter__()",
    "(cm for cm in [torch.no_grad()])",
    "torch.nn.functional.relu.__defaults__",
    "torch.nn.Linear.forward",
    "torch.optim.SGD.step",
]

RAW_MEMORY = [
    "x.untyped_storage()",
    "x.storage()",
    "x.detach().untyped_storage().resize_(0)",
    "x.detach().set_()",
    "x.detach().resize_(10**6)",
    "x.detach().as_strided((10**6,), (1,))",
    "x.data_ptr()",
    "x.detach().share_memory_()",
    "torch.frombuffer(b'abcd', dtype=torch.uint8)",
    "np.frombuffer(b'abcd', dtype=np.uint8)",
    "np.ndarray((10**6,), dtype=np.uint8)",
    "np.ndarray((8,), buffer=x.detach().numpy(), offset=10**6)",
    "np.lib.stride_tricks.as_strided(x.detach().numpy(), (10**6,), (8,))",
    "x.detach().numpy().strides",
    "torch.Tensor(10**6)",
    "torch.Tensor._make_wrapper_subclass",
    "torch.empty_strided((4,), (10**6,))",
    "x.detach().numpy().__array_interface__",
]

RESOURCES = [
    "10 ** 10 ** 10",
    "2 ** 10 ** 7",
    "pow(3, 10**5, 10**5000)",
    "pow(10**5000, 10**5000, 7)",
    "1 << 10**9",
    "(10 ** 5000) ** 30",
    "divmod(10 ** 100000, 3)",
    "round(1, -10**9)",
    "int('9' * 100000)",
    "[1] * 10**9",
    "'a' * 10**10",
    "'a'.ljust(10**9)",
    "('a' * 1000000).join(['b'] * 1000)",
    "'%0999999999d' % 1",
    "sum([[0]] * 1000, [])",
    "str([[0] * 10**6] * 10**6)",
    "repr([[0] * 10**6] * 10**6)",
    "[[0] * 10**6] * 10**6 == [[0] * 10**6] * 10**6",
    "0 in [[0] * 10**6] * 10**6",
    "sorted([[0] * 10**6] * 10**6)",
    "list(range(10**9))",
    "torch.ones(100000, 100000)",
    "torch.zeros(size=(100000, 100000))",
    "torch.full((100000, 100000), 1.0)",
    "torch.randint(0, 2, (100000, 100000))",
    "torch.rand(size=(100000, 100000))",
    "torch.arange(1e12)",
    "torch.linspace(0, 1, 10**10)",
    "torch.eye(10**6)",
    "torch.ones(1, 7000).expand(7000, 7000) @ torch.ones(1, 7000).expand(7000, 7000)",
    "torch.matmul(torch.ones(1, 7000).expand(7000, 7000), torch.ones(1, 7000).expand(7000, 7000))",
    "torch.ones(1).expand(100000, 100000).clone()",
    "torch.ones(100000, 1) + torch.ones(1, 100000)",
    "torch.ones(10**4, 1).mul(torch.ones(1, 10**4))",
    "torch.cat([torch.ones(10**7)] * 10)",
    "x.repeat(100000, 100000)",
    "x.new_ones(100000, 100000)",
    "nn.Linear(100000, 100000)",
    "np.zeros((100000, 100000))",
    "np.ones(10**10)",
    "np.arange(1e12)",
    "np.array(x.detach().numpy(), dtype=object)",
    "torch.ones(2 * 10**6).tolist()",
    "torch.ones(10**7).split(1)",
    "F.one_hot(torch.tensor([10**9]))",
    "torch.block_diag(*[torch.ones(3000, 3000)] * 3)",
    "torch.combinations(torch.arange(10**4), 3)",
    "torch.normal(0.0, 1.0, size=(100000, 100000))",
    "np.random.randint(0, 2, size=10**10)",
    "(lambda f: f(f))(lambda f: f(f))",
    "list(map(lambda i: [j for j in range(100000)], range(100000)))",
    "[i * j for i in range(100000) for j in range(100000)]",
]

# Reaching what is refused by way of something allowed: a callable passed on, a hook, a module
# of NumPy that reads files, deep nesting for the parser, views that are cheap to make and dear
# to use, global registries of nn, the random state.
INDIRECT = [
    "x.register_hook(torch.save)",
    "x.detach().apply_(print)",
    "list(map(torch.load, ['CANARY']))",
    "x.detach().numpy().__reduce_ex__(2)",
    "np.rec.fromfile('CANARY', formats='f8')",
    "np.core.records.fromfile('CANARY', formats='f8')",
    "np.ma.dump(x.detach().numpy(), 'CANARY')",
    "np.ma.load('CANARY')",
    "np.char.array(['a'])",
    "np.lib.recfunctions",
    "np.DataSource('CANARY')",
    "np.emath.power(10**1000, 10**1000)",
    "-" * 100000 + "1",
    "(" * 5000 + "1" + ")" * 5000,
    "(" * 900 + "1" + ")" * 900,
    "[" * 5000 + "]" * 5000,
    "not " * 100000 + "1",
    "x" + ".detach()" * 50000,
    "torch.ones(20000).unfold(0, 10000, 1).sum()",
    "torch.ones(20000).unfold(0, 10000, 1).clone()",
    "torch.ones(1).expand(10**9).sum()",
    "torch.ones(1).expand(10**5, 10**5).cumsum(0)",
    "torch.ones(3).as_strided((10**9,), (0,)).sum()",
    "torch.ones(10**4).outer(torch.ones(10**4))",
    "torch.cdist(torch.ones(10**4, 3), torch.ones(10**4, 3))",
    "torch.kron(torch.ones(1000, 1000), torch.ones(100, 100))",
    "torch.tensordot(torch.ones(100, 100), torch.ones(100, 100), dims=0)",
    "torch.einsum('i,j->ij', torch.ones(10**5), torch.ones(10**5))",
    "torch.nn.modules.module.register_module_forward_hook(print)",
    "nn.Module.register_forward_hook",
    "nn.Linear(2, 2)._modules",
    "nn.Linear(2, 2).apply(print)",
    "nn.Linear(2, 2).__setattr__('forward', print)",
    "torch.seed()",
    "torch.random.set_rng_state(torch.ByteTensor(5056))",
    "np.random.seed(0)",
    "torch.set_default_tensor_type(torch.DoubleTensor)",
    "torch.overrides.has_torch_function",
    "x.__torch_function__",
    "torch.Tensor.register_hook(x, print)",
    "torch.no_grad()(torch.load)('CANARY')",
    "torch.enable_grad()(print)('x')",
    "torch.autograd.graph.save_on_cpu(pin_memory=False).__enter__()",
    "torch.autograd.graph.disable_saved_tensors_hooks('m').__enter__()",
    "torch.nn.utils.parametrize.register_parametrization",
    "torch.testing",
    "torch.utils.dlpack.to_dlpack(x)",
    "torch.from_dlpack(x.detach().numpy())",
    "x.detach().numpy().setflags(write=True)",
    "np.lib.stride_tricks.sliding_window_view(np.ones(10**4), 5000)",
    "np.broadcast_to(np.ones(1), (10**5, 10**5)).sum()",
    "np.ones(1).repeat(10**10)",
    "np.tile(np.ones(10), 10**9)",
    "np.einsum('i,j->ij', np.ones(10**5), np.ones(10**5))",
    "x.storage_offset() + len(str(x.detach().numpy()))",
    "'{:>999999999}'.format(1)",
    "'{0:{1}}'.format(1, 10**9)",
    "f'{1:>999999999}'",
    "'a'.center(10**10)",
    "'abc'.expandtabs(10**9)",
    "'\t' * 10**4 + ''.expandtabs(10**5)",
    "format(1, '>999999999')",
    "'a'.zfill(10**10)",
    "str(10**100000)",
    "hash(10**100000)",
    "float(10**100000)",
    "math.factorial(10**7)",
    "math.comb(10**7, 5 * 10**6)",
    "math.perm(10**7)",
    "math.prod(range(10**7))",
    "sum(range(10**12))",
    "max(range(10**12))",
    "sorted(range(10**8))",
    "len(range(10**100))",
    "range(10**100)[10**99]",
    "list(zip(range(10**9), range(10**9)))",
    "dict.fromkeys(range(10**9))",
    "set(range(10**9))",
    "any(i < 0 for i in range(10**12))",
    "[x for x in range(10**7)]",
    "enumerate(range(10**12))",
    "torch.tensor([1.0] * 10**8)",
    "torch.tensor(list(range(10**8)))",
    "np.array(range(10**9))",
]

# Statement payloads (blocks): used in step positions; elsewhere they are syntax errors.
BLOCKS = [
    "for i in range(100000):\n    for j in range(100000):\n        z = i",
    "while True:\n    pass",
    "import os\nos.system('touch CANARY')",
    "from os import system",
    "def f():\n    return 1",
    "class A:\n    pass",
    "try:\n    z = 1\nexcept Exception:\n    pass",
    "with open('CANARY', 'w') as fh:\n    pass",
    "with torch.no_grad:\n    pass",
    "cm = [1]\nwith cm:\n    pass",
    "torch.sum = None",
    "nn.Linear.forward = None",
    "torch.Tensor.detach = None",
    "math.pi = 3",
    "m = torch\nm.sum = None",
    "x.detach().numpy().strides = (0,)",
    "x.detach().numpy().flags.writeable = True",
    "g = (torch.no_grad() for _ in [0])\nfor cm in g:\n    cm.clone()",
    "n = 10 ** 10000\nfor i in range(20):\n    n = n * n",
    "s = 'a'\nfor i in range(40):\n    s = s + s",
    "l = [0]\nfor i in range(40):\n    l = l + l",
    "global torch",
    "del x",
    "raise SystemExit",
    "assert False",
    "async def f():\n    pass",
    "z = (y := 1)",
    "lambda: (yield)",
]

REGEXES = [
    "(a+)+$",
    "(a|aa)*b",
    "(a*)*b",
    "(\\w+\\s?)+$",
    "(.*a){20}",
    "(?P<x>a)(?P=x)",
    "(a)\\1",
    "(?=a)a",
    "(?<!a)b",
    "((a+)+)+",
    "(x+x+)+y",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
]

PAYLOADS = ([("escape", p) for p in ESCAPES] + [("files", p) for p in FILES_AND_IMPORTS]
            + [("state", p) for p in GLOBAL_STATE] + [("memory", p) for p in RAW_MEMORY]
            + [("resources", p) for p in RESOURCES] + [("block", p) for p in BLOCKS]
            + [("regex", p) for p in REGEXES] + [("indirect", p) for p in INDIRECT])

GIVEN = "x: {tensor: {dtype: float, requires_grad: true, shape: [2]}}"
QUOTE_LINES = ("  sources:\n    - seed: 004_6f3e9c265744f9b6.txt\n      quote: 共享数据的存储空间,二者指向同一块内存\n"
               "  statement: a hostile claim.\n")


def q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML string: no quoting surprises


def _claim(cid: str, given: str = GIVEN, do: str = "- y = x.detach()", expect: str = "- that: 'True'",
           extra: str = "", verdict: str = "holds") -> str:
    parts = [f"- id: {cid}\n{QUOTE_LINES}  verdict: {verdict}\n", "  given:\n" + textwrap.indent(given, "    ") + "\n"]
    parts.append("  do:\n" + textwrap.indent(do, "    ") + "\n")
    parts.append("  expect:\n" + textwrap.indent(expect, "    ") + "\n")
    if extra:
        parts.append(textwrap.indent(extra, "  ") + "\n")
    return "".join(parts)


def _lambda(p: str) -> str:
    return f"lambda t: ({p})"


def _hook(p: str) -> str:
    return f"lambda g: ({p}) and g"


POSITIONS = {
    "step": lambda p: _claim("step", do=f"- y = x.detach()\n- {q(p)}"),
    "block": lambda p: _claim("block", do="- y = x.detach()\n- |\n" + textwrap.indent("z = 1\n" + p, "  ")),
    "that": lambda p: _claim("that", expect=f"- that: {q(p)}"),
    "close-actual": lambda p: _claim("close-actual", expect=f"- close: {{actual: {q(p)}, expected: 1.0}}"),
    "equal-expected": lambda p: _claim("equal-expected", expect=f"- equal: {{actual: y, expected: {q(p)}}}"),
    "given-expr": lambda p: _claim("given-expr", given=f"{GIVEN}\nh: {{expr: {q(p)}}}"),
    "given-module": lambda p: _claim("given-module", given=f"{GIVEN}\nh: {{module: {q(p)}}}"),
    "given-shape": lambda p: _claim("given-shape", given=f"x: {{tensor: {{dtype: float, requires_grad: true, shape: {q(p)}}}}}"),
    "given-requires-grad": lambda p: _claim("given-requires-grad",
                                            given=f"x: {{tensor: {{dtype: float, requires_grad: {q(p)}}}}}"),
    "gradcheck": lambda p: _claim("gradcheck", expect=f"- gradcheck: {{fn: {q(_lambda(p))}, inputs: [x]}}"),
    "hook": lambda p: _claim("hook", do=f"- {q('h = x.register_hook(' + _hook(p) + ')')}\n- (x * 2).sum().backward()"),
    "as-stated-do": lambda p: _claim("as-stated-do", verdict="refuted", extra=(
        f"refinement: r.\nas_stated:\n  do:\n    - {q(p)}\n  expect:\n    - that: 'False'\n  refuted_by: {{expect: 0}}")),
    "as-stated-expect": lambda p: _claim("as-stated-expect", verdict="refuted", extra=(
        f"refinement: r.\nas_stated:\n  expect:\n    - that: {q(p)}\n  refuted_by: {{expect: 0}}")),
    "example": lambda p: _claim("example", extra=f"examples:\n  - {{x: {q(p)}}}"),
    "raises": lambda p: _claim("raises", do=f"- y = x.detach()\n- {{do: y.sum().backward(), raises: {q(p)}}}"),
    "version-range": lambda p: _claim("version-range", do=f"- y = x.detach()\n- {{do: z = 1, torch: {q(p)}}}"),
    "match": lambda p: _claim("match", do=f"- y = x.detach()\n- {{do: y.nothing_here, raises: AttributeError, "
                                          f"match: {q(p)}}}"),
}


def claim_text(position: str, payload: str) -> str:
    return POSITIONS[position](payload.replace("CANARY", CANARY))


def spec_text(position: str, payload: str) -> str:
    return "topic: detach\nclaims:\n" + textwrap.indent(claim_text(position, payload), "  ")


def spec_for(payload: str) -> str:
    """One file with the payload in every position, one claim per position (ids = position names)."""
    return "topic: detach\nclaims:\n" + "".join(textwrap.indent(claim_text(pos, payload), "  ") for pos in POSITIONS)
