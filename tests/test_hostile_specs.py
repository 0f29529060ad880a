"""The hostile corpus: every payload of ``hostile_corpus`` in every position a spec holds text.

Each payload must be refused before anything runs (a SpecError when the claim is compiled), or
run harmlessly: no canary file, no process, no socket, no file opened for writing, no new
module imported, no global state left changed, no crash, no hang, memory within bounds.  Each
payload is checked in a forked child (``isolation.run_in_child``) with a memory limit and a
wall-clock limit, so a crash or hang fails that payload's test and nothing else; inside the
child an audit hook records what the payload's claims did while they ran.

Speed (Note [Corpus template]): the file for a payload is not re-parsed by YAML each time.  The
YAML template with a placeholder in every position is loaded once, and the payload is put into
the plain data the loader produced; ``test_the_template_stands_for_real_yaml`` checks that this
is exactly what loading the real file gives.  Structural cases that only YAML can express (alias
bombs) and the generated repro code have their own tests below.
"""
from __future__ import annotations

import ast
import copy
import json
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import hostile_corpus as corpus
from conformance import isolation, loading, schema
from conformance.compiling import _Compiler
from conformance.errors import SpecError, SpecErrors
from conformance.language import limits
from helpers import SEEDS, TORCH, claim_yaml, run_specs, spec_yaml, write_specs

PLACEHOLDER = "@@PAYLOAD@@"
ALLOWED_IMPORTS = ("torch", "numpy", "hypothesis", "_hypothesis", "sympy", "mpmath", "opt_einsum", "filelock",
                   "functorch", "typing_extensions", "jinja2", "markupsafe", "networkx", "fsspec", "sortedcontainers",
                   "attr", "exceptiongroup", "packaging", "gmpy2")
WATCHED_EVENTS = ("subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.kill",
                  "socket.", "ctypes.", "os.remove", "os.rename", "shutil.", "pickle.find_class",
                  "webbrowser", "urllib", "http.")


@pytest.fixture(scope="module")
def template():
    return loading.load_text(corpus.spec_for(PLACEHOLDER), "specs/hostile.yaml")


@pytest.fixture(scope="module")
def single_templates():
    return {pos: loading.load_text(corpus.spec_text(pos, PLACEHOLDER), f"specs/{pos}.yaml") for pos in corpus.POSITIONS}


def _put(value, payload: str):
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, payload)
    if isinstance(value, list):
        return [_put(v, payload) for v in value]
    if isinstance(value, dict):
        return {k: _put(v, payload) for k, v in value.items()}
    return value


def with_payload(doc: loading.Document, payload: str) -> loading.Document:
    out = copy.copy(doc)
    out.data = _put(doc.data, payload.replace("CANARY", corpus.CANARY))
    return out


def compiled_claims(template, single_templates, payload: str):
    """(position, compiled claim or None when refused at compile time) for every position."""
    doc = with_payload(template, payload)
    try:
        docs = [(doc, schema.validate(doc))]
    except (SpecError, SpecErrors):  # one position breaks the schema: validate each on its own
        docs = []
        for pos, single in single_templates.items():
            one = with_payload(single, payload)
            try:
                docs.append((one, schema.validate(one)))
            except (SpecError, SpecErrors):
                yield pos, None
    for one, spec in docs:
        compiler = _Compiler(one, TORCH, SEEDS)
        for index, claim in enumerate(spec.claims):
            try:
                yield claim.id, compiler.claim(claim, index, spec.topic)
            except SpecError:
                yield claim.id, None


DANGEROUS_MODULES = frozenset({
    "subprocess", "socket", "ctypes", "pickle", "shutil", "urllib", "http", "multiprocessing", "pty", "code",
    "pdb", "webbrowser", "ftplib", "smtplib", "asyncio", "tempfile", "importlib", "runpy", "zipimport",
    "cffi", "mmap", "fcntl", "resource", "signal", "_posixsubprocess"})


def new_modules(before: set) -> list[str]:
    """Modules imported since ``before`` that neither torch/NumPy nor the harmless stdlib account for."""
    out = []
    for name in set(sys.modules) - before:
        top = name.split(".")[0]
        if top in DANGEROUS_MODULES or (top not in sys.stdlib_module_names and top not in ALLOWED_IMPORTS
                                        and not top.startswith(("_cython", "cython"))):
            out.append(name)
    return sorted(out)


