"""Start-up: what ``pytest specs --collect-only`` costs over importing what it needs anyway.

* ``test_collect_only_vs_imports``: the repository's own claims, ``pytest specs --collect-only -q``
  in a subprocess (warm: the parse cache primed, byte code written) against ``python -c "import
  torch, hypothesis, pytest"``, interleaved, five rounds; the ratio of the medians. Target <= 1.3x.
* ``test_first_collection_without_parse_cache``: the same collection with the parse cache off
  (``CONFORMANCE_CACHE_DIR=off``: every spec file parsed, validated and compiled) against the warm
  one, and collection proper per claim (collect_timer.py). Target <= 2 ms per claim.

``PYTHONDONTWRITEBYTECODE`` is removed from the subprocesses' environment: a start-up measured
without byte-code caching measures the compiler, not the start-up.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sidebyside import Ratio, median, record, side_by_side

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ROUNDS = 5


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


def _run(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return elapsed


COLLECT = [sys.executable, "-m", "pytest", "specs", "--collect-only", "-q", "-p", "no:cacheprovider"]
IMPORTS = [sys.executable, "-c", "import torch, hypothesis, pytest"]


def test_collect_only_vs_imports(benchmark):
    benchmark.group = "start-up: pytest specs --collect-only"
    env = _env()
    _run(COLLECT, env)  # prime the parse cache and the byte code
    collect, imports = side_by_side(benchmark, lambda: _run(COLLECT, env), lambda: _run(IMPORTS, env),
                                    rounds=ROUNDS)
    record(benchmark, Ratio(name="pytest specs --collect-only (warm) vs import torch, hypothesis, pytest",
                            numerator="collect-only", denominator="imports", ratio=median(collect) / median(imports),
                            num_value=median(collect), den_value=median(imports), unit="s", note="target <= 1.3x"))


def test_first_collection_without_parse_cache(benchmark, monkeypatch):
    """In-process, as collection does it for every file: load + validate + compile of the shipped
    claims with the parse cache off, the libyaml fast path against ruamel.yaml alone."""
    from conformance import compiling, fastyaml, loading, parse_cache, schema
    from conformance.versions import installed_torch_version

    benchmark.group = "start-up: first collection (parse cache off)"
    monkeypatch.setenv(parse_cache.ENV_VAR, "off")
    files = sorted((ROOT / "specs").glob("*.yaml"))
    version = installed_torch_version()
    fast_parse = fastyaml.parse
    counts: list[int] = []

    def collect(fast: bool) -> None:
        monkeypatch.setattr(fastyaml, "parse", fast_parse if fast else (lambda *args: None))
        n = 0
        for path in files:
            doc = loading.load_file(path, path.name)
            n += len(compiling.compile_file(doc, schema.validate(doc), version, None))
        counts.append(n)

    fast, slow = side_by_side(benchmark, lambda: collect(True), lambda: collect(False), rounds=ROUNDS)
    claims = counts[-1]
    fast_ms, slow_ms = 1e3 * median(fast) / claims, 1e3 * median(slow) / claims
    record(None, Ratio(name="first collection per claim, libyaml fast path vs ruamel.yaml only",
                       numerator="fast path", denominator="ruamel only", ratio=fast_ms / slow_ms,
                       num_value=fast_ms, den_value=slow_ms, unit="ms/claim", note=f"{claims} claims"))
    record(benchmark, Ratio(name="first collection (parse cache off) vs target", numerator="measured",
                            denominator="target", ratio=fast_ms / 2.0, num_value=fast_ms, den_value=2.0,
                            unit="ms/claim", note="load + validate + compile"))
