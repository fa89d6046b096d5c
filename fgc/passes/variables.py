"""`!var` collection: every variable with its default and every use.

A variable may be used in many places; giving it two different defaults is an error (FG0514),
since `construct()` has one keyword parameter per variable.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Related, error
from ..graph import MISSING, Graph, Kind, Node, Variable, values_equal


def collect_variables(graph: Graph) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    graph.variables = {}
    first_default: dict[str, Node] = {}
    for node in graph.nodes():
        if node.kind != Kind.VAR or not node.var:
            continue
        var = graph.variables.setdefault(node.var, Variable(node.var))
        var.nodes.append(node)
        if node.default is MISSING:
            continue
        if var.default is MISSING:
            var.default = node.default
            first_default[node.var] = node
            continue
        if not values_equal(var.default, node.default):
            first = first_default[node.var]
            diags.append(
                error(
                    "FG0514",
                    f"variable `{node.var}` has two different defaults",
                    node.span,
                    related=(Related(first.span, "first default given here"),),
                    hint="give the default in one place, or the same default everywhere",
                )
            )
    return diags
