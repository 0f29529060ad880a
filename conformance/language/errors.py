"""Errors of the spec language, and the helpers that give them a position in the snippet."""
from __future__ import annotations

import ast
from typing import Optional


def one_line(text: object) -> str:
    return " ".join(str(text).split())


class ExpressionError(Exception):
    """A spec expression was rejected (statically or at run time).

    Attributes: ``message`` (one line, tells the author what to do), ``lineno``
    (1-based line within the source text, or None) and ``col`` (0-based column
    or None).  ``str(error)`` is the message alone.
    """

    def __init__(self, message: str, lineno: Optional[int] = None, col: Optional[int] = None):
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.lineno = lineno
        self.col = col

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (type(self), (self.message, self.lineno, self.col))


class BudgetExceeded(ExpressionError):
    """A step, time, iteration or allocation budget was exceeded at run time."""


def at(node: Optional[ast.AST], message: str, cls: type = ExpressionError) -> ExpressionError:
    return cls(message, getattr(node, "lineno", None), getattr(node, "col_offset", None))


def locate(error: ExpressionError, node: ast.AST) -> None:
    """Give a location-less error (raised by a helper) the location of ``node``."""
    if error.lineno is None:
        error.lineno = getattr(node, "lineno", None)
        error.col = getattr(node, "col_offset", None)
