"""Step 1 of a spec's journey: read a YAML file into plain data plus the position of every node.

Note [Positions]
ruamel.yaml's round-trip loader records a line and column for each mapping key, mapping value
and sequence item, and rejects duplicate keys. We convert its tree into plain Python values
(dict, list, str, int, float, bool, None) and keep, beside it, a map from each node's key path
(a tuple such as ``("claims", 0, "given", "x")``) to its 1-based line. Later stages (schema,
compiler) only ever see plain data and report problems by path; ``Document.line_of`` turns the
path back into the line a person should look at.

Limits: files over ``MAX_BYTES`` and trees over ``MAX_NODES`` (an alias bomb, say) are refused,
and tags other than YAML's own are refused, so no YAML feature can construct objects.

Note [Alias bombs]
ruamel builds an anchored node once and shares it between its aliases, so a file under 1 MB
can stand for a tree of billions of nodes, or of gigabytes of text (one long scalar aliased
100 000 times), which only the conversion to plain data would expand.  Before converting,
``check_expansion`` computes the expanded node count and text size of the shared tree by
dynamic programming over object identity (each distinct node is visited once) and refuses the
file when either is over ``MAX_NODES`` / ``MAX_EXPANDED_BYTES``: nothing is expanded first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from . import fastyaml, parse_cache
from .errors import SpecError

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 40
MAX_EXPANDED_BYTES = 8_000_000

Path_ = tuple  # a key path: str keys and int indices

# The only explicit tags a spec may carry: YAML's own core types (``!!python/...`` shares their prefix).
CORE_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map"))


@dataclass
class Document:
    """A parsed spec file: plain data, positions, and which strings were block scalars."""

    file: str
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)
    blocks: set[tuple] = field(default_factory=set)

    def line_of(self, path: tuple) -> int | None:
        """The line of the deepest node on ``path`` that has a recorded position."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def content_line(self, path: tuple) -> int | None:
        """Line of the first character of a string's content (the line after ``|`` for blocks)."""
        line = self.line_of(path)
        if line is not None and tuple(path) in self.blocks:
            return line + 1
        return line

    def error(self, path: tuple, message: str) -> SpecError:
        return SpecError(self.file, self.line_of(path), render_path(path), message)


_PLAIN_KEY = re.compile(r"[^\s.\[\]'\"]+")


