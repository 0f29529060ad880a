"""Errors a spec author or a suite user can act on.

Note [One message per problem]
A malformed spec produces exactly one ``SpecError`` per problem, rendered on one line as
``FILE:LINE: KEY: MESSAGE``. The loader, the schema and the compiler all raise this one type,
so the pytest layer has a single thing to show and the rest of the suite keeps running.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SpecError(Exception):
    """A problem in a spec file, located by file, 1-based line and key path."""

    file: str
    line: int | None
    key: str
    message: str

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"

    def __str__(self) -> str:  # dataclass would otherwise print its fields
        return self.render()


class SpecErrors(Exception):
    """Several problems found in one file (each a SpecError), reported together."""

    def __init__(self, errors: list[SpecError]):
        self.errors = sorted(errors, key=lambda e: (e.line or 0, e.key))
        super().__init__("\n".join(e.render() for e in self.errors))
