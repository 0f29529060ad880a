"""The project's PrivateUse1 test device: build it (once per source and torch), load it, name it.

Note [Building the test device]
``testdevice.cpp`` is compiled with ``torch.utils.cpp_extension.load`` (ninja from the package
registry, the system C++ compiler; nothing prebuilt is downloaded) into a cache directory keyed by
the hash of the source, the torch version and the Python ABI:
``$CONFORMANCE_TESTDEVICE_CACHE`` or ``~/.cache/autograd-conformance/testdevice/<key>``. When the
shared library is already there it is loaded directly, without ninja. Loading registers the
kernels under PrivateUse1; ``activate`` then renames PrivateUse1 to ``NAME``, registers
``torch.testdev`` (the device module torch asks for availability, device count and seeding) and
generates the ``Tensor.testdev()`` / ``is_testdev`` conveniences.

Use it from pytest with ``-p tests.testdevice`` (see ``pytest_configure`` below) or from Python
with ``tests.testdevice.activate()``.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import pytest

NAME = "testdev"
SOURCE = Path(__file__).with_name("testdevice.cpp")
CACHE_ENV = "CONFORMANCE_TESTDEVICE_CACHE"


def cache_dir() -> Path:
    import torch

    key = hashlib.sha256()
    key.update(SOURCE.read_bytes())
    key.update(torch.__version__.encode())
    key.update(sys.implementation.cache_tag.encode())
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "autograd-conformance" / "testdevice"
    return Path(root) / key.hexdigest()[:16]


class DeviceModule:
    """``torch.testdev``: what torch asks a PrivateUse1 device module (availability, seeding)."""

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def is_initialized() -> bool:
        return True

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def current_device() -> int:
        return 0

    @staticmethod
    def synchronize(device=None) -> None:
        return None

    @staticmethod
    def _is_in_bad_fork() -> bool:
        return False

    @staticmethod
    def manual_seed_all(seed: int) -> None:
        # Random ops on this device run on the CPU kernels with the CPU generator, which
        # torch.manual_seed has already seeded: there is no device generator to seed.
        return None

    manual_seed = manual_seed_all

    @staticmethod
    def get_amp_supported_dtype():
        import torch

        return [torch.float16, torch.bfloat16]


_STATE: dict = {}


def _use_registry_ninja() -> None:
    """Put the ``ninja`` package's binary first on PATH (cpp_extension runs ``ninja`` from PATH, and
    the venv's bin directory is not on it when the venv is not activated)."""
    try:
        import ninja
    except ImportError:
        raise RuntimeError("building the test device needs the ninja package: pip install -e '.[test]'") from None
    bin_dir = getattr(ninja, "BIN_DIR", None)
    if bin_dir and bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def build() -> tuple[Path, float, bool]:
    """(shared library, seconds spent, whether it came from the cache); compiles when needed."""
    from torch.utils import cpp_extension

    started = time.perf_counter()
    directory = cache_dir()
    library = directory / "conformance_testdevice.so"
    if library.is_file():
        return library, time.perf_counter() - started, True
    directory.mkdir(parents=True, exist_ok=True)
    _use_registry_ninja()
    cpp_extension.load(name="conformance_testdevice", sources=[str(SOURCE)], build_directory=str(directory),
                       extra_cflags=["-O2"], is_python_module=False, verbose=False)
    return library, time.perf_counter() - started, False


def activate() -> dict:
    """Build (or reuse) and load the device, and register it as ``NAME``; idempotent."""
    if _STATE:
        return _STATE
    import torch

    library, seconds, cached = build()
    if not torch.ops.loaded_libraries or str(library) not in torch.ops.loaded_libraries:
        torch.ops.load_library(str(library))
    if torch._C._get_privateuse1_backend_name() != NAME:
        torch.utils.rename_privateuse1_backend(NAME)
        torch._register_device_module(NAME, DeviceModule())
        torch.utils.generate_methods_for_privateuse1_backend(for_storage=True)
    _STATE.update(name=NAME, library=str(library), seconds=seconds, cached=cached)
    return _STATE


# --- pytest plugin: ``pytest -p tests.testdevice`` ------------------------------------------

@pytest.hookimpl(tryfirst=True)  # before the conformance plugin reads --conformance-devices
def pytest_configure(config) -> None:
    activate()


def pytest_report_header(config) -> str:
    how = "loaded from cache" if _STATE.get("cached") else "built"
    return f"testdevice: {how} in {_STATE.get('seconds', 0):.1f} s ({_STATE.get('library')}); device type {NAME!r}"
