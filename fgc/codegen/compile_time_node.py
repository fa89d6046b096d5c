"""The protocol of compile-time nodes: nodes that the compiler itself turns into code and files,
instead of leaving them to `construct()` to call.

A kind of compile-time node (a `CompileTimeNode`; the kinds are registered in one place,
`fgc/compile_time/__init__.py`) takes part in four steps of a compilation:

1. recognise   `recognise(node, imports)`: whether a config node is one of its nodes (by its
               resolved spec, a tag, ...). Asked once the imports are resolved.
   (bindings)  `var_bindings(node)`: optional; the values that bind `!var`s inside the node,
               so that stage 7 checks them against the annotations at their own position.
2. plan        `plan(nodes, graph, imports, use_black)`: checks its nodes (diagnostics, e.g.
               FG0720-FG0723 of dynamic_causal_lm) and returns one `Planned` per node. A plan may
               compile a sub-graph into code of its own; the nodes it consumes (`consumed`) leave
               `construct()`: their `!var`s are no variables of the config module.
3. emit        `Planned.children()`, `prepare(emitter)` and `expr(emitter)`: the values the
               node's expression in config.py uses (reference counting), the imports to
               register before members are named, and the expression itself, written with the
               config module's expression writer (`ConfigWriter`, implemented by `emit.Emitter`).
4. files       `Planned.write_files(root)`: what the node adds to the build directory (inside
               the build's temporary directory); it returns the diagnostics of a failure.
               `distributions` names packages whose versions the manifest records.

dynamic_causal_lm (`fgc/compile_time/dynamic_model.py`) is the first kind: its `definition`
becomes build/model/ (model.py writes modeling.py), and config.py builds the model from there.
"""

from __future__ import annotations

import ast
import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Protocol

from ..diagnostics import Diagnostic, Result, Span
from ..graph import MISSING, Graph, Node, Value, Variable
from ..imports import Imports

if TYPE_CHECKING:
    from .importing import ModuleImports


class ConfigWriter(Protocol):
    """What a planned node writes config.py with: the part of the config module's expression
    writer (`emit.Emitter`) that a kind may use. A protocol, so that this module does not
    depend on the writer that calls it."""

    importer: ModuleImports

    def expr(self, value: Value) -> ast.expr:
        """The expression of a config value (a member reference, a literal, a call...)."""
        ...

    def build_module(self, directory: str, module: str, attr: str) -> str:
        """A name for `attr` of `<build>/<directory>/<module>.py`."""
        ...

# A value that binds a `!var`: (the value, its template position, how to name it in messages).
Binding = tuple[Any, Span, str]


class Planned(ABC):
    """One planned compile-time node: how config.py builds it and what it adds to the build."""

    node: Node
    consumed: set[Node]  # nodes compiled into the node's own code (their !vars leave construct())
    distributions: tuple[str, ...] = ()

    @abstractmethod
    def children(self) -> list[Value]:
        """The config values that the node's expression in config.py uses."""

    def prepare(self, emitter: ConfigWriter) -> None:
        """Register the expression's imports (before the members are named)."""

    @abstractmethod
    def expr(self, emitter: ConfigWriter) -> ast.expr:
        """The expression that builds the node in config.py."""

    def write_files(self, root: Path) -> list[Diagnostic]:
        """Write the node's files into the build directory `root`; the diagnostics of a failure."""
        return []


class CompileTimeNode(ABC):
    """A kind of compile-time node (see the module docstring)."""

    @abstractmethod
    def recognise(self, node: Node, imports: Imports) -> bool: ...

    def var_bindings(self, node: Node) -> dict[Node, Binding]:
        return {}

    @abstractmethod
    def plan(
        self, nodes: list[Node], graph: Graph, imports: Imports, use_black: bool
    ) -> Result[list[Planned]]: ...


@dataclass
class CompileTimePlan:
    """The compile-time nodes of a graph and what each is replaced with."""
    graph: Graph  # the config graph without the variables of consumed nodes
    planned: dict[Node, Planned] = field(default_factory=dict)


def recognised(kinds: Iterable[CompileTimeNode], graph: Graph, imports: Imports) -> dict[CompileTimeNode, list[Node]]:
    """Each kind's nodes, in graph order; a node belongs to the first kind that recognises it."""
    kinds = list(kinds)
    out: dict[CompileTimeNode, list[Node]] = {k: [] for k in kinds}
    for node in graph.nodes():
        kind = next((k for k in kinds if k.recognise(node, imports)), None)
        if kind is not None:
            out[kind].append(node)
    return out


def var_bindings(kinds: Iterable[CompileTimeNode], graph: Graph, imports: Imports) -> dict[Node, Binding]:
    out: dict[Node, Binding] = {}
    for kind, nodes in recognised(kinds, graph, imports).items():
        for node in nodes:
            out.update(kind.var_bindings(node))
    return out


def plan_compile_time(
    kinds: Iterable[CompileTimeNode], graph: Graph, imports: Imports, use_black: bool = True
) -> Result[CompileTimePlan]:
    plan = CompileTimePlan(graph=graph)
    diags: list[Diagnostic] = []
    for kind, nodes in recognised(kinds, graph, imports).items():
        if nodes:
            planned, d = kind.plan(nodes, graph, imports, use_black)
            diags += d
            plan.planned.update((p.node, p) for p in planned)
    consumed = set().union(*(p.consumed for p in plan.planned.values()))
    if consumed:
        plan.graph = _without_variables_of(graph, consumed)
    return Result(plan, diags)


def _without_variables_of(graph: Graph, consumed: set[Node]) -> Graph:
    out = copy.copy(graph)
    out.variables = {}
    for name, var in graph.variables.items():
        nodes = [n for n in var.nodes if n not in consumed]
        if not nodes:
            continue
        defaults = [n.default for n in nodes if n.default is not MISSING]
        out.variables[name] = Variable(name, defaults[0] if defaults else MISSING, nodes)
    return out
