"""A cache of parsed spec files, shared by every process on the machine.

Note [Parse cache]
Parsing YAML with positions (ruamel.yaml's pure-Python round-trip loader) is most of what
collecting a spec costs, and every pytest-xdist worker, every mutation run and every rerun
parses the same files again. A successfully parsed file is therefore stored as JSON — the plain
data, the line of every key path, and which strings were block scalars — under a key that is
the SHA-256 of the file's text together with the ruamel.yaml version and ``FORMAT``. A hit is
read with the C JSON parser; the text itself is not kept, and a file whose text changes simply
misses. Only JSON is written or read (never pickles), and a cache entry is plain data that
still goes through validation and the expression compiler like freshly parsed text, so the
cache can make loading faster but never lets a spec skip a check. Errors are not cached.

Location: ``CONFORMANCE_CACHE_DIR``, else ``<temp dir>/autograd-conformance-cache-<uid>``;
``CONFORMANCE_CACHE_DIR=off`` disables it. Any problem with the cache (unwritable directory,
corrupt entry) falls back to parsing.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

FORMAT = "1"
ENV_VAR = "CONFORMANCE_CACHE_DIR"


def directory() -> Path | None:
    setting = os.environ.get(ENV_VAR)
    if setting is not None:
        return None if setting.strip().lower() in ("", "off", "0", "none") else Path(setting)
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"autograd-conformance-cache-{uid}"


_LOADER_DIGEST: list = []


def _loader_digest() -> str:
    """The loader's own code is part of the key: a parse made by an older loader (say, one that
    accepted an alias bomb) is never reused by a newer one."""
    if not _LOADER_DIGEST:
        here = Path(__file__).resolve().parent
        digest = hashlib.sha256()
        for name in ("loading.py", "fastyaml.py"):
            try:
                digest.update((here / name).read_bytes())
            except OSError:
                digest.update(name.encode())
        _LOADER_DIGEST.append(digest.hexdigest()[:16])
    return _LOADER_DIGEST[0]


def _key(text: str) -> str:
    import ruamel.yaml

    digest = hashlib.sha256()
    digest.update(f"{FORMAT}:{ruamel.yaml.__version__}:{_loader_digest()}:".encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def get(text: str, file: str):
    from .loading import Document

    where = directory()
    if where is None:
        return None
    try:
        raw = json.loads((where / f"{_key(text)}.json").read_text(encoding="utf-8"))
        return Document(file=file, data=raw["data"],
                        lines={tuple(path): line for path, line in raw["lines"]},
                        blocks={tuple(path) for path in raw["blocks"]})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def put(text: str, doc: Any) -> None:
    where = directory()
    if where is None:
        return
    payload = {"data": doc.data, "lines": [[list(path), line] for path, line in doc.lines.items()],
               "blocks": [list(path) for path in doc.blocks]}
    try:
        where.mkdir(parents=True, exist_ok=True)
        target = where / f"{_key(text)}.json"
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, target)  # atomic: concurrent workers never read half a file
    except (OSError, TypeError, ValueError):
        return
