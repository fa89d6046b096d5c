"""The typed template AST: one template file, as written, every node with its `Span`.

Produced by `fgc.syntax.template_parser.parse_template`; lowered to canonical Jinja by
`fgc.syntax.jinja_source`; read by the template pass (`fgc.inheritance.template_pass`) and by the
language server and the query layer (`fgc.analysis.blocks`: the extent of a TOML-style block).

A file holds a main chunk and any number of sub-templates (`#--- name ---` splits). A chunk is
a list of items, one per source line (a text line with a Jinja construct spanning line breaks
covers several lines); TOML-style blocks nest items. Every line of a chunk belongs to exactly one
item, in order, so the items reproduce the chunk line for line.

Spans are 1-based, end exclusive, in the original file (sub-templates keep the lines of their
containing file).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Iterator, Union

from ..diagnostics import Span

_KEYWORD = re.compile(r"\s*([A-Za-z_]\w*)")


def keyword_of(body: str) -> str:
    """The first word of a Jinja statement body (`set` in `set ns.x = 1`), or ""."""
    m = _KEYWORD.match(body)
    return m.group(1) if m else ""


@dataclass(eq=False)
class TemplateAstNode:
    """A node of a template's syntax tree (lines, Jinja pieces, blocks), before rendering."""

    span: Span


@dataclass(eq=False)
class TrailingComment(TemplateAstNode):
    """A ` ## text` at the end of a line (outside quotes), cut before rendering."""

    text: str


# --------------------------------------------------------------------------------------------
# Lines


@dataclass(eq=False)
class Statement(TemplateAstNode):
    """A line statement: `-- X` is `{% X %}`, `<< X` is `{%- X %}`, `>> X` is `{% X -%}`."""

    prefix: str  # "--", "<<" or ">>"
    body: str  # X, without the trailing comment
    body_span: Span
    comment: TrailingComment | None = None

    @property
    def keyword(self) -> str:
        return keyword_of(self.body)

    @property
    def strip_left(self) -> bool:
        return self.prefix == "<<"

    @property
    def strip_right(self) -> bool:
        return self.prefix == ">>"


@dataclass(eq=False)
class Expression(TemplateAstNode):
    """A print line: `== X` is `{{ X }}`; `=> X` also trims line breaks around the value."""

    prefix: str  # "==" or "=>"
    body: str
    body_span: Span
    comment: TrailingComment | None = None

    @property
    def trim_newlines(self) -> bool:
        return self.prefix == "=>"


@dataclass(eq=False)
class Comment(TemplateAstNode):
    """A full-line `## text` comment: renders as nothing."""

    text: str


@dataclass(eq=False)
class BlankLine(TemplateAstNode):
    """An empty or whitespace-only line (kept as it is)."""

    text: str


class PieceKind(enum.Enum):
    EXPRESSION = "{{"
    STATEMENT = "{%"
    COMMENT = "{#"


_CLOSERS = {PieceKind.EXPRESSION: "}}", PieceKind.STATEMENT: "%}", PieceKind.COMMENT: "#}"}


@dataclass(eq=False)
class LiteralText(TemplateAstNode):
    """A run of text between inline Jinja pieces."""

    text: str


@dataclass(eq=False)
class JinjaPiece(TemplateAstNode):
    """An inline `{{ X }}`, `{% X %}` or `{# X #}` in a text line (may span line breaks)."""

    kind: PieceKind
    body: str  # between the delimiters and their whitespace-control signs
    body_span: Span
    strip_left: str = ""  # "-", "+" or ""
    strip_right: str = ""

    @property
    def keyword(self) -> str:
        return keyword_of(self.body) if self.kind is PieceKind.STATEMENT else ""

    @property
    def source(self) -> str:
        """The piece as written."""
        return f"{self.kind.value}{self.strip_left}{self.body}{self.strip_right}{_CLOSERS[self.kind]}"


Part = Union[LiteralText, JinjaPiece]


@dataclass(eq=False)
class TextLine(TemplateAstNode):
    """A line of text (YAML, usually) with its inline Jinja pieces.

    `text` is the line as it is rendered: the source without its trailing comment. It spans
    several lines when a Jinja piece does. `parts` split `text` into literal runs and pieces.
    """

    text: str
    parts: list[Part]
    comment: TrailingComment | None = None

    @property
    def pieces(self) -> list[JinjaPiece]:
        return [p for p in self.parts if isinstance(p, JinjaPiece)]


@dataclass(eq=False)
class BadLine(TemplateAstNode):
    """A line with a `{{`, `{%` or `{#` that is never closed (reported as an error)."""

    text: str
    opener_span: Span


@dataclass(eq=False)
class TomlBlock(TemplateAstNode):
    """`[name]` (or `[name!]`, trimmed): a Jinja block that lasts until the next header at the
    same or a smaller indentation, a sub-template split or the end of the file."""

    name: str
    name_span: Span
    trim: bool
    indent: int  # characters of leading whitespace of the header
    header_span: Span
    items: list["Item"] = field(default_factory=list)
    comment: TrailingComment | None = None


