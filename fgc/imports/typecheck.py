"""Values of the config checked against type descriptors (`annotations.py`): which parameter
each argument of a node reaches, whether its literal value fits, and the FG0620 message.

A YAML sequence, `!list`, `!tuple` and `!dlist` are all sequences (a YAML list given to a
`tuple[float, float]` works in practice); an int is a float; a bool is neither an int nor a
float (YAML's `true` for a count is a mistake). A value whose type fgc cannot know (a
`!singleton`, `!partial`, ...) passes; a `!var` is checked through its default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic, Span, error
from ..graph import MISSING, SEQUENCE_KINDS, Graph, Kind, Node
from .annotations import SEQUENCE_HEADS, Descriptor, type_text


def describe_value(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"the boolean {'true' if v else 'false'}"
    if isinstance(v, int):
        return f"the integer {v}"
    if isinstance(v, float):
        return f"the float {v!r}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, list) or (isinstance(v, Node) and v.kind in SEQUENCE_KINDS):
        n = len(v) if isinstance(v, list) else len(v.args)
        return f"a sequence of {n} item{'s' if n != 1 else ''}"
    return "a mapping"


@dataclass(frozen=True)
class Mismatch:
    """Where a value does not fit the type a parameter declares."""
    expected: Descriptor  # what the innermost failing position wanted
    value: Any  # what it got
    where: str  # "" at the top, else e.g. "item 2" / "key `a`" / "the default of variable `x`"
    span: Span | None  # the failing value's position when known


class Checker:
    """Checks values of one graph (variables' defaults are looked up in it)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.container_spans = graph.container_spans

    def check(self, d: Descriptor, value: Any, span: Span | None, where: str = "") -> Mismatch | None:
        if d is None:
            return None
        if isinstance(d, list) and d[0] == "union":
            results = [self.check(m, value, span, where) for m in d[1:]]
            failed = [r for r in results if r is not None]
            if len(failed) < len(results):  # one member of the union accepts it
                return None
            deepest = max(failed, key=lambda r: len(r.where))
            if all(r.where == deepest.where for r in failed):
                return Mismatch(d, deepest.value, deepest.where, deepest.span)
            return deepest
        if isinstance(value, Node):
            return self._node(d, value, span, where)
        if isinstance(d, str):
            return None if _scalar_ok(d, value) else Mismatch(d, value, where, span)
        head, rest = d[0], d[1:]
        if head == "literal":
            ok = any(type(value) is type(v) and value == v for v in rest)
            return None if ok else Mismatch(d, value, where, span)
        if head in SEQUENCE_HEADS or head == "tuple_of":
            if isinstance(value, str) and head == "sequence" and self.check(rest[0], "a", None) is None:
                return None  # a str is a Sequence[str]
            if not isinstance(value, list):
                return Mismatch(d, value, where, span)
            spans = self.container_spans.get(id(value), {})
            return self._items(d, value, [spans.get(i, span) for i in range(len(value))], span, where)
        if head == "mapping":
            if not isinstance(value, dict):
                return Mismatch(d, value, where, span)
            spans = self.container_spans.get(id(value), {})
            return self._entries(d, value, {k: spans.get(k, span) for k in value}, where)
        return None

    def _items(self, d: Descriptor, items: list, spans: list, span: Span | None, where: str) -> Mismatch | None:
        head, rest = d[0], d[1:]
        if head == "tuple_of":
            if len(items) != len(rest):
                return Mismatch(d, items, where, span)
            kinds = rest
        else:
            kinds = [rest[0]] * len(items)
        for i, (k, v, s) in enumerate(zip(kinds, items, spans)):
            m = self.check(k, v, s, _join(where, f"item {i}"))
            if m is not None:
                return m
        return None

    def _entries(self, d: Descriptor, entries: dict, spans: dict, where: str) -> Mismatch | None:
        _, key_type, value_type = d
        for k, v in entries.items():
            if self.check(key_type, k, spans.get(k)) is not None:
                return Mismatch(key_type, k, _join(where, f"key {k!r}"), spans.get(k))
            m = self.check(value_type, v, spans.get(k), _join(where, f"key {k!r}"))
            if m is not None:
                return m
        return None

    def _node(self, d: Descriptor, node: Node, span: Span | None, where: str) -> Mismatch | None:
        if node.kind == Kind.VAR:
            default = node.default
            default_span = node.default_span
            if default is MISSING:
                var = self.graph.variables.get(node.var or "")
                default = var.default if var is not None else MISSING
                default_span = (
                    next((n.default_span for n in var.nodes if n.default_span), None) if var else None
                )
            if default is MISSING:
                return None
            return self.check(
                d, default, default_span or span, _join(where, f"the default of variable `{node.var}`")
            )
        if node.kind in SEQUENCE_KINDS:
            if isinstance(d, list) and (d[0] in SEQUENCE_HEADS or d[0] == "tuple_of"):
                spans = [node.value_spans.get(i, span) for i in range(len(node.args))]
                return self._items(d, node.args, spans, span, where)
            return Mismatch(d, node, where, span)
        if node.kind == Kind.DICT:
            if isinstance(d, list) and d[0] == "mapping":
                return self._entries(
                    d, node.kwargs, {k: node.value_spans.get(k, span) for k in node.kwargs}, where
                )
            return Mismatch(d, node, where, span)
        return None  # a callable node: its result's type is not known here


def _join(where: str, more: str) -> str:
    return f"{where}, {more}" if where else more


def _scalar_ok(d: str, v: Any) -> bool:
    if d == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if d == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if d == "str":
        return isinstance(v, str)
    if d == "bool":
        return isinstance(v, bool)
    if d == "none":
        return v is None
    return True


def mismatch_message(m: Mismatch, param: str, what: str, route: str = "") -> str:
    """`num_layers` of `LayerStack` expects int, got the string 'two'."""
    through = f" (through {route})" if route else ""
    head = f"`{param}` of `{what}`{through} expects "
    if m.where:
        return f"{head}{type_text(m.expected)} for {m.where}, got {describe_value(m.value)}"
    return f"{head}{type_text(m.expected)}, got {describe_value(m.value)}"


def mismatch_hint(m: Mismatch) -> str | None:
    v = m.value
    if isinstance(v, str) and _accepts_number(m.expected):
        try:
            float(v)
        except ValueError:
            return None
        return "a quoted number is a string: write it without quotes"
    return None


def _accepts_number(d: Descriptor) -> bool:
    if d in ("int", "float"):
        return True
    return isinstance(d, list) and d[0] == "union" and any(_accepts_number(m) for m in d[1:])


# --------------------------------------------------------------------------------------------
# Binding: which parameter each argument of a node reaches


def check_node(
    types_: dict[str, Descriptor],
    params: list[tuple[str, str]],
    node: Node,
    what: str,
    checker: Checker,
    bindings: dict[Node, tuple[Any, Span, str]],
) -> list[Diagnostic]:
    """FG0620 for each argument of `node` whose value its parameter's annotation rejects.

    `params` are (name, kind) in signature order; `bindings` maps a `!var` to the value that
    binds it elsewhere (a dynamic_causal_lm hyper-parameter), its span and a route for messages.
    """
    if not types_:
        return []
    positional = [n for n, k in params if k in ("positional_only", "positional_or_keyword")]
    var_pos = next((n for n, k in params if k == "var_positional"), None)
    var_kw = next((n for n, k in params if k == "var_keyword"), None)
    by_name = {n for n, k in params if k in ("positional_or_keyword", "keyword_only")}
    # (parameter, label for messages, value, span)
    pairs: list[tuple[str, str, Any, Span]] = []
    for i, value in enumerate(node.args):
        name = positional[i] if i < len(positional) else var_pos
        if name is not None:
            label = name if i < len(positional) else f"*{name}"
            pairs.append((name, label, value, node.value_spans.get(i) or _at(node.arg_spans, i, node.span)))
    for key, value in node.call_kwargs.items():
        name = key if key in by_name else var_kw
        if name is not None:  # a **kwargs value is named by its key, as the user wrote it
            pairs.append(
                (name, key, value, node.value_spans.get(key) or node.kwarg_spans.get(key, node.span))
            )
    diags = []
    for name, label, value, span in pairs:
        d = types_.get(name)
        if d is None:
            continue
        route = ""
        if isinstance(value, Node) and value in bindings:
            value, span, route = bindings[value]
        m = checker.check(d, value, span)
        if m is None:
            continue
        diags.append(
            error("FG0620", mismatch_message(m, label, what, route), m.span or span, hint=mismatch_hint(m))
        )
    return diags


def _at(spans: list[Span], i: int, default: Span) -> Span:
    return spans[i] if i < len(spans) else default
