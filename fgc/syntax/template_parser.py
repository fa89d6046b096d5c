"""Template files -> the typed template AST (`fgc.syntax.template_ast`).

The grammar is `grammar/template.lark` (LALR): one terminal per line kind, and a post-lexer that
closes TOML-style blocks by header indentation. A Lark transformer builds the AST while parsing
(no parse tree is kept). The grammar accepts every text (a line that is nothing else is text or,
with an unterminated `{{`, a `BadLine`), so the problems found here are diagnostics, never parse
failures:

    FG0101  a line with an unterminated `{{`, `{%` or `{#`
    FG0102  `-- ` / `== ` with nothing after the prefix
    FG0103  a `[name]` header whose name is not an identifier
    FG0104  private-use characters U+F0000..U+10FFFD (reserved for the source map)
    FG0105  duplicate sub-template name in one file
    FG0106  a line that looks like a sub-template split but is not one (warning)
    FG0110..FG0113  Jinja syntax and block structure (see `fgc.syntax.jinja_check`)

`parse_template(text, file, name)` also checks the Jinja of every statement and expression
with jinja2's own parser (`check_jinja=False` skips that: the renderer does it on the text it
compiles, to parse once).
"""

from __future__ import annotations

import functools
import re
from typing import Iterator, TypeVar

from lark import Lark, Token, Transformer, v_args

from ..diagnostics import Diagnostic, Related, Result, Span, error, warning
from ..pyast import exclusive
from ..resources import grammar_path
from .template_ast import (
    BadLine,
    BlankLine,
    Chunk,
    Comment,
    Expression,
    Item,
    JinjaPiece,
    LiteralText,
    Part,
    PieceKind,
    Statement,
    SubTemplate,
    Template,
    TextLine,
    TomlBlock,
    TrailingComment,
)

# The source map marks rendered lines with characters of these planes (fgc.render.markers).
PRIVATE_USE = re.compile("[\U000f0000-\U0010fffd]")

_PIECE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#(.*?)#\}", re.S)
_OPENER = re.compile(r"\{[{%#]")
_HEADER = re.compile(r"([ \t]*)\[(\w+)(!*)\]")
_LineNode = TypeVar("_LineNode", Statement, Expression)  # a `-- ` statement or `<< ` expression line
_SPLIT = re.compile(r"#[ \t]*-{3,}[ \t]*([\w./][\w./-]*?)[ \t]*-{3,}")
_SPLIT_LIKE = re.compile(r"(?:#[ \t]*|##)-{3,}[ \t]*([^\s-]\S*?)[ \t]*-{3,}[ \t]*$")
_KINDS = {"{{": PieceKind.EXPRESSION, "{%": PieceKind.STATEMENT, "{#": PieceKind.COMMENT}
_CLOSE = {"{{": "}}", "{%": "%}", "{#": "#}"}
# YAML: a quote opens a quoted scalar only where a scalar may start.
_QUOTE_AFTER = frozenset(" \t[{,:-")


# --------------------------------------------------------------------------------------------
# The Lark parser (built once per process, grammar analysis cached on disk). It holds no
# per-parse state: it returns a small tree (one node per line or block), and a `_Builder`
# created for each parse turns that tree into the AST, so parses may run concurrently.


class _BlockEnds:
    """Post-lexer: emits _BLOCK_END tokens where TOML-style blocks end.

    A header at indentation N closes every open block whose header indentation is >= N; a
    sub-template split and the end of the text close every open block.
    """

    always_accept = ()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        open_indents: list[int] = []
        last = None
        for tok in stream:
            kind = tok.type
            if kind == "HEADER_LINE":
                indent = len(tok.value) - len(tok.value.lstrip(" \t"))
                while open_indents and open_indents[-1] >= indent:
                    open_indents.pop()
                    yield Token.new_borrow_pos("_BLOCK_END", "", tok)
                open_indents.append(indent)
            elif kind == "SPLIT_LINE" and tok.line == 1:
                # As in the reference, a split needs a line before it: line 1 is text.
                tok = Token.new_borrow_pos("TEXT_LINE", tok.value, tok)
            elif kind == "SPLIT_LINE":
                while open_indents:
                    open_indents.pop()
                    yield Token.new_borrow_pos("_BLOCK_END", "", tok)
            last = tok
            yield tok
        while open_indents:
            open_indents.pop()
            yield Token("_BLOCK_END", "", 0, last.end_line if last else 1, 1) if last else Token("_BLOCK_END", "")


