"""Document symbols (the config's targets, the template's blocks) and folding ranges (blocks),
block extents from the compiler's pairing (`fgc.analysis.blocks`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..analysis.blocks import block_extent
from ..diagnostics import Span
from . import cursor
from .query import Query, query

if TYPE_CHECKING:
    from ..inheritance.template_pass import BlockDef, TemplateNode
    from .query import Guard
    from .server import FgcServer


def _block_span(q: Query, node: TemplateNode, block: BlockDef) -> Span:
    start, end = block_extent(node, block)
    end_col = len(q.positions.index(q.path).line(end)) + 1
    return Span(q.path, start, 1, end, end_col)


def symbols(q: Query) -> list[types.DocumentSymbol]:
    out: list[types.DocumentSymbol] = []
    analysis = q.analysis
    graph = analysis.graph if analysis else None
    if graph is not None:
        for target in graph.targets:
            span = graph.target_spans.get(target)
            if span is not None and span.file == q.path:
                r = q.positions.range(span)
                out.append(types.DocumentSymbol(target, types.SymbolKind.Field, r, r, detail="target"))
    tgraph = analysis.template_graph if analysis else None
    for node in cursor.templates_in(tgraph, q.path):
        for block in node.blocks.values():
            full = q.positions.range(_block_span(q, node, block))
            name = q.positions.range(block.name_span)
            if (name.start.line, name.start.character) < (full.start.line, full.start.character):
                name = full
            out.append(types.DocumentSymbol(block.name, types.SymbolKind.Namespace, full, name, detail="block"))
    return out


def folding(q: Query) -> list[types.FoldingRange]:
    tgraph = q.analysis.template_graph if q.analysis else None
    out = []
    for node in cursor.templates_in(tgraph, q.path):
        for block in node.blocks.values():
            start, end = block_extent(node, block)
            if end > start:
                out.append(types.FoldingRange(start - 1, end - 1, kind=types.FoldingRangeKind.Region))
    return out


def register(server: FgcServer, guarded: Guard) -> None:
    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @guarded
    def on_symbols(ls: FgcServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
        q = query(ls, params.text_document, types.Position(0, 0))
        return symbols(q) if q is not None else None

    @server.feature(types.TEXT_DOCUMENT_FOLDING_RANGE)
    @guarded
    def on_folding(ls: FgcServer, params: types.FoldingRangeParams) -> list[types.FoldingRange] | None:
        q = query(ls, params.text_document, types.Position(0, 0))
        return folding(q) if q is not None else None
