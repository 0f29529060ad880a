"""Tests of conformance.expressions: the restricted spec language.

Two halves: the language does what spec authors need (arithmetic, tensors,
autograd idioms, blocks), and a hostile corpus that must be refused before it
has any effect.
"""

import ast
import inspect
import operator
import pathlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import expressions
from conformance.expressions import (
    GLOBAL_NAMES,
    BudgetExceeded,
    Compiled,
    CompiledBlock,
    ExpressionError,
    compile_block,
    compile_expression,
)


def evaluate(src, env=None, known=None):
    env = {} if env is None else env
    return compile_expression(src, env.keys() if known is None else known)(env)


def run_block(src, env=None, known=None):
    env = {} if env is None else env
    block = compile_block(src, list(env.keys()) if known is None else known)
    block.run(env)
    return env


# --------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------


def test_arithmetic_and_precedence():
    assert evaluate("1 + 2 * 3 - 4 / 2") == 5.0
    assert evaluate("(7 // 2, 7 % 3, -2 ** 2, 2 ** -1)") == (3, 1, -4, 0.5)
    assert evaluate("a < b <= 3", {"a": 1, "b": 3}) is True
    assert evaluate("1 if a else 2", {"a": 0}) == 2
    assert evaluate("a and b or 'z'", {"a": 1, "b": 0}) == "z"
    assert evaluate("not a", {"a": []}) is True
    assert evaluate("3 in [1, 2, 3] and 4 not in (1,)") is True
    assert evaluate("~5 | 2 ^ 1 & 3") == (~5 | 2 ^ 1 & 3)


@settings(max_examples=60, deadline=None)
@given(
    a=st.integers(-10**6, 10**6),
    b=st.integers(-10**6, 10**6),
    op=st.sampled_from(
        [
            ("+", operator.add), ("-", operator.sub), ("*", operator.mul),
            ("&", operator.and_), ("|", operator.or_), ("^", operator.xor),
            ("<", operator.lt), ("==", operator.eq), (">=", operator.ge),
        ]
    ),
)
def test_binary_operators_match_python(a, b, op):
    symbol, fn = op
    assert evaluate(f"a {symbol} b", {"a": a, "b": b}) == fn(a, b)


def test_tensor_expressions():
    x = torch.arange(3.0, requires_grad=True)
    env = {"x": x}
    y = evaluate("(x * 2).sum()", env)
    assert y.item() == 6.0 and y.requires_grad
    y.backward()
    assert torch.equal(evaluate("x.grad", env), torch.full((3,), 2.0))
    assert evaluate("x.detach().numpy().tolist()", env) == [0.0, 1.0, 2.0]
    assert evaluate("F.relu(x - 1).tolist()", env) == [0.0, 0.0, 1.0]
    assert evaluate("torch.zeros(2, 3).shape", env) == (2, 3)
    assert evaluate("x[1:].tolist()", env) == [1.0, 2.0]
    assert evaluate("x[::2].shape[0]", env) == 2
    assert evaluate("math.isclose(math.sqrt(2.0) ** 2, 2.0)") is True
    assert evaluate("np.linalg.norm(np.ones(4))") == 2.0
    assert evaluate("isinstance(nn.Linear(2, 3), nn.Module)") is True
    assert evaluate("torch.autograd.graph.saved_tensors_hooks") is torch.autograd.graph.saved_tensors_hooks


def test_calls_with_star_and_keywords():
    env = {"args": (2, 3), "kw": {"dtype": torch.float64}}
    t = evaluate("torch.ones(*args, **kw)", env)
    assert t.shape == (2, 3) and t.dtype == torch.float64
    assert evaluate("max(*[1, 5], 3, key=lambda v: -v)") == 1
    assert evaluate("[*range(3), *'ab']") == [0, 1, 2, "a", "b"]
    assert evaluate("{**{'a': 1}, 'b': 2}") == {"a": 1, "b": 2}


def test_lambda_filter_and_comprehensions():
    assert evaluate("list(filter(lambda v: v % 2 == 0, range(7)))") == [0, 2, 4, 6]
    assert evaluate("sorted(['bb', 'a', 'ccc'], key=lambda s: len(s))") == ["a", "bb", "ccc"]
    assert evaluate("[i * j for i in range(3) for j in range(i) if j]") == [2]
    assert evaluate("{k: v for k, v in zip('ab', (1, 2))}") == {"a": 1, "b": 2}
    assert evaluate("{v % 3 for v in range(10)}") == {0, 1, 2}
    assert evaluate("sum(v * v for v in range(4))") == 14
    # comprehension variables do not leak and late binding follows Python
    assert [f() for f in evaluate("[lambda: i for i in range(3)]")] == [2, 2, 2]
    assert evaluate("(lambda a, b: a - b)(b=1, a=5)") == 4


