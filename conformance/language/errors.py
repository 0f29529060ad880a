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


# Readable names for constructs that are refused.
REFUSED = {
    "JoinedStr": "f-strings are not allowed in specs; use str() and +",
    "FormattedValue": "f-strings are not allowed in specs; use str() and +",
    "NamedExpr": "assignment expressions (:=) are not allowed in specs; use a separate assignment",
    "Await": "'await' is not allowed in specs",
    "Yield": "'yield' is not allowed in specs",
    "YieldFrom": "'yield from' is not allowed in specs",
    "Import": "import statements are not allowed in specs; use the predefined names torch, nn, F, optim, np, math",
    "ImportFrom": "import statements are not allowed in specs; use the predefined names torch, nn, F, optim, np, math",
    "FunctionDef": "function definitions (def) are not allowed in specs; use a lambda",
    "AsyncFunctionDef": "function definitions (async def) are not allowed in specs; use a lambda",
    "ClassDef": "class definitions are not allowed in specs",
    "Return": "'return' is not allowed in specs",
    "Delete": "'del' is not allowed in specs",
    "Global": "'global' is not allowed in specs",
    "Nonlocal": "'nonlocal' is not allowed in specs",
    "While": "'while' loops are not allowed in specs; use 'for ... in range(n)'",
    "Try": "'try' statements are not allowed in specs",
    "TryStar": "'try' statements are not allowed in specs",
    "Raise": "'raise' is not allowed in specs",
    "Assert": "'assert' is not allowed in specs; state the expectation as a claim",
    "AsyncFor": "'async for' is not allowed in specs",
    "AsyncWith": "'async with' is not allowed in specs",
    "Match": "'match' statements are not allowed in specs; use if/elif/else",
    "Break": "'break' is not allowed in specs",
    "Continue": "'continue' is not allowed in specs",
    "AnnAssign": "annotated assignments are not allowed in specs; drop the annotation",
    "TypeAlias": "'type' statements are not allowed in specs",
}