class Monitor:
    """An audit hook (child process only) recording what spec code does while ``active``."""

    def __init__(self):
        self.active = False
        self.seen: list[str] = []
        self.modules = set(sys.modules)
        sys.addaudithook(self.hook)

    def hook(self, event: str, args) -> None:
        if not self.active:
            return
        if event == "open":
            path, mode = str(args[0]), args[1]
            if corpus.CANARY in path or (isinstance(mode, str) and any(c in mode for c in "wax+")):
                self.seen.append(f"open {path} {mode}")
        elif event == "import":
            top = str(args[0]).split(".")[0]
            if top in DANGEROUS_MODULES and str(args[0]) not in self.modules:
                self.seen.append(f"import {args[0]}")
        elif event.startswith(WATCHED_EVENTS):
            self.seen.append(event)


def check_in_child(template, single_templates, payload: str) -> dict:
    """Runs in the forked child: compile and run every position; return what went wrong."""
    from conformance.running import run_claim
    from helpers import CPU, profile
    from conformance.running import RunStats

    # Smaller limits than a real run: the corpus checks that limits are enforced, and this keeps
    # each refused payload cheap (the default values are covered by test_expressions).
    limits.DEFAULT_BUDGET = 20_000
    limits.DEFAULT_TIME_LIMIT = 5.0
    limits.MAX_SEQUENCE = 100_000
    limits.MAX_ELEMENTS = 2_000_000
    limits.MAX_FLOPS = 100_000_000
    monitor = Monitor()
    problems, ran, refused = [], [], []
    for position, claim in compiled_claims(template, single_templates, payload):
        if claim is None:
            refused.append(position)
            continue
        before = isolation.snapshot()
        monitor.active = True
        try:
            run_claim(claim, CPU, profile(0, 1), RunStats())
        except BaseException as exc:  # noqa: BLE001 - any refusal or failure of the claim is harmless
            if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
                problems.append(f"{position}: {type(exc).__name__}")
        finally:
            monitor.active = False
        ran.append(position)
        leaked = [n for n in isolation.changed(before, isolation.snapshot()) if n not in isolation.SILENT]
        if leaked:
            problems.append(f"{position}: left state changed: {leaked}")
            isolation.restore(before)
        problems += [f"{position}: {event}" for event in monitor.seen]
        problems += [f"{position}: imported {name}" for name in new_modules(monitor.modules)]
        monitor.modules = set(sys.modules)
        monitor.seen.clear()
        if Path(corpus.CANARY).exists():
            problems.append(f"{position}: canary file written")
    return {"problems": problems, "ran": ran, "refused": refused}


def _guarded():
    return {"torch.sum": torch.sum, "torch.load": torch.load, "torch.Tensor.detach": torch.Tensor.detach,
            "nn.Linear.forward": torch.nn.Linear.forward, "np.save": np.save,
            "default dtype": torch.get_default_dtype(), "grad": torch.is_grad_enabled(),
            "np.geterr": np.geterr()}


@pytest.fixture
def single_threaded():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a fork after OpenMP started can hang the child (Note [Isolation])
    yield
    torch.set_num_threads(threads)


def test_the_corpus_is_large_and_covers_every_position():
    assert len(corpus.PAYLOADS) >= 150
    assert len(set(p for _, p in corpus.PAYLOADS)) == len(corpus.PAYLOADS)
    assert set(corpus.POSITIONS) == {
        "step", "block", "that", "close-actual", "equal-expected", "given-expr", "given-module", "given-shape",
        "given-requires-grad", "gradcheck", "hook", "as-stated-do", "as-stated-expect", "example", "raises",
        "version-range", "match"}


@pytest.mark.parametrize("payload", [p for _, p in corpus.PAYLOADS],
                         ids=[f"{kind}-{i}" for i, (kind, _) in enumerate(corpus.PAYLOADS)])
def test_payload_in_every_position_is_refused_or_harmless(payload, template, single_templates, tmp_path,
                                                          monkeypatch, single_threaded):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(isolation, "CHILD_MEMORY_BYTES", 2 * 1024 ** 3)
    before = _guarded()
    result = isolation.run_in_child(lambda: None, f"payload {payload!r}",
                                    extra=lambda: check_in_child(template, single_templates, payload),
                                    wall_limit=90)
    assert result["problems"] == [], result
    assert len(result["ran"]) + len(result["refused"]) >= len(corpus.POSITIONS), result
    assert not (tmp_path / corpus.CANARY).exists()
    assert _guarded() == before