@functools.cache
def _parser() -> Lark:
    with exclusive():  # Lark reads the grammar's strings with ast.literal_eval (fgc/pyast.py)
        return Lark(
            grammar_path("template.lark").read_text(encoding="utf-8"),
            parser="lalr",
            lexer="contextual",
            postlex=_BlockEnds(),
            maybe_placeholders=False,
            cache=True,
        )


# --------------------------------------------------------------------------------------------
# Building the AST


class _Context:
    """Per-parse state the transformer needs: file, line offset, diagnostics."""

    def __init__(self, file: str, line_offset: int) -> None:
        self.file = file
        self.offset = line_offset
        self.diagnostics: list[Diagnostic] = []

    def span(self, line: int, col: int, end_line: int, end_col: int) -> Span:
        return Span(self.file, line + self.offset, col, end_line + self.offset, end_col)



def _line_of(tok: Token) -> int:
    """The first line of a token (the lexer always tracks positions)."""
    assert tok.line is not None, tok
    return tok.line


def _line_parts(tok: Token) -> tuple[str, int, int]:
    """(text without its line break, first line, leading indentation width)."""
    text = tok.value[:-1]
    return text, _line_of(tok), len(text) - len(text.lstrip(" \t"))


def _cut_comment(text: str, start: int, jinja: bool) -> int:
    """Index of a trailing ` ##` comment in text[start:] outside quotes, or -1.

    jinja: the text is a Jinja body, where a quote starts a string anywhere; otherwise it is
    YAML, where a quote starts a quoted scalar only after whitespace or `[{,:-`.
    """
    first = _first_marker(text, start)
    if first < 0:
        return -1
    head = text[start:first]
    if "'" not in head and '"' not in head and "{" not in head:
        return first + 1  # nothing before it could hide it
    quote = ""
    i, n = start, len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                if quote == "'" and not jinja and text.startswith("''", i):
                    i += 2  # YAML's escaped quote inside a single-quoted scalar
                    continue
                quote = ""
        elif c in "\"'" and (jinja or i == 0 or text[i - 1] in _QUOTE_AFTER):
            quote = c
        elif c == "#" and text.startswith("##", i) and i > 0 and text[i - 1] in " \t":
            return i
        elif c == "\n":
            quote = ""
        elif not jinja and c == "{" and i + 1 < n and text[i + 1] in "{%#":
            end = text.find(_CLOSE[text[i : i + 2]], i + 2)
            if end >= 0:
                i = end + 2
                continue
        i += 1
    return -1


def _first_marker(text: str, start: int) -> int:
    """Index of the whitespace before the first ` ##` / `\t##` in text[start:], or -1."""
    a = text.find(" ##", start)
    b = text.find("\t##", start)
    if a < 0:
        return b
    return a if b < 0 else min(a, b)