def render_path(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(str(part)):
            out += ("." if out else "") + str(part)
        else:  # an empty key, or one with spaces, dots or line breaks: quoted, so the message stays one line
            out += f"[{str(part)!r}]"
    return out


def load_text(text: str, file: str) -> Document:
    """Parse ``text`` (the contents of ``file``) into a Document, or raise SpecError."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise SpecError(file, None, "", f"file is larger than {MAX_BYTES} bytes; split it into several spec files")
    cached = parse_cache.get(text, file)
    if cached is not None:
        return cached
    doc = fastyaml.parse(text, file, MAX_NODES, MAX_DEPTH) or _parse(text, file)  # Note [Fast YAML path]
    parse_cache.put(text, doc)
    return doc


def _parse(text: str, file: str) -> Document:
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in problem:
            problem = problem.split(" with value")[0] + "; each key may appear once"
        raise SpecError(file, line, "", f"invalid YAML: {problem}") from None
    except YAMLError as exc:
        raise SpecError(file, None, "", f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise SpecError(file, None, "", "invalid YAML: nesting is too deep") from None
    except Exception as exc:  # ruamel's constructor can fail outside its error types, e.g. a mapping as a key
        raise SpecError(file, None, "", f"invalid YAML: {type(exc).__name__}: {' '.join(str(exc).split())}") from None
    doc = Document(file=file, data=None)
    if tree is None:
        raise SpecError(file, 1, "", "the file is empty; a spec file needs 'topic:' and 'claims:'")
    check_expansion(tree, file)
    counter = [0]
    doc.data = _plain(tree, (), doc, counter, 0)
    doc.lines.setdefault((), 1)
    return doc


def check_expansion(tree: Any, file: str) -> None:
    """Refuse a tree whose aliases expand past MAX_NODES nodes or MAX_EXPANDED_BYTES of text."""
    memo: dict[int, tuple[int, int]] = {}
    keep: list = []  # memo keys are ids: keep the objects alive while they are in use

    def size(node: Any, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in memo:
            return memo[key]
        if depth > MAX_DEPTH + 2:
            return (1, 0)  # _plain refuses the depth itself, with the path
        nodes, text = 1, 0
        if isinstance(node, dict):
            children = [item for pair in node.items() for item in pair]
        elif isinstance(node, list):
            children = list(node)
        else:
            children = []
            text = len(str(node)) if isinstance(node, str) else 8
        for child in children:
            n, t = size(child, depth + 1)
            nodes, text = nodes + n, text + t
            if nodes > MAX_NODES or text > MAX_EXPANDED_BYTES:
                break
        memo[key] = (nodes, text)
        keep.append(node)
        return nodes, text

    nodes, text = size(tree, 0)
    if nodes > MAX_NODES:
        raise SpecError(file, None, "", f"the document has more than {MAX_NODES} nodes once aliases are expanded; "
                                        "split it into several spec files, or use fewer aliases")
    if text > MAX_EXPANDED_BYTES:
        raise SpecError(file, None, "", f"the document holds more than {MAX_EXPANDED_BYTES} bytes of text once "
                                        "aliases are expanded; use fewer aliases")


def load_file(path: Path, display: str | None = None) -> Document:
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(shown, None, "", f"cannot read the file: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise SpecError(shown, None, "", f"file is larger than {MAX_BYTES} bytes; split it into several spec files")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError(shown, line, "", f"the file is not UTF-8 text (byte {exc.start})") from None
    return load_text(text, shown)


def _plain(node: Any, path: tuple, doc: Document, counter: list, depth: int) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise SpecError(doc.file, doc.line_of(path), render_path(path),
                        f"the document has more than {MAX_NODES} nodes once aliases are expanded; "
                        f"split it into several spec files, or use fewer aliases")
    if depth > MAX_DEPTH:
        raise SpecError(doc.file, doc.line_of(path), render_path(path), f"nesting deeper than {MAX_DEPTH} levels")
    tag = getattr(node, "tag", None)
    tag_value = getattr(tag, "value", None) if tag is not None else None
    if tag_value and str(tag_value) not in CORE_TAGS:  # e.g. !!python/object/apply:... (tag:yaml.org,2002:python/...)
        shown = str(tag_value).replace("tag:yaml.org,2002:", "!!", 1)
        raise SpecError(doc.file, doc.line_of(path), render_path(path), f"YAML tag {shown} is not allowed in specs")
    if isinstance(node, CommentedMap):
        out = {}
        for key in node:
            if not isinstance(key, (str, int, float, bool)) or isinstance(key, bool):
                try:  # point at the key itself (`? {a: 1}`), not at the mapping holding it
                    line = node.lc.key(key)[0] + 1
                except Exception:
                    line = doc.line_of(path)
                raise SpecError(doc.file, line, render_path(path), "mapping keys must be plain strings")
            skey = str(key)
            child = path + (skey,)
            try:
                line, _ = node.lc.key(key)
                doc.lines[child] = line + 1
            except (KeyError, TypeError, AttributeError):
                pass
            value = node[key]
            if isinstance(value, (LiteralScalarString, FoldedScalarString)):
                doc.blocks.add(child)
            out[skey] = _plain(value, child, doc, counter, depth + 1)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for index, value in enumerate(node):
            child = path + (index,)
            try:
                line, _ = node.lc.item(index)
                doc.lines[child] = line + 1
            except (KeyError, TypeError, AttributeError, IndexError):
                pass
            if isinstance(value, (LiteralScalarString, FoldedScalarString)):
                doc.blocks.add(child)
            out_list.append(_plain(value, child, doc, counter, depth + 1))
        return out_list
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, TaggedScalar) and tag_value == "tag:yaml.org,2002:str":  # `!!str 1`
        return str(node.value)
    raise SpecError(doc.file, doc.line_of(path), render_path(path),
                    f"unsupported YAML value of type {type(node).__name__}; use strings, numbers, lists and mappings")
