"""Go to definition and find references.

    a template name in extends/include/import  -> the template (its file, or its sub-template line)
    a block header                             -> the definition it overrides
    an alias `*x`                              -> its anchor `&x`
    a tag's import spec                        -> the `def`/`class` line in the Python source
References: a block's every definition in the hierarchy; an anchor and its aliases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..diagnostics import Span
from ..syntax import config_ast as ca
from . import cursor
from .hover import block_relatives, definition_of_spec
from .query import Query, query

if TYPE_CHECKING:
    from .query import Guard
    from .server import FgcServer


def _anchors_and_aliases(q: Query, name: str) -> tuple[list[Span], list[Span]]:
    comp = q.analysis.compilation if q.analysis else None
    document = comp.front.document if comp is not None else None
    anchors: list[Span] = []
    aliases: list[Span] = []
    if document is None:
        return anchors, aliases
    for node in ca.walk(document.root):
        if isinstance(node, ca.Anchor) and node.name == name:
            anchors.append(node.name_span)
        elif isinstance(node, ca.Alias) and node.name == name:
            aliases.append(node.span)
    return anchors, aliases


def definitions(q: Query) -> list[Span]:
    graph = q.analysis.template_graph if q.analysis else None
    ref = cursor.reference_at(graph, q.path, q.line, q.col)
    if ref is not None and graph is not None:
        out = []
        for name in ref.resolved:
            node = graph.templates.get(name)
            if node is not None:
                line = node.chunk.first_line if node.subtemplate else 1
                out.append(Span.point(node.file, max(line, 1)))
        return out
    block = cursor.block_at(graph, q.path, q.line, q.col)
    if block is not None and graph is not None:
        return [b.name_span for b in graph.overridden(block)[:1]] or [block.name_span]
    alias = cursor.match_at(cursor.ALIAS, q.text, q.col)
    if alias is not None:
        return _anchors_and_aliases(q, alias.group("name"))[0]
    tag = cursor.match_at(cursor.TAG, q.text, q.col)
    if tag is not None and tag.group("spec"):
        config_node = q.analysis.index.node_at(q.path, q.line, q.col) if q.analysis else None
        found = definition_of_spec(q, tag.group("spec"), config_node)
        if found is not None:
            return [Span.point(found.file, found.line, found.col)]
    return []


def references(q: Query) -> list[Span]:
    graph = q.analysis.template_graph if q.analysis else None
    block = cursor.block_at(graph, q.path, q.line, q.col)
    if block is not None and graph is not None:
        overridden, overrides = block_relatives(q, block)
        return sorted({block.name_span, *overridden, *overrides})
    m = cursor.match_at(cursor.ALIAS, q.text, q.col) or cursor.match_at(cursor.ANCHOR, q.text, q.col)
    if m is not None:
        anchors, aliases = _anchors_and_aliases(q, m.group("name"))
        return anchors + aliases
    return []


def register(server: FgcServer, guarded: Guard) -> None:
    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @guarded
    def on_definition(ls: FgcServer, params: types.DefinitionParams) -> list[types.Location] | None:
        q = query(ls, params.text_document, params.position)
        if q is None:
            return None
        return [q.positions.location(s) for s in definitions(q)] or None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    @guarded
    def on_references(ls: FgcServer, params: types.ReferenceParams) -> list[types.Location] | None:
        q = query(ls, params.text_document, params.position)
        if q is None:
            return None
        return [q.positions.location(s) for s in references(q)] or None