class _Builder(Transformer):
    """Builds AST nodes from the line tokens of one parse (one builder per parse)."""

    def __init__(self, ctx: _Context) -> None:
        super().__init__(visit_tokens=False)  # no token callbacks: faster
        self.ctx = ctx

    # -- lines ---------------------------------------------------------------------------------

    @v_args(inline=True)
    def statement(self, tok: Token) -> Statement:
        return self._statement_like(tok, Statement)

    @v_args(inline=True)
    def expression(self, tok: Token) -> Expression:
        return self._statement_like(tok, Expression)

    def _statement_like(self, tok: Token, cls: type[_LineNode]) -> _LineNode:
        ctx = self.ctx
        text, line, indent = _line_parts(tok)
        prefix = text[indent : indent + 2]
        body_start = indent + 3
        comment = None
        cut = _cut_comment(text, body_start, jinja=True)
        if cut >= 0:
            comment = TrailingComment(ctx.span(line, cut + 1, line, len(text) + 1), text[cut + 2 :])
            body = text[body_start:cut].rstrip(" \t")
        else:
            body = text[body_start:]
        stripped = body.rstrip()
        lead = len(body) - len(body.lstrip())
        body_span = ctx.span(line, body_start + 1 + lead, line, body_start + 1 + len(stripped))
        node = cls(ctx.span(line, indent + 1, line, len(text.rstrip()) + 1), prefix, body, body_span, comment)
        if not stripped.strip():
            what = "statement" if cls is Statement else "expression"
            ctx.diagnostics.append(
                error("FG0102", f"empty line {what}: `{prefix}` needs a Jinja {what} after it", node.span)
            )
        return node

    @v_args(inline=True)
    def comment(self, tok: Token) -> Comment:
        text, line, indent = _line_parts(tok)
        return Comment(self.ctx.span(line, indent + 1, line, len(text) + 1), text[indent + 2 :])

    @v_args(inline=True)
    def lines(self, tok: Token) -> list[Item]:
        """A run of text lines (their Jinja pieces close on their line): one item per line."""
        ctx = self.ctx
        file, line = ctx.file, _line_of(tok) + ctx.offset
        out: list[Item] = []
        for text in tok.value[:-1].split("\n"):
            indent = len(text) - len(text.lstrip(" \t"))
            if indent == len(text):
                out.append(BlankLine(Span(file, line, 1, line, len(text) + 1), text))
            else:
                comment = None
                if "##" in text:
                    cut = _cut_comment(text, 0, jinja=False)
                    if cut >= 0:
                        comment = TrailingComment(Span(file, line, cut + 1, line, len(text) + 1), text[cut + 2 :])
                        text = text[:cut].rstrip(" \t")
                span = Span(file, line, indent + 1, line, len(text) + 1)
                if "{" in text:
                    parts = _split_parts_one_line(text, line, file)
                else:
                    parts = [LiteralText(span, text)]
                out.append(TextLine(span, text, parts, comment))
            line += 1
        return out

    @v_args(inline=True)
    def bad(self, tok: Token) -> BadLine:
        ctx = self.ctx
        text, line, indent = _line_parts(tok)
        # The first opener whose closer is not on this line is the unterminated one.
        col, opener = indent + 1, "{{"
        pos = 0
        while (m := _OPENER.search(text, pos)) is not None:
            end = text.find(_CLOSE[m.group()], m.end())
            if end < 0:
                col, opener = m.start() + 1, m.group()
                break
            pos = end + 2
        opener_span = ctx.span(line, col, line, col + 2)
        ctx.diagnostics.append(
            error(
                "FG0101",
                f"unterminated `{opener}`: no `{_CLOSE[opener]}` closes it",
                opener_span,
                hint=f"close it with `{_CLOSE[opener]}`, or write `{{{{ '{opener}' }}}}` for a literal `{opener}`",
            )
        )
        return BadLine(ctx.span(line, indent + 1, line, len(text) + 1), text, opener_span)

    @v_args(inline=True)
    def text(self, tok: Token) -> TextLine:
        ctx = self.ctx
        raw = tok.value[:-1]
        line = _line_of(tok)
        comment = None
        cut = _cut_comment(raw, 0, jinja=False) if "#" in raw else -1
        if cut >= 0:
            # The comment runs to the end of its physical line (always the token's last one:
            # the lexer never continues a line past ` ##`).
            cline, ccol = _position(raw, cut, line)
            comment = TrailingComment(ctx.span(cline, ccol, cline, ccol + len(raw) - cut), raw[cut + 2 :])
            text = raw[:cut].rstrip(" \t")
        else:
            text = raw
        end_line, end_col = _position(text, len(text), line)
        lead = len(text) - len(text.lstrip(" \t"))
        span = ctx.span(line, lead + 1, end_line, end_col)
        if "{" not in text:
            return TextLine(span, text, [LiteralText(span, text)] if text else [], comment)
        return TextLine(span, text, _split_parts(text, line, ctx), comment)

    # -- structure -----------------------------------------------------------------------------

    def toml_block(self, children: list) -> TomlBlock:
        ctx = self.ctx
        tok, items = children[0], _flatten(children[1:])
        text, line, indent = _line_parts(tok)
        m = _HEADER.match(text)
        assert m is not None, text  # the grammar's block header
        name, bangs = m.group(2), m.group(3)
        name_col = indent + 2
        name_span = ctx.span(line, name_col, line, name_col + len(name))
        header_end = m.end()
        header_span = ctx.span(line, indent + 1, line, header_end + 1)
        comment = None
        hashes = text.find("##", header_end)
        if hashes >= 0:
            comment = TrailingComment(ctx.span(line, hashes + 1, line, len(text) + 1), text[hashes + 2 :])
        if not name.isidentifier():
            ctx.diagnostics.append(
                error("FG0103", f"block name `{name}` is not an identifier", name_span,
                      hint="a block name starts with a letter or `_`")
            )
        end = items[-1].span if items else header_span
        span = Span(header_span.file, header_span.line, header_span.col, end.end_line, end.end_col)
        return TomlBlock(span, name, name_span, bool(bangs), indent, header_span, items, comment)

    def chunk(self, items: list) -> list:
        return _flatten(items)

    @v_args(inline=True)
    def split(self, tok: Token) -> tuple[str, Span, Span]:
        text, line, _ = _line_parts(tok)
        m = _SPLIT.match(text)
        assert m is not None, text  # the grammar's split line
        ctx = self.ctx
        return (
            m.group(1),
            ctx.span(line, m.start(1) + 1, line, m.end(1) + 1),
            ctx.span(line, 1, line, len(text.rstrip()) + 1),
        )

    def start(self, children: list) -> list:
        return children


