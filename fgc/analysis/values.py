"""Values as short text: a graph value (`fgc explain`, `fgc diff`) or a config AST node (hover)."""

from __future__ import annotations

import json

from ..graph import MISSING, Kind, Node, Value
from ..syntax import config_ast as ca


def show_value(value: Value, depth: int = 0) -> str:
    """A short YAML-like rendering of a graph value (nodes by their tag)."""
    if isinstance(value, Node):
        if value.kind == Kind.VAR:
            default = "" if value.default is MISSING else f", default: {show_value(value.default, depth + 1)}"
            return f"!var {{ name: {value.var}{default} }}"
        return value.describe()
    if isinstance(value, list):
        if depth > 1 and value:
            return f"[{len(value)} items]"
        return "[" + ", ".join(show_value(v, depth + 1) for v in value) + "]"
    if isinstance(value, dict):
        if depth > 1 and value:
            return "{" + ", ".join(value) + "}"
        return "{" + ", ".join(f"{k}: {show_value(v, depth + 1)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def key_text(entry: ca.Entry) -> str | None:
    return str(entry.key.value) if isinstance(entry.key, ca.Scalar) else None


def describe_node(node: ca.ConfigAstNode) -> str:
    """A short YAML rendering of a config AST value, as written."""
    if isinstance(node, ca.Scalar):
        return node.raw if node.raw else repr(node.value)
    if isinstance(node, ca.Tagged):
        body = describe_node(node.body) if not (isinstance(node.body, ca.Scalar) and node.body.raw == "") else ""
        return f"{node.tag.raw} {body}".strip()
    if isinstance(node, ca.Mapping):
        keys = [k for e in node.entries if (k := key_text(e)) is not None]
        return "{" + ", ".join(keys[:6]) + (", ..." if len(keys) > 6 else "") + "}"
    if isinstance(node, ca.Sequence):
        return f"[{len(node.items)} items]"
    if isinstance(node, ca.Anchor):
        return f"&{node.name} {describe_node(node.node)}"
    if isinstance(node, ca.Alias):
        return f"*{node.name}"
    return "?"
