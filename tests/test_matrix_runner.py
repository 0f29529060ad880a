"""The torch-version matrix: tox.ini pins every minor release, and tools/matrix.py reads those pins."""
from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("matrix_runner", ROOT / "tools" / "matrix.py")
matrix = importlib.util.module_from_spec(spec)
spec.loader.exec_module(matrix)

RELEASES = ["1.13.1", "2.0.1", "2.1.2", "2.2.2", "2.3.1", "2.4.1", "2.5.1", "2.6.0", "2.7.1", "2.8.0", "2.9.1",
            "2.10.0", "2.11.0", "2.12.1", "2.13.0+cpu", "2.14.1", "2.15.0"]


def test_tox_pins_every_minor_release_from_1_13_to_2_15():
    rels = matrix.releases_from_tox(ROOT / "tox.ini")
    assert [r["version"] for r in rels] == RELEASES
    assert [r["label"] for r in rels][-3:] == ["2.13.0", "2.14.1", "2.15.0"]
    for rel in rels:
        torch_pins = [r for r in rel["requirements"] if r.startswith("torch")]
        assert torch_pins == [f"torch=={rel['version']}"], rel  # exactly one torch, the env's own


def test_numpy_below_2_exactly_where_torch_was_built_against_numpy_1():
    for rel in matrix.releases_from_tox(ROOT / "tox.ini"):
        old = tuple(int(p) for p in rel["label"].split(".")[:2]) <= (2, 2)
        assert ("numpy<2" in rel["requirements"]) == old, rel


def test_tox_factor_conditions():
    assert matrix._factor_matches("torch212", "torch212")
    assert not matrix._factor_matches("torch212", "torch2121")
    assert matrix._factor_matches("torch1131,torch201", "torch201")
    assert matrix._factor_matches("!torch1131-!torch201", "py311")
    assert not matrix._factor_matches("!torch1131-!torch201", "torch201")


def test_eviction_keeps_the_most_recently_used_wheels(tmp_path):
    now = time.time()
    for age, name in enumerate(["new.whl", "mid.whl", "old.whl"]):
        path = tmp_path / name
        path.write_bytes(b"x" * 1000)
        os.utime(path, (now - age * 100, now - age * 100))
    assert matrix.evict(tmp_path, 2000) == ["old.whl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mid.whl", "new.whl"]
    assert matrix.evict(tmp_path, 0) == ["mid.whl", "new.whl"]


def test_disk_sampler_sees_what_was_written_while_it_ran(tmp_path):
    with matrix.DiskSampler(tmp_path, every=0.05) as sampler:
        (tmp_path / "big").write_bytes(b"\1" * 3_000_000)
        time.sleep(0.3)
        (tmp_path / "big").unlink()
    assert sampler.peak >= 3_000_000  # the file is gone at the end; the peak remembers it


def test_a_venv_is_reused_only_without_stale_nvidia_packages(tmp_path):
    needed = [Path("nvidia_cublas_cu12-12.1.3.1-py3-none-manylinux1_x86_64.whl"), Path("torch-2.2.2-cp311.whl")]
    assert matrix._nvidia(p.name.split("-")[0] for p in needed) == {"nvidia-cublas-cu12"}
    assert not matrix.can_reuse(tmp_path / "no-venv" / "bin" / "python", needed)
