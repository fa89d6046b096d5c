"""Lowering: the resolved config AST (a DAG after alias resolution) to the config graph.

Each tagged value becomes one `Node`; a node reached twice (through an alias) is the same
`Node`. Plain mappings become dicts, sequences lists, scalars their values. Argument
normalisation (`arguments.py`) gives callable nodes their args and kwargs; container tags and
`!var` are read here.
"""

from __future__ import annotations

import keyword
from typing import Any

from ..diagnostics import Diagnostic, DiagnosticError, error, warning
from ..graph import CALLABLE_KINDS, TAG_KINDS, Graph, Kind, Node, UnusedEntry, Value
from ..syntax.config_ast import Anchor, Document, Mapping, Scalar, Sequence, Tagged
from ..syntax.config_ast import ConfigAstNode
from ._rewrite import is_empty, key_text, unwrap
from .arguments import normalise_arguments
from .unused_defines import is_marked, original_key

# A graph value expanded through aliases may not grow beyond this many leaves (a YAML "billion
# laughs" would otherwise make graph.json and the generated code explode).
MAX_EXPANDED_SIZE = 1_000_000
# Names a variable cannot take: construct() refers to them in its body.
RESERVED_VARIABLES = frozenset({"Construction"})


def lower(doc: Document) -> tuple[Graph, list[Diagnostic]]:
    lowerer = _Lowerer()
    graph = Graph()
    root = doc.root
    if root is not None:
        assert isinstance(root, Mapping)
        for e in root.entries:
            name = key_text(e.key)
            if name is None:
                continue  # reported by the key check
            if is_marked(name):  # nothing uses it: checked, never built (unused_defines.py)
                key = original_key(name)
                graph.unused.append(UnusedEntry(key, e.key.span, lowerer.value(e.value, key=key)))
                continue
            graph.targets.append(name)
            graph.target_spans[name] = e.key.span
            graph.values[name] = lowerer.value(e.value, key=name)
            if lowerer.size.get(id(e.value), 0) > MAX_EXPANDED_SIZE:
                raise DiagnosticError(
                    lowerer.diagnostics
                    + [
                        error(
                            "FG0521",
                            f"target `{name}` expands to more than {MAX_EXPANDED_SIZE} values through aliases",
                            e.key.span,
                        )
                    ]
                )
    graph.container_spans = lowerer.spans
    return graph, lowerer.diagnostics