def _flatten(items: list) -> list:
    """Items with the runs of text lines (lists) spliced in."""
    if not any(type(i) is list for i in items):
        return items
    out: list = []
    for i in items:
        if type(i) is list:
            out.extend(i)
        else:
            out.append(i)
    return out


def _position(text: str, index: int, line: int) -> tuple[int, int]:
    """(line, col) of text[index] when text starts at column 1 of `line`."""
    nl = text.count("\n", 0, index)
    if not nl:
        return line, index + 1
    return line + nl, index - text.rfind("\n", 0, index)


def _split_parts(text: str, line: int, ctx: _Context) -> list[Part]:
    if "\n" not in text:
        return _split_parts_one_line(text, line + ctx.offset, ctx.file)
    parts: list[Part] = []
    pos = 0
    for m in _PIECE.finditer(text):
        if m.start() > pos:
            parts.append(_literal(text, pos, m.start(), line, ctx))
        opener = text[m.start() : m.start() + 2]
        inner_start, inner_end = m.start() + 2, m.end() - 2
        strip_left = text[inner_start] if inner_start < inner_end and text[inner_start] in "-+" else ""
        strip_right = (
            text[inner_end - 1] if inner_end - 1 > inner_start - 1 + len(strip_left) and text[inner_end - 1] in "-+" else ""
        )
        if opener == "{{" and strip_right == "+":
            strip_right = ""  # `+` is not a whitespace sign before `}}`
        b0, b1 = inner_start + len(strip_left), inner_end - len(strip_right)
        body = text[b0:b1]
        sl, sc = _position(text, m.start(), line)
        el, ec = _position(text, m.end(), line)
        lead = b0 + (len(body) - len(body.lstrip()))
        bl, bc = _position(text, lead, line)
        bel, bec = _position(text, max(b0 + len(body.rstrip()), lead), line)
        piece = JinjaPiece(ctx.span(sl, sc, el, ec), _KINDS[opener], body, ctx.span(bl, bc, bel, bec), strip_left, strip_right)
        parts.append(piece)
        if sl != el and opener != "{#" and _OPENER.search(body):
            # A construct left open on one line swallowed text up to a later closer.
            ctx.diagnostics.append(
                error(
                    "FG0101",
                    f"unterminated `{opener}`: the next `{_CLOSE[opener]}` is on line {el + ctx.offset}, "
                    "after another Jinja construct",
                    ctx.span(sl, sc, sl, sc + 2),
                )
            )
        pos = m.end()
    if pos < len(text):
        parts.append(_literal(text, pos, len(text), line, ctx))
    return parts


def _split_parts_one_line(text: str, line: int, file: str) -> list[Part]:
    """_split_parts for a text on one line (the usual case): columns are indexes + 1."""
    parts: list[Part] = []
    pos = 0
    for m in _PIECE.finditer(text):
        start, end = m.span()
        if start > pos:
            parts.append(LiteralText(Span(file, line, pos + 1, line, start + 1), text[pos:start]))
        opener = text[start : start + 2]
        b0, b1 = start + 2, end - 2
        strip_left = text[b0] if b0 < b1 and text[b0] in "-+" else ""
        b0 += len(strip_left)
        strip_right = text[b1 - 1] if b1 > b0 and text[b1 - 1] in "-+" and not (opener == "{{" and text[b1 - 1] == "+") else ""
        b1 -= len(strip_right)
        body = text[b0:b1]
        inner = body.strip()
        lead = b0 + (body.find(inner[0]) if inner else len(body))
        body_span = Span(file, line, lead + 1, line, lead + len(inner) + 1)
        parts.append(JinjaPiece(Span(file, line, start + 1, line, end + 1), _KINDS[opener], body, body_span, strip_left, strip_right))
        pos = end
    if pos < len(text):
        parts.append(LiteralText(Span(file, line, pos + 1, line, len(text) + 1), text[pos:]))
    return parts


def _literal(text: str, start: int, end: int, line: int, ctx: _Context) -> LiteralText:
    sl, sc = _position(text, start, line)
    el, ec = _position(text, end, line)
    return LiteralText(ctx.span(sl, sc, el, ec), text[start:end])


