"""Which expectation applies: torch version ranges written as PEP 440 specifiers.

Note [Versioned expectations]
A step or an expectation may carry ``torch: ">=2.0"``. The compiler keeps the entries whose
range contains the installed torch and drops the others, recording a label for each kept
ranged entry so results say which expectation applied. Nothing is skipped: an entry that does
not apply is replaced by its sibling for the other range, which the author writes beside it.
Local build tags (``+cpu``, ``+cu121``) and dev/pre-release suffixes are ignored, so a nightly
``2.14.0.dev20260101`` is judged as 2.14.0.
"""
from __future__ import annotations

from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version


@lru_cache(maxsize=None)
def parse_specifier(text: str) -> SpecifierSet:
    """Parse a version range, raising ValueError with an author-facing message."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("torch version range is empty; write e.g. '>=2.0' or '>=1.13,<2.0'")
    try:
        spec = SpecifierSet(text)
    except InvalidSpecifier:
        raise ValueError(
            f"invalid torch version range {text!r}; write PEP 440 specifiers such as '>=2.0' or '>=1.13,<2.0'"
        ) from None
    if not len(spec):
        raise ValueError(f"invalid torch version range {text!r}")
    return spec


def base_version(text: str) -> Version:
    try:
        return Version(Version(text).base_version)
    except InvalidVersion:
        raise ValueError(f"cannot read torch version {text!r}") from None


def installed_torch_version() -> Version:
    import torch

    return base_version(torch.__version__)


def applies(spec_text: str | None, version: Version) -> bool:
    if spec_text is None:
        return True
    return parse_specifier(spec_text).contains(version, prereleases=True)