def test_a_harmless_payload_runs_in_most_positions(template, single_templates, tmp_path, monkeypatch, single_threaded):
    # The corpus can fail: a payload that compiles runs, and the monitor sees what it does.
    monkeypatch.chdir(tmp_path)
    result = isolation.run_in_child(lambda: None, "harmless", extra=lambda: check_in_child(
        template, single_templates, "x.sum()"))
    assert len(result["ran"]) >= 10 and result["problems"] == [], result


def test_the_check_sees_a_leak_when_the_language_is_sabotaged(template, single_templates, tmp_path, monkeypatch,
                                                              single_threaded):
    # Sabotage: let the language call a global setter outside 'with'; the check must catch it.
    # (set_grad_enabled may be called plainly: every example restores grad mode, so the anomaly
    # switch, which may only be used in 'with', is the setter to let loose.)
    monkeypatch.chdir(tmp_path)
    from conformance.language import allowlist

    def sabotaged():
        setter = torch.autograd.set_detect_anomaly
        allowlist.BY_ID[id(setter)] = (setter, "torch.autograd.set_detect_anomaly", "free")
        return check_in_child(template, single_templates, "torch.autograd.set_detect_anomaly(True)")

    result = isolation.run_in_child(lambda: None, "sabotaged", extra=sabotaged)
    assert any("anomaly" in p for p in result["problems"]), result


def test_the_monitor_sees_writes_and_processes(tmp_path, monkeypatch, single_threaded):
    monkeypatch.chdir(tmp_path)

    def attempt():
        monitor = Monitor()
        monitor.active = True
        with open(corpus.CANARY, "w"):
            pass
        os.system("true")
        monitor.active = False
        return monitor.seen

    seen = isolation.run_in_child(lambda: None, "monitor", extra=attempt)
    assert any(e.startswith("open") for e in seen) and "os.system" in seen, seen


def test_the_template_stands_for_real_yaml(template):
    for _, payload in corpus.PAYLOADS[::23]:
        real = loading.load_text(corpus.spec_for(payload.replace("CANARY", corpus.CANARY)), "specs/hostile.yaml")
        assert real.data == with_payload(template, payload).data


# ---------------------------------------------------------------------------------------------
# Structural cases: YAML alias bombs, generated code
# ---------------------------------------------------------------------------------------------


def _laughs(levels: int, width: int = 9, leaf: str = "x") -> str:
    text = f"a0: &a0 [{', '.join([leaf] * width)}]\n"
    for i in range(1, levels):
        text += f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]\n"
    return text


@pytest.mark.parametrize("text, fragment", [
    (_laughs(9), "nodes once aliases are expanded"),
    (_laughs(6, 20), "nodes once aliases are expanded"),
    ("s: &s " + "y" * 200_000 + "\n" + _laughs(3, 9, "*s"), "bytes of text once aliases are expanded"),
    ("m: &m {a: 1, b: 2, c: 3}\n" + _laughs(8, 8, "*m"), "nodes once aliases are expanded"),
])
def test_alias_bombs_are_refused_before_they_expand(text, fragment):
    import time

    start = time.monotonic()
    with pytest.raises(SpecError, match=fragment):
        loading.load_text(text, "specs/bomb.yaml")
    assert time.monotonic() - start < 10


def test_aliases_within_bounds_still_load():
    doc = loading.load_text(_laughs(3, 4), "specs/ok.yaml")
    assert len(doc.data["a2"]) == 4 and doc.data["a1"][0] == ["x"] * 4


_TEXT = st.lists(st.sampled_from(list("ab'\"\\#\n\r\t\x0b\x0c\x1c\x85\u2028\u2029 ()=;:{}") + ["os", "import"]),
                 max_size=30).map("".join)


@settings(max_examples=150, deadline=None)
@given(statement=_TEXT, quote=_TEXT, name=_TEXT)
def test_repro_comments_and_literals_stay_inert(statement, quote, name):
    from conformance import repro

    lines = [repro.comment(statement), repro.comment(quote), repro.comment(name), "x = 1"]
    tree = ast.parse("\n".join(lines))
    assert [type(s).__name__ for s in tree.body] == ["Assign"]


