"""The suite as a user installs it: from the built wheel, in an environment outside the checkout.

The wheel is built once (``pip wheel . --no-deps``) and unpacked into the site-packages of a fresh
virtual environment; that environment sees this one's dependencies (torch, pytest, Hypothesis, ...)
through a directory of links that leaves out the checkout's own editable install, so ``conformance``
can only come from the wheel. Every command runs from a directory outside the checkout.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from helpers import ACCUMULATION_SPEC, ROOT


def _run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "PYTEST_"))}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The python of a fresh environment with the wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    # built from a copy of what the wheel is made of: setuptools builds in the source tree
    # (build/), and two xdist workers building the same tree at once collide there
    source = root / "source"
    for name in ("pyproject.toml", "README.md"):
        source.mkdir(exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for name in ("conformance", "specs"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    built = _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
                  "-w", str(root / "dist")], cwd=root)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("autograd_conformance-*.whl")
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=root).stdout.strip())
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    deps = root / "deps"
    deps.mkdir()
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        name = entry.name.lower()
        if name.startswith(("conformance", "autograd_conformance", "__editable__", "_virtualenv")) \
                or name.endswith(".pth"):
            continue
        (deps / entry.name).symlink_to(entry)
    (site / "zz_deps.pth").write_text(str(deps) + "\n", encoding="utf-8")
    return python


def test_the_wheel_ships_the_claims_and_schemas(installed):
    where = _run([str(installed), "-c", "import conformance, pathlib; p = pathlib.Path(conformance.__file__).parent;"
                  "print(p); print(len(list((p / 'specs').glob('*.yaml'))));"
                  "print((p / 'spec.schema.json').is_file(), (p / 'results.schema.json').is_file())"], cwd=installed.parent)
    package, count, schemas = where.stdout.split("\n")[:3]
    assert str(ROOT) not in package and int(count) == len(list((ROOT / "specs").glob("*.yaml"))) > 0
    assert schemas == "True True"


def test_pyargs_runs_the_shipped_claims_from_any_directory(installed, tmp_path):
    result = _run([str(installed), "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider",
                   "--conformance-profile=ci", "--conformance-devices=cpu", "-m", "item", "-q"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "seed articles not found, so quotes are not checked" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert " passed" in last and "failed" not in last, last


def test_an_unrelated_project_is_untouched_and_own_claims_rerun_with_lf(installed, tmp_path):
    (tmp_path / "api" / "specs").mkdir(parents=True)
    (tmp_path / "api" / "specs" / "openapi.yaml").write_text("openapi: 3.0.0\ninfo: {title: x}\n")
    (tmp_path / "test_app.py").write_text(
        "import sys\n\ndef test_app():\n    assert 'torch' not in sys.modules and 'hypothesis' not in sys.modules\n")
    plain = _run([str(installed), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path)
    assert plain.returncode == 0 and "1 passed" in plain.stdout, plain.stdout[-3000:]
    assert not [line for line in plain.stdout.splitlines() if line.startswith("conformance")]
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "mine.yaml").write_text(ACCUMULATION_SPEC, encoding="utf-8")
    args = [str(installed), "-m", "pytest", "claims", "--conformance-specs=claims", "--conformance-devices=cpu",
            "--conformance-profile=ci", "-q"]
    first = _run(args, cwd=tmp_path)
    assert "1 failed, 1 passed" in first.stdout, first.stdout[-3000:]
    again = _run(args + ["--lf"], cwd=tmp_path)
    assert "1 failed in" in again.stdout and "passed" not in again.stdout.splitlines()[-1], again.stdout[-3000:]
