"""Steps 1-3 in one call: a spec file path in, compiled claims (or located errors) out.

Note [Caching]
Loading, validating and compiling a file is done once per process and cached by the file's
path, size and modification time, so collecting the same specs again in one process (benchmark
loops, the report command) costs a dictionary lookup. Separate processes (pytest-xdist workers,
mutation runs, reruns) share the YAML parse through the on-disk cache of Note [Parse cache];
each still validates and compiles for itself.
"""
from __future__ import annotations

import os
from pathlib import Path

from packaging.version import Version

from . import loading, schema
from .compiling import CompiledClaim, compile_file

_cache: dict[tuple, list[CompiledClaim]] = {}


def load_claims(path: Path, shown: str, version: Version, seeds_dir: Path | None) -> list[CompiledClaim]:
    """Compiled claims of one spec file; raises SpecError or SpecErrors."""
    try:
        stat = os.stat(path)
        key = (str(path), stat.st_size, stat.st_mtime_ns, shown, str(version), str(seeds_dir))
    except OSError:
        key = None
    if key is not None and key in _cache:
        return _cache[key]
    doc = loading.load_file(path, shown)
    spec = schema.validate(doc)
    claims = compile_file(doc, spec, version, seeds_dir)
    if key is not None:
        _cache[key] = claims
    return claims


def clear_cache() -> None:
    _cache.clear()