# --------------------------------------------------------------------------------------------
# Entry point


def normalize_newlines(text: str) -> str:
    """CRLF and CR line breaks become LF (as in the reference)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def parse_template(
    text: str,
    file: str,
    name: str,
    line_offset: int = 0,
    check_jinja: bool = True,
) -> Result[Template]:
    """Parse one template file (all its sub-templates) into a `Template`.

    file: the path recorded in spans; name: the template name of the main chunk;
    line_offset: added to every line (to parse a snippet that starts at line_offset + 1);
    check_jinja: also syntax-check the Jinja of every chunk with jinja2's parser.
    """
    text = normalize_newlines(text)
    trailing_newline = text.endswith("\n")
    source = text if trailing_newline else text + "\n"
    ctx = _Context(file, line_offset)
    children = _Builder(ctx).transform(_parser().parse(source))
    total_lines = source.count("\n")

    chunks: list[Chunk] = []
    main_items = children[0]
    splits = children[1::2]
    bodies = children[2::2]
    first = 1 + line_offset
    end_of_main = (splits[0][2].line if splits else total_lines + 1 + line_offset)
    main = Chunk(
        Span(file, first, 1, end_of_main, 1),
        name,
        main_items,
        first,
        end_of_main - first,
        trailing_newline and not splits,
    )
    chunks.append(main)
    seen: dict[str, SubTemplate] = {}
    subtemplates: list[SubTemplate] = []
    for i, ((sub_name, name_span, split_span), items) in enumerate(zip(splits, bodies)):
        start = split_span.line + 1
        last = i == len(splits) - 1
        stop = total_lines + 1 + line_offset if last else splits[i + 1][2].line
        sub = SubTemplate(
            Span(file, split_span.line, 1, stop, 1),
            sub_name,
            items,
            start,
            stop - start,
            trailing_newline and last,
            name_span=name_span,
            split_span=split_span,
        )
        if sub_name in seen:
            ctx.diagnostics.append(
                error(
                    "FG0105",
                    f"sub-template `{sub_name}` is defined twice in this file",
                    name_span,
                    related=(_related(seen[sub_name].name_span, "first defined here"),),
                )
            )
        seen[sub_name] = sub
        subtemplates.append(sub)

    template = Template(Span(file, first, 1, total_lines + 1 + line_offset, 1), name, file, main, subtemplates)
    _lint_lines(template, ctx, source)
    from .jinja_check import check_structure, check_template, raw_lines

    for chunk in template.chunks:
        if "raw" in source:
            raw = raw_lines(chunk)
            if raw:  # an unclosed `{{` between raw and endraw is text
                ctx.diagnostics[:] = [
                    d for d in ctx.diagnostics if not (d.code == "FG0101" and d.span is not None and d.span.line in raw)
                ]
        ctx.diagnostics.extend(check_structure(chunk))
    if check_jinja:
        ctx.diagnostics.extend(check_template(template, ctx.diagnostics))
    return Result(template, ctx.diagnostics)


def _related(span: Span, message: str) -> Related:
    return Related(span, message)


def _lint_lines(template: Template, ctx: _Context, source: str) -> None:
    """Whole-text checks that need no parse: reserved characters, near-miss split lines."""
    if PRIVATE_USE.search(source):
        for m in PRIVATE_USE.finditer(source):
            line, col = _position(source, m.start(), 1)
            ctx.diagnostics.append(
                error(
                    "FG0104",
                    f"character U+{ord(m.group()):X} is reserved: fgc marks rendered lines with "
                    "private-use characters U+F0000..U+10FFFD",
                    ctx.span(line, col, line, col + 1),
                )
            )
    if "---" in source:
        for item in _all_items(template):
            if isinstance(item, (TextLine, Comment)) and item.span.col == 1:
                text = item.text if isinstance(item, TextLine) else "##" + item.text
                if not _SPLIT_LIKE.match(text):
                    continue
                why = (
                    "a split cannot be the first line of a file"
                    if item.span.line == 1 + ctx.offset and _SPLIT.fullmatch(text.rstrip())
                    else "write `#--- name ---` with one `#` and a name of letters, digits, `_ . / -`"
                )
                ctx.diagnostics.append(
                    warning("FG0106", "this line looks like a sub-template split but is not one", item.span, hint=why)
                )


def _all_items(template: Template) -> Iterator[Item]:
    for chunk in template.chunks:
        yield from chunk.walk()
