"""What the template text has under the cursor, read from one experiment's template graph and
the line's own text (fgc coordinates: 1-based lines, code-point columns)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from ..inheritance.template_pass import BlockDef, Reference, TemplateGraph, TemplateNode
from ..syntax.template_ast import Item, TomlBlock
from ..workspace.source_index import contains

TAG = re.compile(r"!(?P<kind>[A-Za-z_]\w*)(?::(?P<spec>[^\s@,\]\}]*))?(?:@(?P<name>\w+))?")
ANCHOR = re.compile(r"&(?P<name>[^\s,\[\]\{\}]+)")
ALIAS = re.compile(r"\*(?P<name>[^\s,\[\]\{\}]+)")
WORD = re.compile(r"[A-Za-z_][\w.\-/]*")
_BLOCK_OPEN = re.compile(r"(?:\{%-?|^\s*(?:--|<<|>>))\s*block\s+(\w+)")
_BLOCK_CLOSE = re.compile(r"(?:\{%-?|^\s*(?:--|<<|>>))\s*endblock\b")


def templates_in(graph: TemplateGraph | None, file: str) -> list[TemplateNode]:
    if graph is None:
        return []
    return [n for n in graph.templates.values() if n.file == file]


def reference_at(graph: TemplateGraph | None, file: str, line: int, col: int) -> Reference | None:
    for node in templates_in(graph, file):
        for ref in node.references:
            if contains(ref.span, line, col) or contains(ref.statement_span, line, col):
                return ref
    return None


def block_at(graph: TemplateGraph | None, file: str, line: int, col: int) -> BlockDef | None:
    """The block whose header (or `block` statement) is at the position."""
    for node in templates_in(graph, file):
        for block in node.blocks.values():
            if contains(block.name_span, line, col) or contains(block.span, line, col):
                return block
    return None


def super_call_at(graph: TemplateGraph | None, file: str, line: int, col: int) -> BlockDef | None:
    """The block that holds a `super()` call at the position."""
    for node in templates_in(graph, file):
        for block in node.blocks.values():
            for span in block.super_calls:
                if span.line == line and span.col <= col <= span.end_col + len("super()"):
                    return block
    return None


def enclosing_block(graph: TemplateGraph | None, file: str, lines: list[str], line: int) -> BlockDef | None:
    """The innermost block whose extent holds `line`."""
    best: BlockDef | None = None
    for node in templates_in(graph, file):
        for block in node.blocks.values():
            start, end = block_extent(node, block, lines)
            if start <= line <= end and (best is None or block.span.line >= best.span.line):
                best = block
    return best


def block_extent(node: TemplateNode, block: BlockDef, lines: list[str]) -> tuple[int, int]:
    """(first line, last line) of a block in its file: a TOML block's items, or a `block`
    statement up to its `endblock` (nested blocks counted)."""
    if block.toml:
        for item in _walk_toml(node.chunk.items):
            if item.name == block.name and item.header_span == block.span:
                return item.span.line, max(item.span.end_line, item.span.line)
        return block.span.line, block.span.line
    depth = 0
    for n in range(block.span.line, len(lines) + 1):
        text = lines[n - 1]
        depth += len(_BLOCK_OPEN.findall(text))
        depth -= len(_BLOCK_CLOSE.findall(text))
        if depth <= 0 and n >= block.span.line:
            return block.span.line, n
    return block.span.line, len(lines)


def _walk_toml(items: list[Item]) -> Iterator[TomlBlock]:
    for item in items:
        if isinstance(item, TomlBlock):
            yield item
            yield from _walk_toml(item.items)


def match_at(pattern: re.Pattern, text: str, col: int) -> re.Match | None:
    """The match of `pattern` in `text` that covers column `col` (1-based, end inclusive)."""
    for m in pattern.finditer(text):
        if m.start() < col <= m.end() + 1 and m.start() + 1 <= col:
            return m
    return None


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # 1-based column of the first character
    end: int  # 1-based column just past the last


def word_at(text: str, col: int) -> Word | None:
    m = match_at(WORD, text, col)
    return Word(m.group(), m.start() + 1, m.end() + 1) if m else None