Item = Union[Statement, Expression, Comment, BlankLine, TextLine, BadLine, TomlBlock]
Tag = Union[Statement, JinjaPiece]  # anything that lowers to `{% ... %}`


# --------------------------------------------------------------------------------------------
# Chunks and templates


@dataclass(eq=False)
class Chunk(TemplateAstNode):
    """A template's main part or one sub-template: the items of consecutive lines."""

    name: str  # the template name it is registered under
    items: list[Item]
    first_line: int  # file line of the chunk's first line
    line_count: int  # number of source lines (0 for an empty chunk)
    trailing_newline: bool  # the chunk's text ends with a line break (last chunk only)

    def walk(self) -> Iterator[Item]:
        """Every item in source order, TOML blocks before their contents."""
        yield from _walk(self.items)

    def tags(self) -> Iterator[Tag]:
        """Every statement (line statements and inline `{% %}`), in source order."""
        for item in self.walk():
            if isinstance(item, Statement):
                yield item
            elif isinstance(item, TextLine):
                for p in item.parts:
                    if isinstance(p, JinjaPiece) and p.kind is PieceKind.STATEMENT:
                        yield p


@dataclass(eq=False)
class SubTemplate(Chunk):
    """A `#--- name ---` split and the lines after it."""

    name_span: Span = None  # type: ignore[assignment]
    split_span: Span = None  # type: ignore[assignment]


@dataclass(eq=False)
class Template(TemplateAstNode):
    """One template file: its main chunk and its sub-templates."""

    name: str
    file: str
    main: Chunk
    subtemplates: list[SubTemplate]

    @property
    def chunks(self) -> list[Chunk]:
        return [self.main, *self.subtemplates]

    def node_at(self, line: int, col: int) -> TemplateAstNode | None:
        """The innermost node covering (line, col): for hover and go-to-definition."""
        best: TemplateAstNode | None = None
        for chunk in self.chunks:
            if not _covers(chunk.span, line, col):
                continue
            for item in chunk.walk():
                if isinstance(item, TomlBlock):
                    if _covers(item.header_span, line, col):
                        best = item
                    continue
                if _covers(item.span, line, col):
                    best = item
                    if isinstance(item, TextLine):
                        for p in item.parts:
                            if isinstance(p, JinjaPiece) and _covers(p.span, line, col):
                                best = p
        return best


def _walk(items: list[Item]) -> Iterator[Item]:
    for item in items:
        yield item
        if isinstance(item, TomlBlock):
            yield from _walk(item.items)


def _covers(span: Span, line: int, col: int) -> bool:
    return (span.line, span.col) <= (line, col) < (span.end_line, span.end_col) or (
        span.line == span.end_line == line and span.col == span.end_col == col
    )


# --------------------------------------------------------------------------------------------
# Debug dump (fgc parse)


def dump(template: Template) -> str:
    """A readable, line-per-node listing of the AST (for `fgc parse` and tests)."""
    out: list[str] = [f"Template {template.name!r} {template.file}"]

    def pos(s: Span) -> str:
        return f"{s.line}:{s.col}-{s.end_line}:{s.end_col}"

    def items(xs: list[Item], depth: int) -> None:
        pad = "  " * depth
        for it in xs:
            if isinstance(it, TomlBlock):
                out.append(f"{pad}TomlBlock {it.name}{'!' if it.trim else ''} indent={it.indent} {pos(it.span)}")
                if it.comment is not None:
                    out.append(f"{pad}  TrailingComment {it.comment.text!r} {pos(it.comment.span)}")
                items(it.items, depth + 1)
                continue
            elif isinstance(it, Statement):
                out.append(f"{pad}Statement {it.prefix} {it.body!r} {pos(it.span)}")
            elif isinstance(it, Expression):
                out.append(f"{pad}Expression {it.prefix} {it.body!r} {pos(it.span)}")
            elif isinstance(it, Comment):
                out.append(f"{pad}Comment {it.text!r} {pos(it.span)}")
            elif isinstance(it, BlankLine):
                out.append(f"{pad}Blank {pos(it.span)}")
            elif isinstance(it, BadLine):
                out.append(f"{pad}BadLine {it.text!r} {pos(it.span)}")
            elif isinstance(it, TextLine):
                out.append(f"{pad}Text {it.text!r} {pos(it.span)}")
                for p in it.parts:
                    if isinstance(p, JinjaPiece):
                        out.append(f"{pad}  {p.kind.name.title()} {p.body!r} {pos(p.span)}")
            comment = it.comment if isinstance(it, (Statement, Expression, TextLine)) else None
            if comment is not None:
                out.append(f"{pad}  TrailingComment {comment.text!r} {pos(comment.span)}")

    for chunk in template.chunks:
        if isinstance(chunk, SubTemplate):
            out.append(f"SubTemplate {chunk.name!r} {pos(chunk.split_span)}")
        else:
            out.append(f"Main {chunk.name!r}")
        items(chunk.items, 1)
    return "\n".join(out) + "\n"
