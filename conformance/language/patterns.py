"""``match:`` patterns restricted to a subset that Python's backtracking engine runs fast.

Note [Safe patterns]
~~~~~~~~~~~~~~~~~~~~
A ``match:`` pattern is searched in an exception or warning message with ``re.search``, a
backtracking engine: ``(a+)+$`` or ``(a|aa)*b`` takes exponential time on a short message.
Rather than ship a second regex engine, patterns are parsed (``re``'s own parser, which runs
nothing) and refused at compile time unless they stay in a subset whose matching time is a
low-degree polynomial in the message length:

  * no backreferences (``\\1``, ``(?P=name)``), conditionals or lookaround assertions;
  * a repeated item (``*``, ``+``, ``{m,n}``) is a single character or character class, or a
    group of such things with no repeat and no alternation inside: nothing nested;
  * at most MAX_UNBOUNDED unbounded repeats in all, and at most MAX_PATTERN characters.

With no nesting, a search tries each start position and each repeat's few split points, so
``a.*b.*c`` on an n-character message is O(n^3) in the worst case and messages are short.
"""
from __future__ import annotations

import re

try:  # Python 3.11+
    import re._parser as _parser  # type: ignore[import-not-found]
    from re import _constants as _c  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

MAX_PATTERN = 2000
MAX_UNBOUNDED = 3

_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT} | ({_c.POSSESSIVE_REPEAT} if hasattr(_c, "POSSESSIVE_REPEAT") else set())
_REFUSED = {
    _c.GROUPREF: "backreferences", _c.GROUPREF_EXISTS: "conditional groups",
    _c.ASSERT: "lookahead/lookbehind assertions", _c.ASSERT_NOT: "lookahead/lookbehind assertions",
}


class UnsafePattern(ValueError):
    """The pattern is outside the linear-ish subset (or is not a valid regex)."""


def _walk(items, inside_repeat: bool, counts: list) -> None:
    for op, arg in items:
        if op in _REFUSED:
            raise UnsafePattern(f"{_REFUSED[op]} are not allowed in match: patterns")
        if op in _REPEATS:
            low, high, body = arg
            if inside_repeat:
                raise UnsafePattern("nested repeats (a repeat inside a repeated group) are not allowed in match: "
                                    "patterns; they can take exponential time")
            if high == _c.MAXREPEAT:
                counts[0] += 1
            _walk(body, True, counts)
        elif op == _c.BRANCH:
            if inside_repeat:
                raise UnsafePattern("alternation inside a repeated group is not allowed in match: patterns")
            for branch in arg[1]:
                _walk(branch, inside_repeat, counts)
        elif op == _c.SUBPATTERN:
            _walk(arg[-1], inside_repeat, counts)
        elif op == getattr(_c, "ATOMIC_GROUP", None):
            _walk(arg, inside_repeat, counts)


def check_pattern(pattern: object) -> str:
    """Return ``pattern`` if it is a string in the safe subset; raise UnsafePattern otherwise."""
    if not isinstance(pattern, str):
        raise UnsafePattern("a match: pattern must be a string")
    if len(pattern) > MAX_PATTERN:
        raise UnsafePattern(f"a match: pattern may have at most {MAX_PATTERN} characters")
    try:
        parsed = _parser.parse(pattern)
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise UnsafePattern(f"invalid regular expression: {exc}") from None
    counts = [0]
    _walk(list(parsed), False, counts)
    if counts[0] > MAX_UNBOUNDED:
        raise UnsafePattern(f"a match: pattern may have at most {MAX_UNBOUNDED} unbounded repeats (*, +, {{m,}})")
    return pattern
