"""Collection scaling: load+validate+compile, and pytest collection, at growing suite sizes.

* ``test_load_compile_scaling``: in-process, the path collection takes for every spec file
  (``loading.load_file`` -> ``schema.validate`` -> ``compiling.compile_file``, with the seed
  articles' quotes checked when the articles are at hand) over trees of 10, 100, 1,000 and
  10,000 generated claims (specgen.py: 50 claims per file). Reports ms per claim per size, the
  share of each stage, and the linearity ratios (per-claim cost at 10x the size over per-claim
  cost at the smaller size: 1.0 is linear). Target: linear, <= 2 ms per claim.
* ``test_pytest_collection_scaling``: ``pytest --collect-only -q`` in a subprocess over trees of
  0, 10, 100 and 1,000 claims (cpu slot only, so one item per claim). collect_timer.py times
  collection proper inside the subprocess (start-up, seconds of it and noisy, would swamp the
  small sizes); the whole subprocess's wall time is reported beside it.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import specgen
from conformance import catalog, compiling, loading, schema
from conformance.versions import installed_torch_version
from sidebyside import Ratio, record

LOAD_SIZES = (10, 100, 1_000, 10_000)
SMALL_REPEATS = 3  # sizes up to 100 are timed this many times (best kept); the larger ones once
COLLECT_SIZES = (0, 10, 100, 1_000)
TARGET_MS = 2.0
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[int, list[Path]]:
    root = tmp_path_factory.mktemp("generated")
    return {n: specgen.write_tree(root / f"claims_{n}" / "specs", n) for n in LOAD_SIZES}


def _load_compile(files: list[Path], version, seeds) -> tuple[float, float, float, int]:
    load = validate = compile_ = 0.0
    count = 0
    for path in files:
        t0 = time.perf_counter()
        doc = loading.load_file(path, path.name)
        t1 = time.perf_counter()
        spec = schema.validate(doc)
        t2 = time.perf_counter()
        count += len(compiling.compile_file(doc, spec, version, seeds))
        t3 = time.perf_counter()
        load, validate, compile_ = load + t1 - t0, validate + t2 - t1, compile_ + t3 - t2
    return load, validate, compile_, count


@pytest.fixture(params=["parse", "parse-cache"])
def parse_mode(request, tmp_path, monkeypatch, trees) -> str:
    """'parse': the YAML is parsed every time (cache off); 'parse-cache': the shared parse cache
    (conformance/parse_cache.py) is primed first, as after any earlier run on the machine."""
    from conformance import parse_cache

    if request.param == "parse":
        monkeypatch.setenv(parse_cache.ENV_VAR, "off")
    else:
        monkeypatch.setenv(parse_cache.ENV_VAR, str(tmp_path / "parse-cache"))
        for files in trees.values():
            for path in files:
                loading.load_file(path, path.name)
    return request.param


def test_load_compile_scaling(benchmark, trees, parse_mode):
    benchmark.group = f"collection: load+validate+compile ({parse_mode})"
    version, seeds = installed_torch_version(), specgen.seeds_dir()
    best: dict[int, tuple[float, float, float]] = {}

    def one_round() -> None:
        catalog.clear_cache()
        for n in LOAD_SIZES:
            for _ in range(SMALL_REPEATS if n <= 100 else 1):
                gc.collect()  # start each size from the same heap, not from the last size's garbage
                load, validate, compile_, count = _load_compile(trees[n], version, seeds)
                assert count == n
                if n not in best or load + validate + compile_ < sum(best[n]):
                    best[n] = (load, validate, compile_)

    benchmark.pedantic(one_round, rounds=1, iterations=1)
    per_claim = {n: 1e3 * sum(best[n]) / n for n in LOAD_SIZES}
    shares = {n: tuple(round(100 * part / sum(best[n])) for part in best[n]) for n in LOAD_SIZES}
    benchmark.extra_info["ms_per_claim"] = {str(n): round(v, 3) for n, v in per_claim.items()}
    benchmark.extra_info["percent_load_validate_compile"] = {str(n): shares[n] for n in LOAD_SIZES}
    for small, large in zip(LOAD_SIZES, LOAD_SIZES[1:]):
        record(None, Ratio(
            name=f"[{parse_mode}] load+validate+compile per claim {large} vs {small} claims", numerator=f"{large}",
            denominator=f"{small}", ratio=per_claim[large] / per_claim[small], num_value=per_claim[large],
            den_value=per_claim[small], unit="ms/claim", note="1.0 = linear"))
    largest = LOAD_SIZES[-1]
    record(benchmark, Ratio(
        name=f"[{parse_mode}] load+validate+compile vs target at {largest} claims", numerator="measured",
        denominator="target",
        ratio=per_claim[largest] / TARGET_MS, num_value=per_claim[largest], den_value=TARGET_MS, unit="ms/claim",
        note="load/validate/compile = " + "/".join(f"{p}%" for p in shares[largest])))


def _collect(directory: Path) -> tuple[float, float, int]:
    """(wall seconds of the whole subprocess, seconds of collection proper, items collected)."""
    timing = directory / "collect-timing.json"
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "collect_timer",
               "--conformance-devices=cpu", f"--rootdir={directory}", str(directory / "specs"),
               f"--conformance-specs={directory / 'specs'}"]
    seeds = specgen.seeds_dir()
    if seeds is not None:
        command.append(f"--conformance-seeds-dir={seeds}")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    env["COLLECT_TIMER_FILE"] = str(timing)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 5) or not timing.is_file():
        raise AssertionError(f"collection failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    measured = json.loads(timing.read_text(encoding="utf-8"))
    return elapsed, measured["seconds"], measured["items"]


def test_pytest_collection_scaling(benchmark, tmp_path):
    benchmark.group = "collection: pytest --collect-only (subprocess)"
    directories = {}
    for n in COLLECT_SIZES:
        directory = tmp_path / f"suite_{n}"
        (directory / "specs").mkdir(parents=True)
        specgen.write_tree(directory / "specs", n)
        directories[n] = directory
    wall: dict[int, float] = {}
    collect: dict[int, float] = {}

    def one_round() -> None:
        for n in COLLECT_SIZES:
            wall[n], collect[n], items = _collect(directories[n])
            assert items == n, f"{items} items collected from {n} claims"

    benchmark.pedantic(one_round, rounds=1, iterations=1)
    sizes = [n for n in COLLECT_SIZES if n]
    per_claim = {n: 1e3 * collect[n] / n for n in sizes}
    benchmark.extra_info["wall_s"] = {str(n): round(wall[n], 3) for n in COLLECT_SIZES}
    benchmark.extra_info["collection_s"] = {str(n): round(collect[n], 4) for n in COLLECT_SIZES}
    benchmark.extra_info["ms_per_claim"] = {str(n): round(v, 3) for n, v in per_claim.items()}
    for small, large in zip(sizes, sizes[1:]):
        record(None, Ratio(
            name=f"pytest collection per claim {large} vs {small} claims", numerator=f"{large}",
            denominator=f"{small}", ratio=per_claim[large] / per_claim[small], num_value=per_claim[large],
            den_value=per_claim[small], unit="ms/claim", note="1.0 = linear"))
    record(benchmark, Ratio(
        name=f"pytest collection vs target at {sizes[-1]} claims", numerator="measured", denominator="target",
        ratio=per_claim[sizes[-1]] / TARGET_MS, num_value=per_claim[sizes[-1]], den_value=TARGET_MS,
        unit="ms/claim", note=f"whole subprocess {wall[sizes[-1]]:.2f} s; with no claims {wall[0]:.2f} s"))
