"""Statement pairing: which Jinja statement of a chunk opens what, and where it closes.

    structure_of(chunk) -> Structure        (paired once per chunk; `pair_statements` pairs anew)

Every `{% %}` piece and line statement (`-- if x` is `{% if x %}`) is a tag. A tag that opens
a body (`if`, `for`, `block`, `macro`, `call`, `filter`, `with`, `autoescape`, `raw`, and `set`
when it is a block set) starts a `Pair`; `elif`/`else` continue the innermost one; `end<kw>`
closes it. A TOML-style block is a pair too (keyword `[toml]`), closed implicitly at its end,
so a statement may not cross it. Between `raw` and `endraw` tags are text, as jinja2 reads them.

The structure answers what the walkers of the template layer need: the diagnostics of an
unbalanced chunk (FG0111, FG0112, FG0113, at the tag that is wrong), the lines jinja2 reads as
raw text, and for every tag or expression the pairs open where it stands (`enclosing`) and
after it (`open_after`): the template pass asks whether a reference is conditional and which
block a `super()` is in, the knob pass whether a `set` is top-level, the lowering whether a line
is the body of a block set.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Iterator, TypeGuard, Union

from ..diagnostics import Diagnostic, Related, Span, error
from .template_ast import Chunk, Expression, Item, JinjaPiece, PieceKind, Statement, Tag, TextLine, TomlBlock, keyword_of

OPENERS = frozenset({"if", "for", "block", "macro", "call", "filter", "with", "raw", "autoescape", "set"})
MIDDLES = {"elif": ("if",), "else": ("if", "for")}
CLOSERS = {f"end{k}": k for k in OPENERS}
TOML = "[toml]"
# jinja2's parser recurses for every level (and Python compiles at most about 100 levels of
# indentation, so no deeper template compiles anyway): deeper nesting is refused here.
MAX_NESTING = 100
NESTING_CODE = "FG0541"
_BLOCK_NAME = re.compile(r"\s*block\s+([A-Za-z_]\w*)")
_END_NAME = re.compile(r"\s*end(?:block|macro)\s+([A-Za-z_]\w*)")
# `set a = ...`, `set a, b = ...`, `set ns.attr = ...`: an `=` straight after plain names, which
# jinja2's lexer would read as a top-level assign too (no bracket or string can come before it).
_PLAIN_ASSIGN = re.compile(r"\s*set\s+[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=(?!=)")

Opener = Union[Statement, JinjaPiece, TomlBlock]


def is_block_set(body: str) -> bool:
    """`set x` or `set x | f(...)` (a block assignment, closed by `endset`) rather than
    `set x = value`: as jinja2's parser decides, by an `=` after the target, outside brackets
    and strings (jinja2's lexer tells them apart)."""
    if keyword_of(body) != "set":
        return False
    if "=" not in body:  # no assign token is possible: what the lexer's answer would be
        return True
    if _PLAIN_ASSIGN.match(body):  # the common case, answered without lexing
        return False
    from jinja2.exceptions import TemplateSyntaxError

    from .jinja_env import parse_environment

    try:
        tokens = list(parse_environment().lexer.tokenize("{% " + body + " %}"))
    except TemplateSyntaxError:
        return "=" not in body  # does not lex (reported by the syntax check): the plain reading
    depth = 0
    for token in tokens:
        if token.type in ("lparen", "lbracket", "lbrace"):
            depth += 1
        elif token.type in ("rparen", "rbracket", "rbrace"):
            depth -= 1
        elif token.type == "assign" and depth == 0:
            return False
    return True


@dataclass(eq=False)
class Pair:
    """A statement with a body: its opener, continuations and closer."""

    keyword: str  # "if", "for", ..., "set" (a block set only), or TOML for a TOML-style block
    opener: Opener
    parent: "Pair | None"  # the pair open around the opener
    name: str = ""  # a block's name (of `block x` or `[x]`)
    name_span: Span | None = None
    middles: list[Tag] = field(default_factory=list)  # `elif`, `else`
    closer: Tag | None = None  # None: never closed (a TOML block always closes implicitly)

    @property
    def span(self) -> Span:
        """Where the opener is reported: a tag's body, a TOML block's header."""
        return _span_of(self.opener)

    @property
    def is_block(self) -> bool:
        return self.keyword in ("block", TOML)

    def describe(self) -> str:
        what = f"block `[{self.name}]`" if self.keyword == TOML else f"`{self.keyword}`"
        return f"{what} opened at line {self.span.line}"


@dataclass(eq=False)
class Structure:
    """The pairing of one chunk."""

    pairs: list[Pair]  # in the order of their openers
    diagnostics: list[Diagnostic]
    raw_lines: frozenset[int]  # lines inside `raw`...`endraw` (jinja2 reads them as text)
    _enclosing: dict[int, tuple[Pair, ...]]
    _after: dict[int, tuple[Pair, ...]]
    _pair_of: dict[int, Pair]

    def enclosing(self, node: object) -> tuple[Pair, ...]:
        """The pairs open where a tag, expression or item stands (outermost first; a tag's own
        pair is not among them unless it continues or closes one)."""
        return self._enclosing.get(id(node), ())

    def open_after(self, node: object) -> tuple[Pair, ...]:
        """The pairs open right after a tag, an expression or an item (all its tags)."""
        return self._after.get(id(node), ())

    def pair_of(self, tag: object) -> Pair | None:
        """The pair a tag (or TOML block) opens, continues or closes (None for a plain
        statement, text in `raw` and a tag that closes nothing)."""
        return self._pair_of.get(id(tag))

    def is_text(self, tag: object) -> bool:
        """Is this tag inside `raw`, where jinja2 reads it as text?"""
        inside = self.enclosing(tag)
        return bool(inside) and inside[-1].keyword == "raw" and self.pair_of(tag) is not inside[-1]


def jinja_nodes(items: list[Item]) -> Iterator[Union[Tag, Expression, JinjaPiece, TomlBlock]]:
    """Every tag, expression (line or piece) and TOML block, in source order (a TOML block
    before its items)."""
    for item in items:
        if isinstance(item, (Statement, Expression)):
            yield item
        elif isinstance(item, TextLine):
            for p in item.parts:
                if isinstance(p, JinjaPiece) and p.kind is not PieceKind.COMMENT:
                    yield p
        elif isinstance(item, TomlBlock):
            yield item
            yield from jinja_nodes(item.items)


def is_tag(node: object) -> TypeGuard[Statement | JinjaPiece]:
    return isinstance(node, Statement) or (isinstance(node, JinjaPiece) and node.kind is PieceKind.STATEMENT)


def pair_statements(chunk: Chunk) -> Structure:
    """Pair the statements of `chunk`; see the module's docstring."""
    return _Pairing(chunk).run()


# The structure of every live chunk, paired once: the template pass, the knob pass, the lowering
# and the query layer all ask about the same chunk. Kept here rather than on the chunk, so that
# the AST does not depend on its pairing.
_structures: weakref.WeakKeyDictionary[Chunk, Structure] = weakref.WeakKeyDictionary()


def structure_of(chunk: Chunk) -> Structure:
    """Which statement of `chunk` opens what and where it closes, paired once per chunk."""
    structure = _structures.get(chunk)
    if structure is None:
        structure = _structures[chunk] = pair_statements(chunk)
    return structure


def _span_of(node: Tag | Expression | TomlBlock) -> Span:
    return node.header_span if isinstance(node, TomlBlock) else node.body_span


def _name_span(node: Tag, m: re.Match) -> Span:
    s = node.body_span
    lead = len(node.body) - len(node.body.lstrip())
    col = s.col - lead + m.start(1)
    return Span(s.file, s.line, col, s.line, col + len(m.group(1)))


class _Pairing:
    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.stack: list[Pair] = []
        self.orphans: list[Pair] = []  # reported open at the end of a TOML block
        self.pairs: list[Pair] = []
        self.diags: list[Diagnostic] = []
        self.blocks: dict[str, Span] = {}
        self.raw: set[int] = set()
        self.enclosing: dict[int, tuple[Pair, ...]] = {}
        self.after: dict[int, tuple[Pair, ...]] = {}
        self.pair_of: dict[int, Pair] = {}

    def run(self) -> Structure:
        self.items(self.chunk.items)
        for pair in self.stack:
            if pair.keyword == "raw":
                self._raw_to(pair, self.chunk.first_line + max(self.chunk.line_count, 1))
            self.diags.append(
                error(
                    "FG0111",
                    f"`{pair.keyword}` is never closed: no `end{pair.keyword}` before the end of the template",
                    pair.span,
                )
            )
        return Structure(self.pairs, self.diags, frozenset(self.raw), self.enclosing, self.after, self.pair_of)

    @property
    def in_raw(self) -> bool:
        return bool(self.stack) and self.stack[-1].keyword == "raw"

    def note(self, node: object) -> None:
        self.enclosing[id(node)] = tuple(self.stack)

    def noted_after(self, node: object) -> None:
        self.after[id(node)] = tuple(self.stack)

    def items(self, items: list[Item]) -> None:
        for item in items:
            self.note(item)
            if isinstance(item, (Statement, Expression)):
                self.node(item)
            elif isinstance(item, TextLine):
                for p in item.parts:
                    if isinstance(p, JinjaPiece) and p.kind is not PieceKind.COMMENT:
                        self.node(p)
            elif isinstance(item, TomlBlock):
                self.toml(item)
            self.noted_after(item)

    def node(self, node: Tag | Expression) -> None:
        self.note(node)
        if is_tag(node):
            self.tag(node)
        self.noted_after(node)

    # -- TOML blocks ----------------------------------------------------------------------------

    def toml(self, block: TomlBlock) -> None:
        if self.in_raw:  # its header is text: jinja2 sees `{% block %}` inside raw
            self.items(block.items)
            return
        self.define_block(block.name, block.name_span)
        pair = self.open(TOML, block, block.name, block.name_span)
        self.items(block.items)
        while self.stack and self.stack[-1] is not pair:
            left = self.stack.pop()
            self.orphans.append(left)
            self.diags.append(
                error(
                    "FG0112",
                    f"`{left.keyword}` is still open where block `[{block.name}]` ends",
                    left.span,
                    hint="a TOML-style block ends at the next header at the same or a smaller "
                    "indentation: close the statement before it",
                    related=(Related(block.header_span, f"block `[{block.name}]` starts here"),),
                )
            )
        if self.stack:
            self.stack.pop()

    # -- tags -----------------------------------------------------------------------------------

    def open(self, keyword: str, opener: Opener, name: str = "", name_span: Span | None = None) -> Pair:
        pair = Pair(keyword, opener, self.stack[-1] if self.stack else None, name, name_span)
        self.pairs.append(pair)
        self.stack.append(pair)
        self.pair_of[id(opener)] = pair
        if len(self.stack) == MAX_NESTING + 1:
            self.diags.append(
                error(
                    NESTING_CODE,
                    f"statements nested {MAX_NESTING + 1} deep: jinja2 compiles each level to a level of Python "
                    f"code, which allows about {MAX_NESTING}",
                    pair.span,
                    hint="join conditions (`if a and b`) or move the inner part to a macro or a block",
                )
            )
        return pair

    def tag(self, tag: Tag) -> None:
        kw = keyword_of(tag.body)
        if self.in_raw:
            if kw == "endraw":
                pair = self.stack.pop()
                pair.closer = tag
                self.pair_of[id(tag)] = pair
                self._raw_to(pair, tag.span.line)
            return
        if kw in OPENERS:
            if kw == "set" and not is_block_set(tag.body):
                return
            name, name_span = "", None
            if kw == "block":
                m = _BLOCK_NAME.match(tag.body)
                if m:
                    name, name_span = m.group(1), _name_span(tag, m)
                    self.define_block(name, name_span)
            self.open(kw, tag, name, name_span)
        elif kw in MIDDLES:
            top = self.stack[-1] if self.stack else None
            if top is None or top.keyword not in MIDDLES[kw]:
                wanted = " or ".join(f"`{k}`" for k in MIDDLES[kw])
                inside = f" (inside {top.describe()})" if top else ""
                self.diags.append(error("FG0111", f"`{kw}` outside {wanted}{inside}", tag.body_span))
            else:
                top.middles.append(tag)
                self.pair_of[id(tag)] = top
        elif kw in CLOSERS:
            self.close(tag, kw, CLOSERS[kw])

    def close(self, tag: Tag, kw: str, opener: str) -> None:
        top = self.stack[-1] if self.stack else None
        if top is not None and top.keyword == opener:
            self.stack.pop()
            self._closed(top, tag)
            if opener == "block":
                m = _END_NAME.match(tag.body)
                if m and top.name and m.group(1) != top.name:
                    self.diags.append(
                        error(
                            "FG0111",
                            f"`endblock {m.group(1)}` closes block `{top.name}`",
                            tag.body_span,
                            related=(Related(top.span, f"block `{top.name}` opened here"),),
                        )
                    )
            return
        # Is the opener further down, inside the current TOML block, or outside it?
        for depth in range(len(self.stack) - 1, -1, -1):
            pair = self.stack[depth]
            if pair.keyword == TOML:
                outside = [i for i, p in enumerate(self.stack[:depth]) if p.keyword == opener]
                if outside:
                    opened = self.stack.pop(outside[-1])
                    self._closed(opened, tag)
                    assert isinstance(pair.opener, TomlBlock)  # a TOML pair's opener is its block
                    self.diags.append(
                        error(
                            "FG0112",
                            f"`{kw}` closes the `{opener}` of line {opened.span.line}, outside block `[{pair.name}]`",
                            tag.body_span,
                            hint="a TOML-style block ends only at the next header: close the statement "
                            "inside the block, or use `-- block`/`-- endblock`",
                            related=(Related(pair.opener.header_span, f"block `[{pair.name}]` starts here"),),
                        )
                    )
                    return
                break
            if pair.keyword == opener:
                assert top is not None
                self.diags.append(
                    error(
                        "FG0111",
                        f"`{kw}` found while {top.describe()} is still open",
                        tag.body_span,
                        related=(Related(top.span, f"`{top.keyword}` opened here"),),
                    )
                )
                self._closed(pair, tag)
                del self.stack[depth:]
                return
        for i, pair in enumerate(self.orphans):
            if pair.keyword == opener:
                del self.orphans[i]
                self._closed(pair, tag)
                return
        self.diags.append(error("FG0111", f"`{kw}` without an open `{opener}`", tag.body_span))

    def _closed(self, pair: Pair, tag: Tag) -> None:
        pair.closer = tag
        self.pair_of[id(tag)] = pair

    def define_block(self, name: str, span: Span) -> None:
        if name in self.blocks:
            self.diags.append(
                error(
                    "FG0113",
                    f"block `{name}` is defined twice in this template",
                    span,
                    related=(Related(self.blocks[name], "first defined here"),),
                )
            )
        else:
            self.blocks[name] = span

    def _raw_to(self, pair: Pair, end_line: int) -> None:
        """Lines after the `raw` tag's line, up to (not including) `end_line`, are raw text."""
        self.raw.update(range(pair.opener.span.line + 1, end_line))
