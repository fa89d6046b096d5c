"""The semantic difference of two config graphs, matched by config path (never by the names
generated code gives to nodes).

Each graph is flattened into entries by path (fgc.passes.config_paths): a call's entry is its
tag and callable (`!partial:torch.optim:AdamW`), each argument an entry below it, a plain value
its value, a `!var` the variable it reads (its default is compared once, among the variables).
A node reached along several paths (an alias) is expanded once, at its canonical path (the
target that holds it, else its `@name`, else where it is first reached); the other paths are
references to that one. Two graphs are equal when their entries and variable defaults are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..diagnostics import Span
from ..graph import MISSING, Graph, Kind, Node, Value, values_equal
from ..passes.config_paths import named_nodes
from .values import show_value


@dataclass
class Entry:
    path: str
    kind: str  # "call", "var", "ref", "list", "mapping", "value"
    text: str  # what is compared (and shown)
    span: Span | None  # where it was set
    value: Value = None  # a plain value, compared strictly (1, 1.0 and True differ)


@dataclass
class Side:
    text: str
    span: Span | None


@dataclass
class Change:
    change: str  # "changed", "added", "removed"
    what: str  # "value", "callable", "target", "argument", "variable", "reference", "type"
    path: str
    a: Side | None
    b: Side | None


def flatten(graph: Graph) -> dict[str, Entry]:
    canon: dict[Node, str] = {}
    for t in graph.targets:
        v = graph.values[t]
        if isinstance(v, Node):
            canon.setdefault(v, t)
    for name, node in named_nodes(graph).items():
        canon.setdefault(node, name)
    out: dict[str, Entry] = {}
    expanded: set[Node] = set()

    def visit(value: Value, path: str, span: Span | None) -> None:
        if isinstance(value, Node):
            if value.kind == Kind.VAR:
                var = graph.variables.get(value.var or "")
                default = f" (default {show(var.default)})" if var is not None else ""
                out[path] = Entry(path, "var", f"!var {value.var}{default}", span, value.var)
                return
            home = canon.setdefault(value, path)
            if home != path:
                out[path] = Entry(path, "ref", f"*{home}", span)
                if value not in expanded:
                    expand(value, home)
                return
            expand(value, path)
        elif isinstance(value, list):
            out[path] = Entry(path, "list", "a list", span)
            spans = graph.container_spans.get(id(value), {})
            for i, item in enumerate(value):
                visit(item, f"{path}.{i}", spans.get(i, span))
        elif isinstance(value, dict):
            out[path] = Entry(path, "mapping", "a mapping", span)
            spans = graph.container_spans.get(id(value), {})
            for k, item in value.items():
                visit(item, f"{path}.{k}", spans.get(k, span))
        else:
            out[path] = Entry(path, "value", show_value(value), span, value)

    def expand(node: Node, path: str) -> None:
        expanded.add(node)
        callable_ = f":{node.callable}" if node.callable else ""
        out[path] = Entry(path, "call", f"!{node.kind}{callable_}", node.span)
        for i, arg in enumerate(node.args):
            visit(arg, f"{path}.{i}", node.arg_spans[i] if i < len(node.arg_spans) else node.span)
        for k, arg in node.kwargs.items():
            visit(arg, f"{path}.{k}", node.kwarg_spans.get(k, node.span))

    for t in graph.targets:
        visit(graph.values[t], t, graph.target_spans.get(t))
    # Named nodes that no target reaches still belong to the config's paths.
    for node, home in list(canon.items()):
        if node not in expanded and home not in out:
            expand(node, home)
    return out


def _same(a: Entry, b: Entry) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "value":
        return values_equal(a.value, b.value)
    if a.kind == "var":  # the same variable; its defaults are compared among the variables
        return a.value == b.value
    return a.text == b.text


def _what(entry: Entry, targets: set[str]) -> str:
    if "." not in entry.path and entry.path in targets:
        return "target"
    return "argument"


def diff_graphs(a: Graph, b: Graph) -> list[Change]:
    """Every difference between `a` and `b`, in path order (see `_merged_order`), then the
    variables."""
    fa, fb = flatten(a), flatten(b)
    targets = set(a.targets) | set(b.targets)
    changes: list[Change] = []
    gone: list[str] = []  # added or removed paths: their children are not listed again

    def below_reported(path: str) -> bool:
        return any(path.startswith(p + ".") for p in gone)

    for path, ea in fa.items():
        eb = fb.get(path)
        if eb is None:
            if not below_reported(path):
                changes.append(Change("removed", _what(ea, targets), path, Side(ea.text, ea.span), None))
                gone.append(path)
            continue
        if _same(ea, eb):
            continue
        if ea.kind == eb.kind == "value":
            what = "value"
        elif ea.kind == eb.kind == "call":
            what = "callable"
        elif ea.kind == eb.kind == "ref":
            what = "reference"
        else:
            what = "value" if {ea.kind, eb.kind} <= {"value", "var"} else "type"
        changes.append(Change("changed", what, path, Side(ea.text, ea.span), Side(eb.text, eb.span)))
    for path, eb in fb.items():
        if path not in fa and not below_reported(path):
            changes.append(Change("added", _what(eb, targets), path, None, Side(eb.text, eb.span)))
            gone.append(path)
    changes.sort(key=_merged_order(list(fa), list(fb)))
    changes.extend(_variables(a, b))
    return changes


def _merged_order(order_a: list[str], order_b: list[str]) -> Callable[[Change], tuple[int, int]]:
    """Sort key: a path of A at its place in A; a path only B has after the last path of A
    below the same parent (an added argument after its siblings, an added target after A's)."""
    in_a = {p: i for i, p in enumerate(order_a)}
    key: dict[str, tuple[int, int]] = {p: (i, 0) for p, i in in_a.items()}
    for j, p in enumerate(order_b, start=1):
        if p in in_a:
            continue
        parent = p.rpartition(".")[0]
        below = [i for q, i in in_a.items() if parent and (q == parent or q.startswith(parent + "."))]
        key[p] = (max(below) if below else len(order_a), j)
    return lambda c: key.get(c.path, (len(order_a), 0))


def _default_span(graph: Graph, name: str) -> Span | None:
    for node in graph.variables[name].nodes:
        if node.default is not MISSING:
            return node.default_span or node.span
    return graph.variables[name].nodes[0].span if graph.variables[name].nodes else None


def _variables(a: Graph, b: Graph) -> list[Change]:
    """Variables used on both sides whose defaults differ (a variable that appears or goes
    away shows as the `!var` values that changed)."""
    out = []
    for name, va in a.variables.items():
        vb = b.variables.get(name)
        if vb is None or _same_default(va.default, vb.default):
            continue
        out.append(
            Change(
                "changed",
                "variable",
                name,
                Side(f"default {show(va.default)}", _default_span(a, name)),
                Side(f"default {show(vb.default)}", _default_span(b, name)),
            )
        )
    return out


def show(value: Value) -> str:
    return "(required)" if value is MISSING else show_value(value)


def _same_default(a: Value, b: Value) -> bool:
    """Defaults are plain values, compared strictly; one built by the config compares by text."""
    if isinstance(a, Node) or isinstance(b, Node):
        return show(a) == show(b)
    return values_equal(a, b)