def test_bare_underscore_is_a_usable_variable():
    env = run_block("n = 0\nfor _ in range(3):\n    n = n + 1\n")
    assert env["n"] == 3 and env["_"] == 2
    assert evaluate("list(map(lambda _: 0, [1, 2]))") == [0, 0]
    with pytest.raises(ExpressionError, match="starting with '_'"):
        compile_expression("x._", ["x"])


def test_lambda_is_plain_callable_outside_a_run():
    f = evaluate("lambda v: v + n", {"n": 10})
    assert f(1) == 11
    assert f.__name__ == "<lambda>"
    assert list(inspect.signature(f).parameters) == ["v"]
    with pytest.raises(TypeError):
        f(1, 2)


def test_lambda_as_tensor_hook():
    x = torch.ones(3, requires_grad=True)
    env = run_block(
        "handle = x.register_hook(lambda g: g * 3)\n"
        "y = (x * 2).sum()\n"
        "y.backward()\n",
        {"x": x},
    )
    assert torch.equal(x.grad, torch.full((3,), 6.0))
    env["handle"].remove()


def test_saved_tensors_hooks_with_lambdas():
    x = torch.ones(3, requires_grad=True)
    env = run_block(
        "calls = []\n"
        "with torch.autograd.graph.saved_tensors_hooks(lambda t: calls.append(1) or t, lambda t: t):\n"
        "    y = (x * x).sum()\n"
        "y.backward()\n",
        {"x": x},
    )
    assert env["calls"] and torch.equal(x.grad, torch.full((3,), 2.0))


def test_names_and_shadowing():
    c = compile_expression("x + y * torch.ones(1)", ["x", "y", "z"])
    assert isinstance(c, Compiled)
    assert c.names == frozenset({"x", "y"})
    assert c.source == "x + y * torch.ones(1)"
    assert compile_expression("[v for v in x]", ["x"]).names == frozenset({"x"})
    assert compile_expression("lambda v: v + w", ["w"]).names == frozenset({"w"})
    # a spec variable shadows a predefined name: resolved at run time from env
    shadow = compile_expression("torch + 1", ["torch"])
    assert shadow.names == frozenset({"torch"}) and shadow({"torch": 1}) == 2


def test_global_names():
    assert GLOBAL_NAMES["torch"] is torch and GLOBAL_NAMES["np"] is np
    assert GLOBAL_NAMES["F"] is torch.nn.functional and GLOBAL_NAMES["optim"] is torch.optim
    for absent in ("open", "eval", "exec", "getattr", "print", "__import__", "re"):
        assert absent not in GLOBAL_NAMES
    assert "type" not in GLOBAL_NAMES  # type(x) hands out a class; type(n, b, d) builds one
    with pytest.raises(ExpressionError, match="'type' is not available"):
        evaluate("type('A', (), {})")
    assert evaluate("type_is(1, int)") and not evaluate("type_is(True, int)")
    with pytest.raises(TypeError):
        GLOBAL_NAMES["open"] = open  # type: ignore[index]
    assert evaluate("len(list(range(100000)))") == 100000
    with pytest.raises(BudgetExceeded, match="range"):
        evaluate("range(100001)")
    assert evaluate("pow(2, 10), pow(3, 10**9, 7)") == (1024, pow(3, 10**9, 7))
    assert evaluate("issubclass(UserWarning, Warning) and RuntimeError is not None") is True


def test_single_comparison_of_tensors_gives_a_tensor():
    env = {"a": torch.ones(3), "b": torch.zeros(3)}
    assert torch.equal(compile_expression("a > b", env)(env), torch.ones(3, dtype=torch.bool))
    assert compile_expression("0 < 1 < 2", [])({}) is True
    assert compile_expression("0 < 2 < 1", [])({}) is False


def test_module_constructors_are_bounded():
    assert isinstance(evaluate("nn.Conv2d(16, 32, 3, 1)"), torch.nn.Conv2d)
    assert isinstance(evaluate("nn.Linear(1000, 100)"), torch.nn.Linear)
    with pytest.raises(BudgetExceeded, match="Linear"):
        evaluate("nn.Linear(100000, 100000)")
    with pytest.raises(BudgetExceeded, match="Conv2d"):
        evaluate("nn.Conv2d(4096, 4096, (64, 64))")


