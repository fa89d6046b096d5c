"""Where a block is in its file: from the statement pairing the compiler made once per chunk
(`structure_of(chunk)`, fgc/syntax/pairing.py), never recounted from the text.

A `-- block x` ... `-- endblock` lasts from its opener's line to its closer's (to the chunk's end
when it is never closed: the compiler reported that); a TOML-style `[x]` block from its header
to its last item.
"""

from __future__ import annotations

from typing import Iterator

from ..inheritance.template_pass import BlockDef, TemplateGraph, TemplateNode
from ..syntax.pairing import TOML, Pair, structure_of
from ..syntax.template_ast import TomlBlock


def block_pair(node: TemplateNode, block: BlockDef) -> Pair | None:
    """The pair of `node`'s chunk that defines `block`."""
    for pair in structure_of(node.chunk).pairs:
        if pair.is_block and pair.name == block.name and pair.span.line == block.span.line:
            return pair
    return None


def block_extent(node: TemplateNode, block: BlockDef) -> tuple[int, int]:
    """(first line, last line) of `block` in its file."""
    pair = block_pair(node, block)
    if pair is None:  # not a pair of this chunk (cannot happen for a block the graph read)
        return block.span.line, block.span.line
    start = pair.span.line
    if pair.keyword == TOML:
        assert isinstance(pair.opener, TomlBlock)
        return start, max(pair.opener.span.end_line, start)
    if pair.closer is not None:
        return start, max(pair.closer.span.end_line, start)
    chunk = node.chunk
    return start, max(chunk.first_line + chunk.line_count - 1, start)


def blocks_in(graph: TemplateGraph | None, file: str) -> Iterator[tuple[TemplateNode, BlockDef]]:
    """Every block defined in `file` (its main template and sub-templates), with its template."""
    if graph is None:
        return
    for node in graph.templates.values():
        if node.file == file:
            for block in node.blocks.values():
                yield node, block


def enclosing_block(graph: TemplateGraph | None, file: str, line: int) -> tuple[TemplateNode, BlockDef] | None:
    """The innermost block of `file` whose extent holds `line`."""
    best: tuple[int, TemplateNode, BlockDef] | None = None
    for node, block in blocks_in(graph, file):
        start, end = block_extent(node, block)
        if start <= line <= end and (best is None or start >= best[0]):
            best = (start, node, block)
    return None if best is None else (best[1], best[2])
