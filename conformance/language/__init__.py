"""The spec language: the restricted Python that spec files are written in.

Note [The spec language package]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
One job per module:

  table          the allowlist, as data (Note [The allowlist table])
  allowlist      the table resolved against torch/NumPy; attribute, call and assignment checks
                 (Note [Positive allowlist])
  limits         limits and cost estimates (Note [Limits])
  runtime        frames, step budgets, deadlines, checked operators (Note [Budgets and deadlines])
  builtins_safe  the predefined names and wrapped builtins (Note [Predefined names])
  compiler       parsing-time checks and expression closures (Note [Restricted expressions])
  statements     statements and the public compile functions (Note [Statement blocks])
  patterns       ``match:`` patterns limited to a linear-time subset (Note [Safe patterns])
  docs           generates docs/spec-language.md from the table
"""
from __future__ import annotations

from .builtins_safe import GLOBAL_NAMES
from .errors import BudgetExceeded, ExpressionError
from .limits import DEFAULT_BUDGET, MAX_ELEMENTS, MAX_INT_BITS, MAX_RANGE, MAX_SEQUENCE, MAX_SOURCE_CHARS
from .runtime import item_deadline
from .statements import Compiled, CompiledBlock, compile_block, compile_expression

__all__ = [
    "BudgetExceeded",
    "Compiled",
    "CompiledBlock",
    "ExpressionError",
    "GLOBAL_NAMES",
    "compile_block",
    "compile_expression",
    "item_deadline",
    "DEFAULT_BUDGET",
    "MAX_ELEMENTS",
    "MAX_INT_BITS",
    "MAX_RANGE",
    "MAX_SEQUENCE",
    "MAX_SOURCE_CHARS",
]
