"""Which nodes the generated code names, and what they are called: the one rule of the config
module (emit.py: members of `Construction`) and of the model package (model.py: local bindings
of `construct_model`).

A node is a member when its object is shared or must be built apart from where it is used:

- it has an `@name` or an anchor, is referenced more than once, or is a target (`always`);
- it is a partial with a factory among its direct arguments (built per call: a method that
  builds those factories anew at every call);
- it sits below a factory or a per-call partial, whose bodies run more than once, and is not
  itself a factory (a singleton there must still be built once per construction).

An unnamed node used once elsewhere is written inline. A `!var` is never a member. Members are
named after their `@name`, anchor or key, else after their callable, in the order given.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..graph import Kind, Node, Value
from .names import Namer

Children = Callable[[Node], list[Value]]


def node_children(node: Node) -> list[Value]:
    """The values a node's code uses: a var's default is emitted once per variable elsewhere,
    and a `!meta` node's arguments never run."""
    if node.kind in (Kind.VAR, Kind.META):
        return []
    return list(node.args) + list(node.kwargs.values())


def direct_nodes(value: Value) -> list[Node]:
    """Nodes in `value` reached through plain lists and dicts only."""
    out: list[Node] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Node):
            out.append(v)
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
    return out


@dataclass
class References:
    """How often each node is referred to, and the graph's visit orders."""
    counts: Counter  # node -> how many places refer to it
    pre_order: list[Node]  # first visit order, parents before children
    post_order: list[Node]  # children before parents


def count_references(roots: Iterable[Value], children: Children) -> References:
    """Reference counts of every node reachable from `roots`, descending into a node's
    children on its first visit only."""
    counts: Counter = Counter()
    pre: list[Node] = []
    post: list[Node] = []
    seen: set[Node] = set()

    def count(value: Value) -> None:
        for n in direct_nodes(value):
            counts[n] += 1
            if n not in seen:
                seen.add(n)
                pre.append(n)
                for c in children(n):
                    count(c)
                post.append(n)

    for root in roots:
        count(root)
    return References(counts, pre, post)


def built_per_call(node: Node, children: Children) -> bool:
    """A partial with a factory among its direct arguments: each call builds a fresh one."""
    return node.kind == Kind.PARTIAL and any(
        c.kind == Kind.FACTORY for v in children(node) for c in direct_nodes(v)
    )


@dataclass
class Membership:
    """Which nodes are built as members of the generated module."""
    references: References
    members: set[Node] = field(default_factory=set)
    per_call: set[Node] = field(default_factory=set)  # partials built per call (see above)


def choose_members(
    roots: list[Value],
    children: Children = node_children,
    always: frozenset[Node] | set[Node] = frozenset(),
    opaque: frozenset[Node] | set[Node] = frozenset(),
) -> Membership:
    """The members among the nodes reachable from `roots`, each root built once. `always` are
    members whatever their use; `opaque` nodes are written by someone else (compile-time nodes)
    and are never per-call partials."""
    refs = count_references(roots, children)
    found = Membership(refs)
    found.per_call = {n for n in refs.pre_order if n not in opaque and built_per_call(n, children)}
    visited: set[Node] = set()

    def visit(value: Value, once: bool) -> None:
        for n in direct_nodes(value):
            if n in visited or n.kind == Kind.VAR:
                continue
            visited.add(n)
            shared = bool(n.name or n.anchor) or refs.counts[n] > 1 or n in always
            if n.kind == Kind.FACTORY:
                body_once = False
                if shared:
                    found.members.add(n)
            elif n in found.per_call:
                found.members.add(n)
                body_once = False
            else:
                if shared or not once:
                    found.members.add(n)
                body_once = True
            for c in children(n):
                visit(c, body_once)

    for root in roots:
        visit(root, True)
    return found


def wanted_name(node: Node) -> tuple[str, str]:
    """(the name a member would like, the fallback when that is no identifier)."""
    fallback = (node.callable or str(node.kind)).replace(":", ".").split(".")[-1].lower()
    return node.name or node.anchor or node.key or fallback, fallback


def name_members(order: Iterable[Node], members: set[Node], namer: Namer) -> dict[Node, str]:
    """A unique name for each member, handed out in `order` (earlier ones get the plain names)."""
    return {n: namer.take(*wanted_name(n)) for n in order if n in members}