class _Lowerer:
    def __init__(self) -> None:
        self.memo: dict[int, Value] = {}
        self.size: dict[int, int] = {}
        self.keep: list[ConfigAstNode] = []
        self.diagnostics: list[Diagnostic] = []
        self._inner: dict[Node, int] = {}
        self.spans: dict[int, dict] = {}  # id(list or dict) -> item spans (see Graph.container_spans)

    def value(self, node: ConfigAstNode, key: str | None = None) -> Value:
        k = id(node)
        if k in self.memo:
            return self.memo[k]
        out, size = self._lower(node, key)
        self.memo[k] = out
        self.size[k] = size
        self.keep.append(node)
        return out

    def _sized(self, node: ConfigAstNode, key: str | None = None) -> tuple[Value, int]:
        v = self.value(node, key)
        return v, (1 if isinstance(v, Node) else self.size[id(node)])

    def _lower(self, node: ConfigAstNode, key: str | None) -> tuple[Value, int]:
        if isinstance(node, Anchor):
            v, size = self._sized(node.node, key or node.name)
            if isinstance(v, Node) and v.anchor is None:
                v.anchor = node.name
            return v, size
        if isinstance(node, Scalar):
            return node.value, 1
        if isinstance(node, Sequence):
            items = [self._sized(i, key) for i in node.items]
            seq = [v for v, _ in items]
            self.spans[id(seq)] = {i: item.span for i, item in enumerate(node.items)}
            return seq, 1 + sum(s for _, s in items)
        if isinstance(node, Mapping):
            out: dict[str, Any] = {}
            spans: dict[str, Any] = {}
            size = 1
            for e in node.entries:
                name = key_text(e.key)
                if name is None:
                    continue
                out[name], s = self._sized(e.value, name)
                spans[name] = e.key.span
                size += s
            self.spans[id(out)] = spans
            return out, size
        if isinstance(node, Tagged):
            return self._tagged(node, key), 1
        raise TypeError(f"unexpected config AST node {type(node).__name__}")  # a bug, not input

    def _tagged(self, node: Tagged, key: str | None) -> Node:
        tag = node.tag
        kind = TAG_KINDS[tag.kind]
        n = Node(kind, tag.spec, tag.name, tag.span, key=key)
        # Register before lowering children so an alias to this node below it finds it
        # (cycles are already rejected; this only matters for memo consistency).
        self.memo[id(node)] = n
        if kind in CALLABLE_KINDS:
            self._callable(node, n)
        elif kind == Kind.VAR:
            self._var(node, n)
        else:
            self._container(node, n)
        return n

    def _child(self, n: Node, node: ConfigAstNode, key: str | None) -> Value:
        """Lower one argument of `n`, keeping count of its size expanded through aliases."""
        v, size = self._sized(node, key)
        self._inner[n] = self._inner.get(n, 0) + size
        if self._inner[n] > MAX_EXPANDED_SIZE:
            raise DiagnosticError(
                self.diagnostics
                + [
                    error(
                        "FG0521",
                        f"arguments expand to more than {MAX_EXPANDED_SIZE} values through aliases",
                        n.span,
                    )
                ]
            )
        return v

    def _callable(self, node: Tagged, n: Node) -> None:
        if not n.callable:
            self.diagnostics.append(
                error(
                    "FG0517",
                    f"`{node.tag.raw}` needs a callable: `!{node.tag.kind}:module:Name`",
                    node.tag.span,
                )
            )
        if n.kind == Kind.META:
            self.diagnostics.append(
                warning(
                    "FG0516",
                    "`!meta` nodes are kept in the graph but never executed by fgc",
                    node.tag.span,
                    hint="fgc generates model code at compile time; see dynamic_causal_lm",
                )
            )
        args, diags = normalise_arguments(node)
        self.diagnostics.extend(diags)
        for i, (value, span) in enumerate(args.args):
            n.args.append(self._child(n, value, _arg_key(n, i)))
            n.arg_spans.append(span)
            n.value_spans[i] = value.span
        for name, value, span in args.kwargs:
            n.kwargs[name] = self._child(n, value, name)
            n.kwarg_spans[name] = span
            n.value_spans[name] = value.span

    def _container(self, node: Tagged, n: Node) -> None:
        if n.callable:
            self.diagnostics.append(
                warning(
                    "FG0518",
                    f"`!{node.tag.kind}` takes no callable; `{n.callable}` is ignored",
                    node.tag.span,
                    hint=f"name the node with `!{node.tag.kind}:@name`",
                )
            )
            n.callable = None
        body = unwrap(node.body)
        if is_empty(body):
            return
        if n.kind == Kind.DICT:
            if isinstance(body, Mapping):
                for e in body.entries:
                    name = key_text(e.key)
                    if name is not None:
                        n.kwargs[name] = self._child(n, e.value, name)
                        n.kwarg_spans[name] = e.key.span
                        n.value_spans[name] = e.value.span
                return
            expected = "a mapping"
        else:
            if isinstance(body, Sequence):  # !dlist bodies are sequences once folded
                for i, item in enumerate(body.items):
                    n.args.append(self._child(n, item, _arg_key(n, i)))
                    n.arg_spans.append(item.span)
                    n.value_spans[i] = item.span
                return
            expected = "a sequence"
        self.diagnostics.append(error("FG0518", f"`!{node.tag.kind}` takes {expected}", body.span))

    def _var(self, node: Tagged, n: Node) -> None:
        n.callable = None
        if node.tag.spec:
            self.diagnostics.append(
                error("FG0512", f'`!var` takes no callable: write `!var "{node.tag.spec}"`', node.tag.span)
            )
        body = unwrap(node.body)
        name_node: ConfigAstNode | None = None
        if isinstance(body, Scalar):
            name_node = body
        elif isinstance(body, Mapping):
            for e in body.entries:
                k = key_text(e.key)
                if k == "name":
                    name_node = unwrap(e.value)
                elif k == "default":
                    n.default = self._child(n, e.value, n.key)
                    n.default_span = e.value.span
                elif k is not None:
                    self.diagnostics.append(
                        error("FG0512", f"`!var` takes `name` and `default`, not `{k}`", e.key.span)
                    )
        if not (isinstance(name_node, Scalar) and isinstance(name_node.value, str) and name_node.value):
            self.diagnostics.append(
                error(
                    "FG0512",
                    '`!var` takes a variable name: `!var "name"` or `!var { name: x, default: 1 }`',
                    (name_node or body).span,
                )
            )
            n.var = "_"
            return
        n.var = name_node.value
        if n.var in RESERVED_VARIABLES:
            self.diagnostics.append(
                error(
                    "FG0513",
                    f"`{n.var}` cannot be a variable name (the generated module uses it)",
                    name_node.span,
                )
            )
        elif not n.var.isidentifier() or keyword.iskeyword(n.var):
            self.diagnostics.append(
                error(
                    "FG0513",
                    f"variable name `{n.var}` is not a Python identifier; it becomes a keyword "
                    "parameter of `construct()`",
                    name_node.span,
                )
            )


def _arg_key(n: Node, i: int) -> str | None:
    return f"{n.key}_{i}" if n.key else None
