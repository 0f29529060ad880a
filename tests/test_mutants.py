"""The mutants of torch and the mutation command (conformance.mutants, conformance.mutation).

Positive controls first: every mutant's probe passes on the real torch, fails while the mutant
is applied, and passes again after undo, with every patched attribute back to the very object it
was. Then the registry's shape, and two short end-to-end runs of ``python -m conformance mutate``
on a one-claim spec directory: a mutant that the claim catches is KILLED, one it cannot see
SURVIVES (and the command exits 1), and a suite that fails on the real torch stops the run (exit 2).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
import torch

from conformance import mutants, mutation
from conformance.schema import TOPICS

ROOT = Path(__file__).resolve().parents[1]
NAMES = list(mutants.MUTANTS) + list(mutants.PENDING)  # a pending mutant's probe must work too


def _owners() -> dict:
    """Everything a mutant may patch, by a stable label."""
    from torch.autograd import variable
    from torch.nn import _reduction

    return {
        "torch": torch, "torch.Tensor": torch.Tensor, "torch.autograd": torch.autograd,
        "torch.autograd.variable": variable, "torch.nn._reduction": _reduction,
        "torch.nn.Module": torch.nn.Module, "torch.nn.Parameter": torch.nn.Parameter,
        "torch.optim.Optimizer": torch.optim.Optimizer, "torch.optim.SGD": torch.optim.SGD,
        "torch.optim.Adam": torch.optim.Adam, "torch.optim.AdamW": torch.optim.AdamW,
        "torch.nn.functional": torch.nn.functional, "torch.no_grad": torch.no_grad,
        "torch.enable_grad": torch.enable_grad, "torch.set_grad_enabled": torch.set_grad_enabled,
    }


def _snapshot() -> dict:
    return {(label, key): value for label, owner in _owners().items() for key, value in vars(owner).items()}


def _assert_restored(before: dict) -> None:
    after = _snapshot()
    changed = [f"{label}.{key}" for (label, key), value in before.items() if after.get((label, key)) is not value]
    # Lazily imported torch submodules may appear in between; nothing else may.
    added = [f"{label}.{key}" for (label, key), value in after.items()
             if (label, key) not in before and not isinstance(value, types.ModuleType)]
    assert not changed and not added, f"not restored: {changed}; left behind: {added}"


@pytest.mark.parametrize("name", NAMES)
def test_probe_catches_the_mutant_and_undo_restores_torch(name):
    mutant = mutants.get(name)
    mutant.probe()  # real torch: passes (and warms torch up: optimizers hook their step on first use)
    before = _snapshot()
    grad_mode = torch.is_grad_enabled()
    undo = mutants.apply(name)
    try:
        assert mutants.active() == [name]
        with pytest.raises(AssertionError):
            mutant.probe()
    finally:
        undo()
    assert mutants.active() == []
    assert torch.is_grad_enabled() == grad_mode
    _assert_restored(before)
    mutant.probe()  # real behaviour is back


def test_pending_mutants_are_kept_out_of_the_shipped_set_but_can_be_applied(monkeypatch):
    """A survivor is not shipped (not listed, not run by mutate) until a claim kills it; a proposed
    claim can still be checked against it with --conformance-mutant."""
    import torch

    from conformance.mutants import base

    assert not set(mutants.PENDING) & set(mutants.MUTANTS)
    assert not any(m.fast for m in mutants.PENDING.values())
    monkeypatch.setattr(base, "PENDING", dict(base.PENDING))  # the survivor below is this test's only
    monkeypatch.setattr(mutants, "PENDING", base.PENDING)

    def probe():
        assert torch.ones(2).sum().item() == 2.0

    @base._mutant("test-survivor", "views_inplace", "a survivor written by this test", probe, shipped=False)
    def _survivor(p):
        p.set(torch.Tensor, "sum", lambda self, *a, **k: self.new_zeros(()))

    assert "test-survivor" in mutants.PENDING and "test-survivor" not in mutants.MUTANTS
    assert "test-survivor" not in mutation._choose(mutation._parser(), mutation._parser().parse_args([]))
    with mutants.applied("test-survivor") as mutant:
        assert mutant is mutants.PENDING["test-survivor"] and mutants.active() == ["test-survivor"]
        assert torch.ones(2).sum().item() == 0.0
    assert mutants.active() == [] and torch.ones(2).sum().item() == 2.0


def test_applied_context_manager_undoes_on_error():
    before = _snapshot()
    with pytest.raises(ZeroDivisionError):
        with mutants.applied("detach-copies"):
            1 / 0
    _assert_restored(before)
    mutants.MUTANTS["detach-copies"].probe()


def test_apply_rejects_an_unknown_name():
    with pytest.raises(KeyError) as info:
        mutants.apply("no-such-mutant")
    message = info.value.args[0]
    assert message.startswith("unknown mutant 'no-such-mutant'; known: ")
    assert "detach-copies" in message and "add-result-detached" in message
    assert mutants.active() == []


def test_registry_covers_every_topic_with_at_least_100_mutants():
    assert len(mutants.MUTANTS) >= 100
    assert set(mutants.TOPICS) == set(TOPICS)
    by_topic = {topic: [m.name for m in mutants.MUTANTS.values() if m.topic == topic] for topic in TOPICS}
    assert all(by_topic.values()), f"topics without a mutant: {[t for t, ms in by_topic.items() if not ms]}"
    fast_topics = {mutants.MUTANTS[n].topic for n in mutants.fast_names()}
    assert fast_topics == set(TOPICS), f"--fast misses {set(TOPICS) - fast_topics}"


# The subtle classes the corpus must hold: a fault that shows only for some dtypes, layouts,
# ranks, call counts or paths (each name below is one such mutant; see docs/mutation.md).
SUBTLE = {
    "dtype": ["half-grad-overwrites", "sum-grad-doubled-half", "mean-grad-doubled-half", "half-results-detached"],
    "layout": ["mul-grad-doubled-noncontiguous", "add-grad-halved-storage-offset", "noncontiguous-grad-overwritten",
               "detach-copies-noncontiguous", "numpy-copies-noncontiguous", "numpy-ignores-storage-offset"],
    "rank": ["sum-grad-doubled-rank4", "pow-grad-wrong-rank0", "rank4-results-detached"],
    "call-count": ["retained-second-backward-dropped", "third-accumulation-dropped", "retain-grad-overwrites"],
    "path": ["no-grad-exception-keeps-disabled", "enable-grad-exit-keeps-enabled", "set-grad-enabled-call-noop",
             "no-grad-decorator-noop", "parameter-under-no-grad-frozen", "optimizer-step-first-group-only"],
}


@pytest.mark.parametrize("kind", sorted(SUBTLE))
def test_the_corpus_holds_subtle_mutants_of_each_kind(kind):
    missing = [name for name in SUBTLE[kind] if name not in mutants.MUTANTS]
    assert not missing, missing


def test_a_layout_mutant_leaves_plain_tensors_alone():
    """A layout-dependent mutant must not break the plain case (else it is not subtle)."""
    x = torch.ones(3).requires_grad_(True)
    with mutants.applied("mul-grad-doubled-noncontiguous"):
        (x * 3).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), 3.0))
    with mutants.applied("half-grad-overwrites"):
        x.grad = None
        (x * 1).sum().backward()
        (x * 1).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), 2.0))


def test_every_mutant_is_described():
    for name, mutant in mutants.MUTANTS.items():
        assert mutant.name == name
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
        assert mutant.description and mutant.hint, name


def test_killing_claims_are_read_from_the_short_summary():
    output = textwrap.dedent("""\
        ..F
        =========================== short test summary info ============================
        FAILED specs/detach.yaml::detach-shares-storage[cpu] - claim detach-shares-storage failed
        FAILED specs/backward.yaml::grads-accumulate[cpu]
        ERROR specs/grad_modes.yaml::spec-error - Failed: specs/grad_modes.yaml:185: ...
        1 failed, 2 passed in 1.0s
        """)
    assert mutation.killing_claims(output) == [
        "detach-shares-storage[cpu]", "grads-accumulate[cpu]", "specs/grad_modes.yaml::spec-error"]


def test_pytest_command_defaults_to_the_project_specs_and_ci_profile():
    command = mutation.pytest_command("python", ["-k", "detach"], 3, "detach-copies")
    assert command[:3] == ["python", "-m", "pytest"]
    assert command[3] == str(ROOT / "specs")
    assert "--conformance-profile=ci" in command and "--maxfail=3" in command
    assert command[-1] == "--conformance-mutant=detach-copies"
    mine = mutation.pytest_command("python", [str(ROOT / "specs"), "--conformance-profile=deep"], 0, None)
    assert mine.count(str(ROOT / "specs")) == 1
    assert "--conformance-profile=ci" not in mine and not any(a.startswith("--maxfail") for a in mine)
    assert not any(a.startswith("--conformance-mutant") for a in mine)


def test_a_run_past_its_time_is_killed_and_reported_apart():
    run = mutation.run_one([sys.executable, "-c", "import time; time.sleep(60)"], None, timeout=1)
    assert run.status == mutation.TIMEOUT and run.wall_s < 30
    run = mutation.run_one([sys.executable, "-c", "raise SystemExit(4)"], None, timeout=30)
    assert (run.status, run.returncode) == (mutation.ERROR, 4)


# --- end to end: python -m conformance mutate on a one-claim spec directory -------------------

CLAIM = """\
topic: requires_grad
claims:
  - id: product-requires-grad-when-a-factor-does
    sources:
      - seed: 001_d61604267d30844b.txt
        quote: 那么所有依赖它的节点的requires_grad都为True
    statement: y = x * w requires grad when w does.
    verdict: holds
    max_examples: 3
    given:
      x: {{tensor: {{dtype: float, shape: [2]}}}}
      w: {{tensor: {{dtype: float, shape: [2], requires_grad: true}}}}
    do:
      - y = x * w
    expect:
      - that: {expect}