def test_parses_as_python_only_parses(tmp_path):
    canary = tmp_path / "canary"
    assert evaluate("parses_as_python('x.cuda(non_blocking=True)')") is True
    assert evaluate("parses_as_python('x.cuda(async=True)')") is False
    env = {"src": f"open({str(canary)!r}, 'w')"}
    assert compile_expression("parses_as_python(src)", env)(env) is True
    assert not canary.exists()
    with pytest.raises(ExpressionError, match="at most 10000"):
        evaluate("parses_as_python('1+' * 6000 + '1')")


def test_undefined_names_statically():
    with pytest.raises(ExpressionError, match="undefined name 'q'; define it under given:") as info:
        compile_expression("(1 +\n  q)", ["x"])
    assert (info.value.lineno, info.value.col) == (2, 2)


def test_syntax_error():
    with pytest.raises(ExpressionError, match="invalid syntax") as info:
        compile_expression("1 +", [])
    assert info.value.lineno == 1
    with pytest.raises(ExpressionError, match="invalid syntax"):
        compile_expression("x = 1", ["x"])  # a statement is not an expression


def test_error_location_inside_multiline_expression():
    with pytest.raises(ExpressionError) as info:
        compile_expression("(1 +\n   x.__class__)", ["x"])
    assert (info.value.lineno, info.value.col) == (2, 3)
    assert "\n" not in info.value.message


def test_budget_override_and_runtime_location():
    with pytest.raises(BudgetExceeded, match="exceeded the evaluation budget"):
        compile_expression("[i for i in range(100)]", [])({}, budget=50)
    with pytest.raises(BudgetExceeded) as info:
        compile_expression("(1 +\n [0] * (10 ** 7))", [])({})
    assert info.value.lineno == 2
    assert issubclass(BudgetExceeded, ExpressionError)


# --------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------


def test_sgd_step_is_in_place_under_no_grad():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    model(torch.ones(2, 3)).sum().backward()
    weight = model.weight
    ptr = weight.data_ptr()
    expected = (weight - 0.5 * weight.grad).detach().clone()
    block = compile_block(
        "with torch.no_grad():\n"
        "    for param in model.parameters():\n"
        "        param -= lr * param.grad\n",
        ["model", "lr"],
    )
    assert isinstance(block, CompiledBlock)
    block.run({"model": model, "lr": 0.5})
    assert model.weight is weight and weight.data_ptr() == ptr
    assert torch.allclose(weight, expected)
    assert weight.requires_grad and weight.grad_fn is None
    assert torch.is_grad_enabled()


def test_augassign_uses_in_place_protocol():
    env = run_block("a = [1]\nb = a\na += [2]\nn = 1\nn += 2\n")
    assert env["b"] == [1, 2] and env["a"] is env["b"] and env["n"] == 3
    t = torch.zeros(2)
    run_block("t[0] += 5\nt *= 2\n", {"t": t})
    assert t.tolist() == [10.0, 0.0]


def test_no_grad_restores_grad_mode_even_on_error():
    x = torch.ones(2, requires_grad=True)
    env = run_block(
        "with torch.no_grad():\n"
        "    y = x * 2\n"
        "    inside = torch.is_grad_enabled()\n"
        "outside = torch.is_grad_enabled()\n",
        {"x": x},
    )
    assert env["inside"] is False and env["outside"] is True
    assert not env["y"].requires_grad
    with pytest.raises(IndexError):
        run_block("with torch.no_grad():\n    y = x[10]\n", {"x": x})
    assert torch.is_grad_enabled()
    env = run_block("with torch.enable_grad() as g, torch.set_grad_enabled(False):\n    m = torch.is_grad_enabled()\n")
    assert env["m"] is False and torch.is_grad_enabled()
    with torch.no_grad():
        env = run_block("with torch.enable_grad():\n    m = torch.is_grad_enabled()\n")
    assert env["m"] is True


def test_with_rejects_other_context_managers():
    with pytest.raises(ExpressionError, match="'with' only accepts the grad-mode context managers"):
        compile_block("with open('x') as f:\n    pass\n", [])
    with pytest.raises(ExpressionError, match="'with' only accepts"):
        compile_block("with torch.no_grad:\n    pass\n", [])
    block = compile_block("with cm:\n    pass\n", ["cm"])
    with pytest.raises(ExpressionError, match="'with' only accepts.*got a list"):
        block.run({"cm": []})


