"""Reserved keywords of callable nodes: `submodule_searchpath` and `latent_args`.

They configure the node instead of reaching the callable, and stay in `kwargs` after the other
keywords (docs/language.md, Arguments):

* `submodule_searchpath`: a list of directories (relative to the template that wrote them)
  searched by relative imports inside a module imported by file path (`path/file.py:Name`);
* `latent_args` (the reference's): a mapping (or a node or variable producing one) merged into
  the keyword arguments when the node is built, overriding them.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, error
from ..graph import CALLABLE_KINDS, LATENT_ARGS, RESERVED_KWARGS, SUBMODULE_SEARCHPATH, Graph, Kind, Node


def check_reserved(graph: Graph) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for node in graph.nodes():
        if node.kind not in CALLABLE_KINDS or not any(k in node.kwargs for k in RESERVED_KWARGS):
            continue
        _move_last(node)
        if SUBMODULE_SEARCHPATH in node.kwargs:
            value = node.kwargs[SUBMODULE_SEARCHPATH]
            if isinstance(value, str):
                node.kwargs[SUBMODULE_SEARCHPATH] = value = [value]
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                diags.append(
                    error(
                        "FG0519",
                        "`submodule_searchpath` takes a list of directories",
                        node.kwarg_spans[SUBMODULE_SEARCHPATH],
                    )
                )
        if LATENT_ARGS in node.kwargs:
            value = node.kwargs[LATENT_ARGS]
            ok = isinstance(value, dict) or (
                isinstance(value, Node) and value.kind in (Kind.DICT, Kind.VAR, Kind.SINGLETON, Kind.FACTORY)
            )
            if not ok:
                diags.append(
                    error(
                        "FG0519",
                        "`latent_args` takes a mapping of keyword arguments (or a node that builds one)",
                        node.kwarg_spans[LATENT_ARGS],
                    )
                )
    return diags


def _move_last(node: Node) -> None:
    for k in RESERVED_KWARGS:
        if k in node.kwargs:
            node.kwargs[k] = node.kwargs.pop(k)
