"""Which nodes the generated code must name: shared by the config module (emit.py) and the
model package (model.py).

A node needs a name when it has an `@name` or anchor, or is referenced more than once (its
object is shared); a partial with a factory among its direct arguments is built per call.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

from ..graph import Kind, Node, Value


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
    counts: Counter  # node -> how many places refer to it
    pre_order: list[Node]  # first visit order, parents before children
    post_order: list[Node]  # children before parents


def count_references(roots: Iterable[Value], children: Callable[[Node], list[Value]]) -> References:
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


def built_per_call(node: Node, children: Callable[[Node], list[Value]]) -> bool:
    """A partial with a factory among its direct arguments: each call builds a fresh one."""
    return node.kind == Kind.PARTIAL and any(
        c.kind == Kind.FACTORY for v in children(node) for c in direct_nodes(v)
    )
