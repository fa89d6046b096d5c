"""`@name` uniqueness: two distinct nodes may not share a name (FG0515).

The same node reached twice through an alias is one node and is fine.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Related, error
from ..graph import Graph, Node


def check_names(graph: Graph) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    named: dict[str, Node] = {}
    for node in graph.nodes():
        if not node.name:
            continue
        first = named.setdefault(node.name, node)
        if first is not node:
            diags.append(
                error(
                    "FG0515",
                    f"two different nodes are named `@{node.name}`",
                    node.span,
                    related=(Related(first.span, "the other one"),),
                    hint="use an alias (`*anchor`) to refer to the same node twice",
                )
            )
    return diags