_SPEC_CODE = st.sampled_from([
    "y = x * 2", "z = 'a\\rb'", "s = '#\\nimport os'", "w = \"\\u2028os.system('x')\"", "t = ('''a\nb''')",
    "q = {'k': [1, (2, 3)]}", "for i in range(3):\n    z = i", "with torch.no_grad():\n    y = x + 1",
    "u = 'x' # comment\n", "v = 1; w = 2", "if x:\n    y = 1\nelse:\n    y = 2", "f = lambda a: a + '\\x0c'",
])


@settings(max_examples=60, deadline=None)
@given(code=_SPEC_CODE, quote=_TEXT)
def test_repro_code_regenerates_the_same_statements(code, quote):
    from conformance import repro

    snippet = "\n".join([repro.comment(quote), repro.code(code)])
    assert ast.dump(ast.parse(snippet)) == ast.dump(ast.parse(code))


def test_repro_names_must_be_identifiers():
    from conformance import repro

    assert repro.name("x1") == "x1"
    for bad in ("x = 1\nimport os", "a b", "class", ""):
        with pytest.raises(ValueError):
            repro.name(bad)


# ---------------------------------------------------------------------------------------------
# Isolation in a real run
# ---------------------------------------------------------------------------------------------

_SABOTAGE = textwrap.dedent("""\
    import os, signal, time
    import torch
    import conformance.running as plugin  # the plugin imports run_claim from here at run time

    real = plugin.run_claim

    def run_claim(claim, slot, profile, stats):
        if claim.id == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        if claim.id == "hang":
            time.sleep(600)
        if claim.id == "leak":
            torch.set_grad_enabled(False)
        return real(claim, slot, profile, stats)

    plugin.run_claim = run_claim
    """)


def _sabotage_specs(pytester, ids):
    pytester.makeconftest(_SABOTAGE)
    write_specs(pytester, {"isolated": spec_yaml(*[claim_yaml(cid) for cid in ids])})


def test_isolate_turns_a_crash_and_a_hang_into_one_error_each(pytester, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_CHILD_WALL_LIMIT", "15")
    _sabotage_specs(pytester, ["crash", "fine-one", "hang", "fine-two"])
    result = run_specs(pytester, "--conformance-isolate", subprocess=True)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*spec error while running: specs/isolated.yaml:*crash*SIGSEGV*"])
    result.stdout.fnmatch_lines(["*spec error while running: specs/isolated.yaml:*hang*wall-time limit*"])


def test_a_claim_that_leaves_state_changed_fails_and_the_next_sees_it_restored(pytester):
    _sabotage_specs(pytester, ["leak", "fine-after"])
    result = run_specs(pytester, subprocess=True)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*spec error while running: specs/isolated.yaml:*leak*left global state changed "
                                 "(grad mode)*"])


def test_isolate_runs_passing_claims_like_the_default_mode(pytester):
    write_specs(pytester, {"plain": spec_yaml(claim_yaml("one"), claim_yaml("two"))})
    result = run_specs(pytester, "--conformance-isolate", subprocess=True)
    result.assert_outcomes(passed=2)


def test_a_pattern_too_deep_for_the_regex_parser_is_a_spec_error_and_the_rest_runs(pytester):
    deep = "(" * 900 + "1" + ")" * 900  # within the length bound, past the parser's recursion
    write_specs(pytester, {"deep": corpus.spec_text("match", deep),
                           "plain": spec_yaml(claim_yaml("one"))})
    result = run_specs(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*specs/deep.yaml:*match*not a valid regular expression*recursion*"])
    assert "Interrupted" not in result.stdout.str()


_LOADER_BUG = textwrap.dedent("""\
    import conformance.catalog as catalog

    real = catalog.load_claims

    def load_claims(path, *args, **kwargs):
        if path.name == "broken.yaml":
            raise RecursionError("maximum recursion depth exceeded (planted)")
        return real(path, *args, **kwargs)

    catalog.load_claims = load_claims
    """)


def test_an_unexpected_error_while_loading_one_file_errors_that_file_only(pytester):
    pytester.makeconftest(_LOADER_BUG)
    write_specs(pytester, {"broken": spec_yaml(claim_yaml("never")), "plain": spec_yaml(claim_yaml("one"))})
    result = run_specs(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*specs/broken.yaml: could not be loaded: RecursionError: *planted*bug of*"])
