"""The config graph: what the semantic passes produce and codegen consumes.

A graph maps each target (a top-level key) to a VALUE: a JSON-like scalar, a list (a YAML
sequence), a dict with string keys (a plain mapping), or a `Node` (a tagged value). Nodes are
shared by identity: an alias of an anchored node is the same `Node` object, which is how the
compiler knows that a singleton is referenced twice.

`Graph.to_json()` is the `graph.json` format:

    {"fgc_graph": 1, "targets": [...], "values": {target: VALUE}, "nodes": {"n1": NODE}}

with node ids `n1, n2, ...` in first-visit order of a depth-first walk of the targets in
document order, args before kwargs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

from .diagnostics import Span

# The node kinds and the tag table: the foundation's `fgc/tags.py`, which every stage reads.
from .tags import CALLABLE_KINDS, CONTAINER_KINDS, SEQUENCE_KINDS, TAG_KINDS, Kind  # noqa: F401

# Keyword arguments that configure the node instead of reaching the callable. They stay in
# `kwargs`, after the others (docs/language.md, Arguments).
SUBMODULE_SEARCHPATH = "submodule_searchpath"
LATENT_ARGS = "latent_args"
RESERVED_KWARGS = (SUBMODULE_SEARCHPATH, LATENT_ARGS)


class _Missing:
    """The default of a variable that has none."""

    _instance: "_Missing | None" = None

    def __new__(cls) -> "_Missing":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

Value = Union[None, bool, int, float, str, list, dict, "Node"]


@dataclass(eq=False)
class Node:
    """One tagged value of the config.

    `span` is the tag's span; `arg_spans[i]` / `kwarg_spans[k]` locate each argument (the key
    that wrote it where there is one, else the value). `anchor` and `key` (the mapping key the
    node was first written under) only serve to give the node a readable name in generated code.
    """

    kind: Kind
    callable: str | None
    name: str | None
    span: Span
    args: list[Value] = field(default_factory=list)
    kwargs: dict[str, Value] = field(default_factory=dict)
    arg_spans: list[Span] = field(default_factory=list)
    kwarg_spans: dict[str, Span] = field(default_factory=dict)
    anchor: str | None = None
    key: str | None = None
    # Variables only.
    var: str | None = None
    default: Value = MISSING
    # Where each argument's value (index or keyword) and a variable's default were written: type
    # mismatches are reported at the value, not its key.
    value_spans: dict[int | str, Span] = field(default_factory=dict)
    default_span: Span | None = None

    @property
    def is_callable(self) -> bool:
        return self.kind in CALLABLE_KINDS

    @property
    def call_kwargs(self) -> dict[str, Value]:
        """The keyword arguments that reach the callable (reserved keywords left out)."""
        return {k: v for k, v in self.kwargs.items() if k not in RESERVED_KWARGS}

    @property
    def template_dir(self) -> str:
        """Directory of the template that wrote the tag (for relative import specs)."""
        import os

        return os.path.dirname(self.span.file)

    def children(self) -> Iterator[Value]:
        """Argument values in graph order: args, kwargs, then a variable's default."""
        yield from self.args
        yield from self.kwargs.values()
        if self.kind == Kind.VAR and self.default is not MISSING:
            yield self.default

    def describe(self) -> str:
        """How the node is written, e.g. `!partial:torch.optim:AdamW@opt`."""
        text = f"!{self.kind}"
        if self.callable:
            text += f":{self.callable}"
        if self.name:
            text += f"{'' if self.callable else ':'}@{self.name}"
        if self.kind == Kind.VAR:
            text += f' "{self.var}"'
        return text

    def __repr__(self) -> str:
        return f"<Node {self.describe()} at {self.span}>"


@dataclass(eq=False)
class Variable:
    """A `!var`: its name, its default (MISSING when none) and every node that uses it."""

    name: str
    default: Value = MISSING
    nodes: list[Node] = field(default_factory=list)

    @property
    def required(self) -> bool:
        return self.default is MISSING

    @property
    def uses(self) -> list[Span]:
        return [n.span for n in self.nodes]


@dataclass
class Override:
    """A mapping key written more than once: the last value wins at the first position."""

    key: str
    kept: Span  # the first entry's key (the position the key keeps)
    winner: Span  # the last entry's key (the value that wins)
    overridden: list[Span]  # every entry's key that lost, in document order


@dataclass
class UnusedEntry:
    """A top-level `.name:` entry that nothing uses (FG0540): import resolution checks its value,
    nothing builds it."""

    key: str
    span: Span  # its key
    value: Value


@dataclass
class Graph:
    """A config's targets, values and variables after the semantic passes."""
    targets: list[str] = field(default_factory=list)
    values: dict[str, Value] = field(default_factory=dict)
    target_spans: dict[str, Span] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    # id(plain list or dict in the graph) -> its items' spans (index or key -> Span)
    container_spans: dict[int, dict] = field(default_factory=dict, repr=False)
    unused: list[UnusedEntry] = field(default_factory=list)

    def nodes(self) -> list[Node]:
        """Every node reachable from the targets, in id order (see `node_ids`)."""
        return list(self.node_ids())

    def checked_nodes(self) -> list[Node]:
        """The nodes import resolution checks: those of the targets, then those that only the
        unused `.name:` entries reach."""
        ids = self.node_ids()
        for entry in self.unused:
            for _ in walk_nodes(entry.value, ids):
                pass
        return list(ids)

    def node_ids(self) -> dict[Node, str]:
        """Node -> "nK", numbered by first visit of a depth-first walk of the targets."""
        ids: dict[Node, str] = {}
        for target in self.targets:
            for node in walk_nodes(self.values[target], ids):
                pass
        return ids

    def to_json(self) -> dict:
        ids = self.node_ids()
        return {
            "fgc_graph": 1,
            "targets": list(self.targets),
            "values": {t: value_to_json(self.values[t], ids) for t in self.targets},
            "nodes": {ids[n]: node_to_json(n, ids) for n in ids},
        }


def walk_nodes(value: Value, seen: dict[Node, str] | None = None) -> Iterator[Node]:
    """Nodes below `value` in first-visit depth-first order; `seen` maps visited nodes to ids."""
    seen = {} if seen is None else seen
    stack: list[Value] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Node):
            if v in seen:
                continue
            seen[v] = f"n{len(seen) + 1}"
            yield v
            stack.extend(reversed(list(v.children())))
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))


def value_to_json(value: Value, ids: dict[Node, str]) -> Any:
    if isinstance(value, Node):
        return {"$node": ids[value]}
    if isinstance(value, list):
        return [value_to_json(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: value_to_json(v, ids) for k, v in value.items()}
    return value


def node_to_json(node: Node, ids: dict[Node, str]) -> dict:
    out: dict[str, Any] = {
        "kind": str(node.kind),
        "callable": node.callable,
        "name": node.name,
        "args": [value_to_json(v, ids) for v in node.args],
        "kwargs": {k: value_to_json(v, ids) for k, v in node.kwargs.items()},
    }
    if node.kind == Kind.VAR:
        out["var"] = node.var
        if node.default is not MISSING:
            out["default"] = value_to_json(node.default, ids)
    return out


def values_equal(a: Value, b: Value) -> bool:
    """Structural equality of graph values, strict about types (1, 1.0 and True differ)."""
    if isinstance(a, Node) or isinstance(b, Node):
        return a is b
    if type(a) is not type(b):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def contains_node(value: Value) -> bool:
    return next(walk_nodes(value), None) is not None