def test_tuple_unpacking_for_and_if():
    env = run_block(
        "a, b = 1, 2\n"
        "c, *d = [1, 2, 3]\n"
        "[e, (f, g)] = (4, (5, 6))\n"
        "total = 0\n"
        "for i, v in enumerate([10, 20, 30]):\n"
        "    if i == 0:\n"
        "        total = total + v\n"
        "    elif i == 1:\n"
        "        total = total - v\n"
        "    else:\n"
        "        total = total * v\n"
    )
    assert (env["a"], env["b"], env["c"], env["d"]) == (1, 2, 1, [2, 3])
    assert (env["e"], env["f"], env["g"]) == (4, 5, 6)
    assert env["total"] == -300
    with pytest.raises(ValueError):
        run_block("a, b = [1, 2, 3]\n")


def test_subscript_and_attribute_assignment():
    p = torch.ones(2, requires_grad=True)
    env = run_block(
        "z1 = torch.zeros(3)\n"
        "z1[0] = 5.0\n"
        "p.requires_grad = False\n"
        "q = torch.ones(2, requires_grad=True)\n"
        "q.grad = torch.ones(2)\n"
        "q.grad = None\n"
        "q.data = torch.zeros(2)\n"
        "d = {}\n"
        "d['k'] = 1\n",
        {"p": p},
    )
    assert env["z1"].tolist() == [5.0, 0.0, 0.0]
    assert p.requires_grad is False
    assert env["q"].grad is None and env["q"].tolist() == [0.0, 0.0]
    assert env["d"] == {"k": 1}


def test_block_metadata():
    src = "a = x + 1\nfor i in range(2):\n    a = a + i\nwith torch.no_grad() as ng:\n    b = [a for a in y]\nx += 1\n"
    block = compile_block(src, ["x", "y", "unused"])
    assert block.source == src
    assert block.reads == frozenset({"x", "y"})
    assert block.assigns == frozenset({"a", "i", "ng", "b", "x"})
    assert block.statements == [
        (1, "a = x + 1"),
        (2, "for i in range(2):\n    a = a + i"),
        (4, "with torch.no_grad() as ng:\n    b = [a for a in y]"),
        (6, "x += 1"),
    ]
    env = {"x": 1, "y": [7]}
    block.run(env)
    assert env["a"] == 3 and env["b"] == [7] and env["x"] == 2


def test_use_before_assignment_is_reported_with_its_line():
    with pytest.raises(ExpressionError, match="undefined name 'q'") as info:
        compile_block("a = 1\nb = q\nq = 2\n", ["x"])
    assert (info.value.lineno, info.value.col) == (2, 4)
    with pytest.raises(ExpressionError, match="undefined name 'n'"):
        compile_block("n += 1\n", [])


def test_conditionally_unbound_name_fails_at_run_time():
    block = compile_block("if flag:\n    y = 1\nz = y\n", ["flag"])
    block.run({"flag": True})
    with pytest.raises(ExpressionError, match="undefined name 'y'") as info:
        block.run({"flag": False})
    assert info.value.lineno == 3


def test_refused_statements_name_the_construct():
    cases = {
        "for i in range(2):\n    pass\nelse:\n    pass\n": "for ... else",
        "try:\n    pass\nexcept Exception:\n    pass\n": "'try'",
        "assert x\n": "'assert'",
        "del x\n": "'del'",
        "for i in range(3):\n    break\n": "'break'",
        "x: int = 1\n": "annotated",
        "raise ValueError\n": "'raise'",
    }
    for src, fragment in cases.items():
        with pytest.raises(ExpressionError, match=fragment):
            compile_block(src, ["x"])


