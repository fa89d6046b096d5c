"""What the template text has under the cursor, read from one experiment's template graph and
the line's own text (fgc coordinates: 1-based lines, code-point columns). Block extents are the
query layer's (`fgc.analysis.blocks`, from the compiler's statement pairing)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..inheritance.template_pass import BlockDef, Reference, TemplateGraph, TemplateNode
from ..workspace.source_index import contains

TAG = re.compile(r"!(?P<kind>[A-Za-z_]\w*)(?::(?P<spec>[^\s@,\]\}]*))?(?:@(?P<name>\w+))?")
ANCHOR = re.compile(r"&(?P<name>[^\s,\[\]\{\}]+)")
ALIAS = re.compile(r"\*(?P<name>[^\s,\[\]\{\}]+)")
WORD = re.compile(r"[A-Za-z_][\w.\-/]*")


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