"""


def _mutate(tmp_path: Path, expect: str, *args: str) -> subprocess.CompletedProcess:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "tiny.yaml").write_text(CLAIM.format(expect=expect), encoding="utf-8")
    env = dict(os.environ)
    env.pop("CONFORMANCE_MUTANT", None)
    command = [sys.executable, "-m", "conformance", "mutate", "--", *args, str(specs), f"--conformance-specs={specs}",
               "--conformance-devices=cpu"]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("mutate")
    out = tmp_path / "matrix.json"
    result = _mutate(tmp_path, "y.requires_grad", "--mutants", "mul-result-detached,item-rounds",
                     "--jobs", "2", "--timeout", "90", "--json", str(out))
    doc = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
    return result, doc


def test_mutate_kills_a_mutant_the_specs_cover(tiny_run):
    result, doc = tiny_run
    assert doc is not None, result.stdout + result.stderr
    assert doc["baseline"]["status"] == "SURVIVED"  # the real torch passes
    runs = {m["mutant"]: m for m in doc["mutants"]}
    assert runs["mul-result-detached"]["status"] == "KILLED", runs["mul-result-detached"]["output_tail"]
    assert runs["mul-result-detached"]["killing_claims"] == ["product-requires-grad-when-a-factor-does[cpu]"]
    assert re.search(r"^mul-result-detached\s+requires_grad\s+KILLED\s+[\d.]+s\s+product-requires-grad",
                     result.stdout, re.M), result.stdout


def test_mutate_reports_a_survivor_and_exits_nonzero(tiny_run):
    result, doc = tiny_run
    runs = {m["mutant"]: m for m in doc["mutants"]}
    assert runs["item-rounds"]["status"] == "SURVIVED"  # no claim here calls item()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mutation score: 1/2 (50%) killed" in result.stdout
    assert "survived: item-rounds" in result.stdout
    assert "wall time:" in result.stdout
    assert (doc["killed"], doc["total"]) == (1, 2)


def test_mutate_refuses_when_the_suite_fails_on_real_torch(tmp_path):
    result = _mutate(tmp_path, "not y.requires_grad", "--mutants", "item-rounds")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "does not pass on the real torch" in result.stderr
    assert "product-requires-grad-when-a-factor-does[cpu]" in result.stderr