def test_module_never_uses_eval_exec_or_compile():
    tree = ast.parse(pathlib.Path(expressions.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                assert func.id not in {"eval", "exec", "compile", "__import__"}, ast.dump(node)
            elif isinstance(func, ast.Attribute) and func.attr in {"eval", "exec", "compile"}:
                # re.compile (a regular expression) is the only allowed "compile"
                assert func.attr == "compile" and ast.unparse(func.value) == "re", ast.dump(node)


# --------------------------------------------------------------------------
# The hostile corpus
# --------------------------------------------------------------------------

# (id, mode, phase, source, fragment of the message)
# mode: "expr" for compile_expression, "block" for compile_block.
# phase: "compile" when the static checks must refuse it, "run" when it compiles
# and must be refused at run time.  CANARY is replaced by the repr of a file
# path that must still not exist afterwards.
HOSTILE = [
    ("dunder-import", "expr", "compile", "__import__('os')", "starting with '_'"),
    ("subclasses-walk", "expr", "compile", "().__class__.__bases__[0].__subclasses__()", "starting with '_'"),
    ("tensor-class", "expr", "compile", "x.__class__", "'__class__'"),
    ("getattr-load", "expr", "compile", "getattr(torch, 'load')", "'getattr' is not available"),
    ("torch-load", "expr", "compile", "torch.load(CANARY)", "not on the spec language's allowlist"),
    ("torch-save", "expr", "compile", "torch.save(x, CANARY)", "not on the spec language's allowlist"),
    ("np-save", "expr", "compile", "np.save(CANARY, x.numpy())", "not on the spec language's allowlist"),
    ("ndarray-tofile", "expr", "compile", "x.numpy().tofile(CANARY)", "attribute 'tofile'"),
    ("ndarray-dump", "expr", "compile", "x.numpy().dump(CANARY)", "attribute 'dump'"),
    ("str-format-escape", "expr", "compile", "'{0.__class__}'.format(x)", "attribute 'format'"),
    ("torch-hub", "expr", "compile", "torch.hub.load('pytorch/vision', 'resnet18')", "not on the spec language's allowlist"),
    ("torch-utils-data", "expr", "compile", "torch.utils.data", "not on the spec language's allowlist"),
    ("torch-multiprocessing", "expr", "compile", "torch.multiprocessing", "not on the spec language's allowlist"),
    ("torch-ops-load-library", "expr", "compile", "torch.ops.load_library('x')", "not on the spec language's allowlist"),
    ("torch-jit-script", "expr", "compile", "torch.jit.script", "not on the spec language's allowlist"),
    ("torch-compile", "expr", "compile", "torch.compile(f)", "not on the spec language's allowlist"),
    ("torch-serialization", "expr", "compile", "torch.serialization", "not on the spec language's allowlist"),
    ("nn-modules-module", "expr", "compile", "torch.nn.modules.module", "not on the spec language's allowlist"),
    ("np-lib", "expr", "compile", "np.lib", "not on the spec language's allowlist"),
    ("np-ctypeslib", "expr", "compile", "np.ctypeslib", "not on the spec language's allowlist"),
    ("open-file", "expr", "compile", "open('/etc/passwd')", "'open' is not available"),
    ("exec", "expr", "compile", "exec('1')", "'exec' is not available"),
    ("eval", "expr", "compile", "eval('1')", "'eval' is not available"),
    ("compile-builtin", "expr", "compile", "compile('1', '', 'eval')", "'compile' is not available"),
    ("import-os", "block", "compile", "import os", "import statements are not allowed"),
    ("from-os-import", "block", "compile", "from os import system", "import statements are not allowed"),
    ("def", "block", "compile", "def f():\n    pass", "function definitions"),
    ("class", "block", "compile", "class A:\n    pass", "class definitions"),
    ("while-true", "block", "compile", "while True:\n    pass", "'while' loops"),
    ("list-repeat", "expr", "run", "[1] * 10**9", "exceeds the limit"),
    ("str-repeat", "expr", "run", "'a' * 10**10", "exceeds the limit"),
    ("power-tower", "expr", "run", "10 ** 10 ** 10", "exponent"),
    ("huge-ones", "expr", "run", "torch.ones(100000, 100000)", "allocation limit"),
    ("huge-range-loop", "block", "run", "for i in range(10**9):\n    pass", "range()"),
    ("nested-loops", "block", "run", "for i in range(100000):\n for j in range(100000): pass", "exceeded the evaluation budget"),
    ("unknown-torch-attr", "expr", "compile", "torch.foo_not_exist", "not on the spec language's allowlist"),
    ("class-init", "expr", "compile", "torch.nn.Linear.__init__", "'__init__'"),
    ("f-string", "expr", "compile", "f'{x}'", "f-strings are not allowed"),
    ("walrus", "expr", "compile", "(y := 1)", ":="),
    ("set-default-dtype", "expr", "compile", "torch.set_default_dtype(torch.float64)", "not on the spec language's allowlist"),
    ("function-globals", "expr", "compile", "torch.manual_seed.__globals__", "not on the spec language's allowlist"),
    ("lambda-import", "expr", "compile", "lambda: __import__('os')", "'__import__'"),
    ("assign-module-attr", "block", "compile", "torch.sum = None", "cannot assign"),
    ("assign-class-attr", "block", "compile", "nn.Linear.forward = None", "cannot assign"),
    ("ndarray-ctypes", "expr", "compile", "x.numpy().ctypes", "attribute 'ctypes'"),
    ("module-dict", "expr", "compile", "F.__dict__", "'__dict__'"),
    ("setattr", "expr", "compile", "setattr(torch, 'x', 1)", "'setattr' is not available"),
    # beyond the brief's list
    ("generator-frame", "expr", "compile", "(v for v in [1]).gi_frame.f_globals", "attribute 'gi_frame'"),
    ("lambda-code", "expr", "compile", "(lambda: 0).__code__", "'__code__'"),
    ("storage-from-file", "expr", "compile", "torch.UntypedStorage.from_file(CANARY, True, 8)", "not on the spec language's allowlist"),
    ("load-via-alias", "expr", "compile", "F.torch.load(CANARY)", "not on the spec language's allowlist"),
    ("module-via-import-alias", "expr", "compile", "F.warnings", "not on the spec language's allowlist"),
    ("logger-streams", "expr", "compile", "torch.autograd.graph.log.manager.root.handlers", "not on the spec language's allowlist"),
    ("cuda-memory", "expr", "compile", "torch.cuda.memory", "not on the spec language's allowlist"),
    ("import-ir-module", "expr", "compile", "torch.import_ir_module", "not on the spec language's allowlist"),
    ("keyword-dunder", "expr", "compile", "x.sum(__x=1)", "starting with '_'"),
    ("comprehension-dunder", "expr", "compile", "[__v for __v in x]", "starting with '_'"),
    ("math-readonly", "block", "compile", "math.pi = 3", "cannot assign"),
    ("function-attr", "block", "compile", "torch.manual_seed.x = 1", "not on the spec language's allowlist"),
    ("augassign-module-attr", "block", "compile", "torch.nn.functional.reproducibility_notes += 1", "cannot assign"),
    ("with-open", "block", "compile", "with open(CANARY) as fh:\n    pass", "'with' only accepts"),
    ("with-class-not-instance", "block", "compile", "with torch.no_grad:\n    pass", "'with' only accepts"),
    ("module-through-variable", "block", "run", "m = torch.autograd\ng = m.grad_mode", "not on the spec language's allowlist"),
    ("module-through-loop", "block", "run", "for m in [torch.autograd]:\n    m.grad_mode.no_grad", "not on the spec language's allowlist"),
    ("assign-module-through-variable", "block", "run", "m = torch\nm.sum = None", "cannot assign"),
    ("with-list", "block", "run", "cm = [1]\nwith cm:\n    pass", "'with' only accepts"),
    ("kwargs-dunder", "expr", "run", "f(**{'__class__': 1})", "starting with '_'"),
    ("huge-shift", "expr", "run", "1 << 10**9", "bits"),
    ("str-ljust", "expr", "run", "'a'.ljust(10**9)", "not on the spec language's allowlist"),
    ("str-join", "expr", "run", "('a' * 1000000).join(['b'] * 1000)", "join()"),
    ("printf-width", "expr", "run", "'%0999999999d' % 1", "width"),
    ("quadratic-sum", "expr", "run", "sum([[0]] * 1000, [])", "quadratic"),
    ("expanded-clone", "expr", "run", "torch.ones(1).expand(100000, 100000).clone()", "allocation limit"),
    ("broadcast-outer", "expr", "run", "torch.ones(100000, 1) + torch.ones(1, 100000)", "allocation limit"),
    ("zeros-size-kw", "expr", "run", "torch.zeros(size=(100000, 100000))", "allocation limit"),
    ("arange-huge", "expr", "run", "torch.arange(1e12)", "allocation limit"),
    ("tensor-repeat", "expr", "run", "x.repeat(100000, 100000)", "allocation limit"),
    ("int-squaring", "block", "run", "n = 10 ** 10000\nfor i in range(20):\n    n = n * n", "bits"),
    ("lambda-recursion", "expr", "run", "(lambda g: g(g))(lambda g: g(g))", "too deeply"),
    ("lambda-budget-via-map", "expr", "run", "list(map(lambda i: [j for j in range(100000)], range(100000)))", "evaluation budget"),
]

HOSTILE_KNOWN = ["x", "f", "model"]


def _hostile_env():
    return {"x": torch.ones(3), "f": lambda *a, **k: None, "model": torch.nn.Linear(2, 2)}


def _global_state():
    return (
        torch.sum,
        torch.nn.Linear.forward,
        torch.manual_seed,
        frozenset(vars(torch)),
        torch.get_default_dtype(),
        torch.is_grad_enabled(),
        torch.is_inference_mode_enabled(),
        torch.is_anomaly_enabled(),
        frozenset(vars(torch.nn.functional)),
        GLOBAL_NAMES["math"].pi,
    )


def test_hostile_corpus_is_large_and_ids_are_unique():
    ids = [case[0] for case in HOSTILE]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "mode, phase, source, fragment",
    [pytest.param(*case[1:], id=case[0]) for case in HOSTILE],
)
def test_hostile_input_is_refused_before_any_effect(mode, phase, source, fragment, tmp_path):
    canary = tmp_path / "canary"
    source = source.replace("CANARY", repr(str(canary)))
    compile_fn = compile_expression if mode == "expr" else compile_block
    before = _global_state()
    with pytest.raises(ExpressionError) as info:
        compiled = compile_fn(source, HOSTILE_KNOWN)
        assert phase == "run", "the static checks should have refused this"
        env = _hostile_env()
        if mode == "expr":
            compiled(env)
        else:
            compiled.run(env)
    error = info.value
    assert fragment in error.message, error.message
    assert "\n" not in error.message
    assert str(error) == error.message
    assert error.lineno is not None
    assert not canary.exists()
    assert not list(tmp_path.iterdir())
    assert _global_state() == before


# --------------------------------------------------------------------------
# The allowlist table, its reference page, and the checks that rely on it
# --------------------------------------------------------------------------

from packaging.version import Version  # noqa: E402

from conformance.language import allowlist, docs, limits, patterns, table  # noqa: E402


def test_reference_page_is_current():
    page = pathlib.Path(docs.PAGE)
    assert page.read_text(encoding="utf-8") == docs.render(), (
        "docs/spec-language.md is stale; run: python -m conformance.language.docs")


def test_every_allowlisted_name_exists_on_this_torch_or_has_a_floor_above_it():
    # Runs on every torch of the tox matrix: an entry missing on an older torch must declare the
    # version that introduced it in table.FLOORS.
    missing = []
    for topic in table.NAMES.values():
        for name in topic:
            if allowlist._resolve(name) is allowlist.MISSING:
                floor = allowlist.floor_of(name)
                if floor is None or allowlist.TORCH_VERSION >= floor:
                    missing.append(name)
    for cls, topics in table.ATTRIBUTES.items():
        klass = allowlist._category_class(cls)
        if cls != "autograd graph node":
            assert klass is not None, cls
        for names in topics.values():
            for attr in names:
                floor = allowlist.floor_of(f"{cls}.{attr}")
                if klass is not None and not (floor and allowlist.TORCH_VERSION < floor):
                    dynamic = cls in ("torch.nn.Module", "torch.optim.Optimizer") or attr in ("real", "imag", "volatile", "names", "flags")
                    if not dynamic and not hasattr(klass, attr):
                        missing.append(f"{cls}.{attr}")
    assert missing == []


def test_no_module_level_entry_is_a_mutable_table():
    for name, (value, cost) in allowlist.NAMES.items():
        assert not isinstance(value, (list, dict, set, bytearray)), name


def test_refusals_name_the_nearest_allowed_names():
    with pytest.raises(ExpressionError, match="torch.zeroes is not on .*nearest allowed: zeros"):
        compile_expression("torch.zeroes(3)", [])
    with pytest.raises(ExpressionError, match="attribute 'detachh' .*nearest allowed: detach"):
        compile_expression("x.detachh()", ["x"])
    with pytest.raises(ExpressionError, match="undefined name 'lenn'.*nearest allowed: len"):
        compile_expression("lenn([1])", [])


def test_with_takes_exact_types_and_withonly_constructors_only_there():
    class Sneaky(torch.no_grad):
        def __exit__(self, *args):
            return None

    block = compile_block("with cm:\n    y = 1\n", ["cm"])
    with pytest.raises(ExpressionError, match="got a Sneaky"):
        block.run({"cm": Sneaky()})
    assert torch.is_grad_enabled()
    with pytest.raises(ExpressionError, match="changes global state when called"):
        evaluate("torch.autograd.set_detect_anomaly(True)")
    assert not torch.is_anomaly_enabled()
    env = run_block("with torch.set_grad_enabled(False):\n    g = torch.is_grad_enabled()\n")
    assert env["g"] is False and torch.is_grad_enabled()


def test_a_plain_set_grad_enabled_lasts_one_example_only():
    # Note [Grad mode set by a plain call]: allowed outside 'with' because each example restores it
    from helpers import CPU, compile_text, run_item, spec_yaml, claim_yaml

    (claim,) = compile_text(spec_yaml(claim_yaml(
        given="x: {tensor: {dtype: float, requires_grad: true}}",
        do="- torch.set_grad_enabled(False)\n- y = x * 2",
        expect="- that: not y.requires_grad")))
    run_item(claim, max_examples=5)
    assert torch.is_grad_enabled()


def test_no_type_no_classes_no_dunder_keys():
    for src in ("type(x)", "type('A', (), {})", "x.__class__", "{'__class__': 1}", "dict(__class__=1)"):
        with pytest.raises(ExpressionError):
            compile_expression(src, ["x"])
    with pytest.raises(ExpressionError, match="may be named .* but not called"):
        evaluate("np.ndarray((4,))")
    with pytest.raises(ExpressionError, match="not on the spec language's allowlist"):
        evaluate("x.untyped_storage()", {"x": torch.ones(2)})
    assert evaluate("type_is(x, torch.Tensor)", {"x": torch.ones(1)})
    assert evaluate("same_data(x, x.detach())", {"x": torch.ones(1)})


def test_unbound_methods_need_their_own_class():
    assert evaluate("torch.Tensor.sum(x).item()", {"x": torch.ones(3)}) == 3.0
    with pytest.raises(ExpressionError, match="needs a Tensor"):
        evaluate("torch.Tensor.sum([1, 2])")
    with pytest.raises(BudgetExceeded):
        evaluate("str.join('a' * 1000000, ['b'] * 1000)")


def test_deadline_stops_runaway_evaluator_work(monkeypatch):
    import time

    monkeypatch.setattr(limits, "DEFAULT_TIME_LIMIT", 0.2)
    block = compile_block("for i in range(100000):\n    for j in range(100000):\n        z = i\n", [])
    start = time.monotonic()
    with pytest.raises(BudgetExceeded, match="time limit"):
        block.run({}, budget=10**12)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("src", [
    "pow(3, 10**5000, 10**5000)", "pow(10**5000, 3, 7)", "(2 ** 60000) * (2 ** 60000)", "divmod(10**100000, 3)",
    "round(1, -10**9)", "2 ** 200000", "1 << 200000", "-(10 ** 50000) ** 3",
    "torch.ones(1, 8000).expand(8000, 8000) @ torch.ones(1, 8000).expand(8000, 8000)",
    "torch.ones(1, 3000).expand(3000, 3000).mm(torch.ones(1, 3000).expand(3000, 3000))",
    "str([[0] * 10**6] * 10**6)", "[[0] * 10**6] * 10**6 == [[0] * 10**6] * 10**6",
    "torch.ones(2 * 10**6).tolist()", "np.array(np.ones(3), dtype=object)",
])
def test_cost_estimates_refuse_before_running(src):
    with pytest.raises((BudgetExceeded, ExpressionError)):
        evaluate(src)


@pytest.mark.parametrize("pattern, ok", [
    ("'Tensor' object has no attribute 'backend'", True), ("(?i)only Tensors of floating point", True),
    ("can't convert .* to numpy", True), ("(a+)+$", False), ("(a|aa)*b", False), ("(a)\\1", False),
    ("(?=a)a", False), ("a*b*c*d*", False), ("[", False),
])
def test_match_patterns_stay_in_the_safe_subset(pattern, ok):
    if ok:
        assert patterns.check_pattern(pattern) == pattern
    else:
        with pytest.raises(patterns.UnsafePattern):
            patterns.check_pattern(pattern)


def test_allowlist_size_by_module():
    by_module: dict = {}
    for name in allowlist.NAMES:
        by_module[name.rsplit(".", 1)[0]] = by_module.get(name.rsplit(".", 1)[0], 0) + 1
    assert sum(by_module.values()) == len(allowlist.NAMES) > 100


def test_many_small_allocations_add_up_to_a_refusal(monkeypatch):
    monkeypatch.setattr(limits, "MAX_TOTAL_ELEMENTS", 10_000)
    with pytest.raises(BudgetExceeded, match="produced more than 10000 tensor elements"):
        evaluate("[torch.ones(1000) for i in range(20)]")
    assert evaluate("len([torch.ones(1000) for i in range(5)])") == 5
