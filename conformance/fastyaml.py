"""A fast first parse of a spec file with libyaml (PyYAML's C parser), giving the same Document.

Note [Fast YAML path]
ruamel.yaml's round-trip loader is pure Python and most of what a first collection costs. libyaml
parses the same text about ten times faster and keeps every node's position, so ``parse`` composes
the node tree with PyYAML's C loader and converts it to the Document ``loading`` would produce:
plain data, the line of every key path, which strings were block scalars. It never constructs
objects from tags, and it resolves plain scalars itself with YAML 1.2 core rules (what
ruamel.yaml applies), not PyYAML's YAML 1.1 ones.

It only handles what it is sure about. For anything else it returns None and ``loading`` parses
the text with ruamel.yaml as before, so every error message (positions, duplicate keys, bad tags,
alias limits) and every unusual value comes from one place: text with an explicit tag (``!``),
a merge key, more nodes than the limit once aliases are expanded, a duplicate or non-scalar key, a plain scalar that looks like a
number but is not a plain decimal int or float (``0x10``, ``1_000``, ``.inf``, ``1:20``, dates),
deep flow nesting, any libyaml error, or PyYAML not being installed. A test parses every shipped
spec, the malformed corpus and generated files both ways and compares the Documents.
"""
from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(0|[1-9][0-9]*)(\.[0-9]+([eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)")
# could be a number or a timestamp to ruamel.yaml (0x1F, 0o17, 1_000, .5, .inf, 1:20, 2001-12-14 21:59:43.10Z)
_NUMBERISH = re.compile(r"[-+]?0[bBoOxX][0-9a-fA-F_]*|[-+]?[0-9][0-9_.:]*([eE][-+]?[0-9_]+)?"
                        r"|[-+]?\.[0-9_]+([eE][-+]?[0-9_]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
                        r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt \t].*)?")
_TRUE, _FALSE, _NULL = ("true", "True", "TRUE"), ("false", "False", "FALSE"), ("null", "Null", "NULL", "~", "")
_TAG = re.compile(r"!(?!=)")
MAX_FLOW = 2000  # brackets; libyaml's composer recurses in C, so very deep flow nesting goes to ruamel


class _Unsure(Exception):
    """This text goes to ruamel.yaml."""


def parse(text: str, file: str, max_nodes: int, max_depth: int):
    """A ``loading.Document`` for ``text``, or None when ruamel.yaml must decide."""
    try:
        import yaml
        loader = yaml.CSafeLoader
    except (ImportError, AttributeError):
        return None
    if _TAG.search(text) or text.count("[") + text.count("{") > MAX_FLOW:
        return None
    try:
        node = yaml.compose(text, Loader=loader)
    except Exception:  # any YAML error: ruamel.yaml reports it the usual way
        return None
    if node is None:
        return None
    from .loading import Document

    doc = Document(file=file, data=None)
    counter = [0]
    try:
        doc.data = _convert(node, (), doc, counter, 0, max_nodes, max_depth)
    except (_Unsure, RecursionError):
        return None
    from .loading import MAX_EXPANDED_BYTES

    if sum(counter[1:]) > MAX_EXPANDED_BYTES:
        return None
    doc.lines.setdefault((), 1)
    return doc


def _convert(node: Any, path: tuple, doc: Any, counter: list, depth: int, max_nodes: int, max_depth: int) -> Any:
    import yaml

    counter[0] += 1
    if counter[0] > max_nodes or depth > max_depth:
        raise _Unsure
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise _Unsure
            key = _scalar(key_node)
            if isinstance(key, bool) or key is None or not isinstance(key, (str, int, float)):
                raise _Unsure
            skey = str(key)
            if skey in out:
                raise _Unsure  # duplicate key: ruamel.yaml words the error
            child = path + (skey,)
            doc.lines[child] = key_node.start_mark.line + 1
            if isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">"):
                doc.blocks.add(child)
            out[skey] = _convert(value_node, child, doc, counter, depth + 1, max_nodes, max_depth)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, value_node in enumerate(node.value):
            child = path + (index,)
            doc.lines[child] = value_node.start_mark.line + 1
            if isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">"):
                doc.blocks.add(child)
            items.append(_convert(value_node, child, doc, counter, depth + 1, max_nodes, max_depth))
        return items
    # text expanded through aliases counts every time it is reached: over the bound, ruamel's
    # path (loading.check_expansion) refuses the file with its message
    from .loading import MAX_EXPANDED_BYTES

    counter.append(len(node.value))
    if len(counter) % 256 == 0 and sum(counter[1:]) > MAX_EXPANDED_BYTES or len(node.value) > MAX_EXPANDED_BYTES:
        raise _Unsure
    return _scalar(node)


def _scalar(node: Any) -> Any:
    value = node.value
    if node.style:  # quoted or block: always a string (explicit tags never reach here)
        return value
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value in _NULL:
        return None
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    if _NUMBERISH.fullmatch(value):
        raise _Unsure  # 0x10, 010, 1_000, .5, .inf, 1:20, 2001-12-14, ...
    return value
