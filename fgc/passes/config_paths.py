"""Config paths: `optimizer.lr`, `trainer.args.max_steps`, `model.0`, how tools name a place in
the config graph (fgc explain, fgc diff, `--override`).

A path starts at a target (`main`) or at a named node (`@optimizer`, or its anchor
`&optimizer`), then goes down one step per dot: a keyword argument or a positional index (`0`)
of a call, a key of a mapping, an index of a list. The same node reached along two paths (an
alias) is one place: changing it through either path changes both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ..diagnostics import Span, did_you_mean
from ..graph import Graph, Kind, Node, Value, walk_nodes

# What holds a value: the graph (a target), a node (an argument), a plain dict or list.
Holder = Union[Graph, Node, dict, list]
Step = Union[str, int]


class PathError(Exception):
    """A path that does not name a place in the graph: the message names the path and the
    nearest existing keys."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_path(text: str) -> tuple[str, ...]:
    """`trainer.args.max_steps` -> ("trainer", "args", "max_steps"); PathError when malformed."""
    parts = tuple(text.split("."))
    if not text or any(not p for p in parts):
        raise PathError(f"`{text}` is not a config path (KEY.KEY..., e.g. `optimizer.lr`)")
    return parts


@dataclass
class Slot:
    """One place that holds a value: `holder[step]`. `exists` is False for a keyword argument
    that a call does not have yet (an override may add one)."""

    graph: Graph
    holder: Holder
    step: Step
    path: tuple[str, ...]
    exists: bool = True

    def get(self) -> Value:
        h, s = self.holder, self.step
        if isinstance(h, Graph):
            return h.values[str(s)]
        if isinstance(h, Node):
            return h.args[s] if isinstance(s, int) else h.kwargs[s]
        if isinstance(h, list):
            assert isinstance(s, int)
            return h[s]
        return h[s]

    @property
    def key_span(self) -> Span | None:
        """Where the key (or the item) that set this place was written."""
        h, s = self.holder, self.step
        if not self.exists:
            return None
        if isinstance(h, Graph):
            return h.target_spans.get(str(s))
        if isinstance(h, Node):
            return h.arg_spans[s] if isinstance(s, int) and s < len(h.arg_spans) else h.kwarg_spans.get(str(s))
        return self.graph.container_spans.get(id(h), {}).get(s)

    @property
    def value_span(self) -> Span | None:
        """Where the value was written (a type mismatch is reported there)."""
        h = self.holder
        if isinstance(h, Node):
            return h.value_spans.get(self.step) or self.key_span
        return self.key_span

    def set(self, value: Value, key_span: Span, value_span: Span) -> None:
        h, s = self.holder, self.step
        if isinstance(h, Graph):
            h.values[str(s)] = value
            h.target_spans[str(s)] = key_span
        elif isinstance(h, Node):
            if isinstance(s, int):
                h.args[s] = value
                h.arg_spans[s] = key_span
            else:
                _set_kwarg(h, s, value)
                h.kwarg_spans[s] = key_span
            h.value_spans[s] = value_span
        else:
            if isinstance(h, list):
                assert isinstance(s, int)
                h[s] = value
            else:
                h[s] = value
            self.graph.container_spans.setdefault(id(h), {})[s] = key_span
        self.exists = True


def _set_kwarg(node: Node, name: str, value: Value) -> None:
    """A new keyword goes before the reserved ones, which stay last (graph.RESERVED_KWARGS)."""
    from ..graph import RESERVED_KWARGS

    if name in node.kwargs or name in RESERVED_KWARGS:
        node.kwargs[name] = value
        return
    reserved = {k: v for k, v in node.kwargs.items() if k in RESERVED_KWARGS}
    for k in reserved:
        del node.kwargs[k]
    node.kwargs[name] = value
    node.kwargs.update(reserved)


def named_nodes(graph: Graph) -> dict[str, Node]:
    """Nodes by `@name`, then by anchor where no name takes it."""
    by_name: dict[str, Node] = {}
    by_anchor: dict[str, Node] = {}
    for target in graph.targets:
        for node in walk_nodes(graph.values[target]):
            if node.name:
                by_name.setdefault(node.name, node)
            if node.anchor:
                by_anchor.setdefault(node.anchor, node)
    return {**by_anchor, **by_name}


def roots(graph: Graph) -> list[str]:
    """The names a path may start with: targets, then node names."""
    return list(dict.fromkeys([*graph.targets, *named_nodes(graph)]))


def children(value: Value) -> list[str]:
    """The steps below a value, as a path writes them."""
    if isinstance(value, Node):
        if value.kind == Kind.VAR:
            return []
        return [str(i) for i in range(len(value.args))] + list(value.kwargs)
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        return [str(i) for i in range(len(value))]
    return []


@dataclass
class Located:
    """The result of following a path: the value there, and its slot (None for a named node
    given by its name alone: it lives wherever it is used)."""

    path: tuple[str, ...]
    value: Value
    slot: Slot | None


def locate(graph: Graph, path: tuple[str, ...], allow_new_kwarg: bool = False) -> Located:
    """Follow `path` in `graph`; PathError naming the nearest keys when it leads nowhere.
    `allow_new_kwarg`: the last step may name a keyword a call does not have yet."""
    first = path[0]
    value: Value
    slot: Slot | None = None
    if first in graph.values:
        slot = Slot(graph, graph, first, path[:1])
        value = slot.get()
    else:
        nodes = named_nodes(graph)
        if first not in nodes:
            raise PathError(
                f"`{'.'.join(path)}`: no target or named node `{first}`",
                did_you_mean(first, roots(graph)) or f"the targets: {_listing(graph.targets)}",
            )
        value = nodes[first]
    for depth, step in enumerate(path[1:], start=1):
        here = path[:depth]
        last = depth == len(path) - 1
        slot = _step(graph, value, step, path[: depth + 1], here, last and allow_new_kwarg)
        value = slot.get() if slot.exists else None
    return Located(path, value, slot)


def _step(graph: Graph, value: Value, step: str, path: tuple[str, ...], here: tuple[str, ...], new_ok: bool) -> Slot:
    where = ".".join(here)
    if isinstance(value, Node) and value.kind != Kind.VAR:
        if step in value.kwargs:
            return Slot(graph, value, step, path)
        if step.isdigit() and int(step) < len(value.args):
            return Slot(graph, value, int(step), path)
        if new_ok and value.is_callable and step.isidentifier():
            return Slot(graph, value, step, path, exists=False)
    elif isinstance(value, dict) and step in value:
        return Slot(graph, value, step, path)
    elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
        return Slot(graph, value, int(step), path)
    keys = children(value)
    what = _what(value)
    if not keys:
        raise PathError(f"`{'.'.join(path)}`: `{where}` is {what}, with nothing below it")
    return_hint = did_you_mean(step, keys)
    raise PathError(
        f"`{'.'.join(path)}`: `{where}` ({what}) has no `{step}`",
        return_hint or f"`{where}` has: {_listing(keys)}",
    )


def _what(value: Value) -> str:
    if isinstance(value, Node):
        return f"`{value.describe()}`"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the value {value!r}"


def _listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") if names else "(none)"
