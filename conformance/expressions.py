"""Compatibility shim: the spec language now lives in ``conformance.language``.

Kept so that ``from conformance import expressions`` and ``expressions.compile_block`` etc.
keep working while other modules move to the package; it re-exports the public API only.
"""
from __future__ import annotations

from .language import *  # noqa: F401,F403
from .language import __all__  # noqa: F401
