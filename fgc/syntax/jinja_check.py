"""Jinja checks of a parsed template, with positions in the original file.

Two checks:

* `check_structure(chunk)`: the block structure of the statements (`if`/`endif`, `for`,
  `block`, `macro`, ...) and its interplay with TOML-style blocks, which end implicitly: the
  diagnostics of the chunk's pairing (`fgc.syntax.pairing`); runs on every parse.
* `check_chunk(chunk, lowered, env)`: jinja2's own parser on the chunk's canonical Jinja. When it
  fails, every statement and expression of the chunk is parsed alone, wrapped minimally, to find
  each error's exact column (jinja2 reports lines only; the column comes from the token where
  its parser stopped).

Codes:
    FG0110  Jinja syntax error (jinja2's message)
    FG0111  unbalanced statements (`endif` without `if`, unclosed `for`, mismatched end)
    FG0112  a Jinja statement crosses the end of a TOML-style block
    FG0113  a block defined twice in one template
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterator, Sequence, Union

from ..diagnostics import Diagnostic, Span, error
from .pairing import CLOSERS, MIDDLES, OPENERS, is_block_set, structure_of
from .template_ast import Chunk, Expression, JinjaPiece, PieceKind, Statement, Template, TextLine, TomlBlock, keyword_of

if TYPE_CHECKING:
    from jinja2 import Environment, nodes
    from jinja2.lexer import Token

# What the per-statement checks parse on its own: a line statement or expression, a Jinja piece
# of a text line, a TOML block header.
Checked = Union[Statement, Expression, TomlBlock, JinjaPiece]

_AT = re.compile(r" at (\d+)$")
_HINTS = {
    "do": "the `do` extension is not enabled (as in the reference); use `-- set _ = x.append(y)`",
    "break": "loop controls are not enabled (as in the reference); filter the loop instead",
    "continue": "loop controls are not enabled (as in the reference); filter the loop instead",
}


def check_structure(chunk: Chunk) -> list[Diagnostic]:
    """Balanced statements, statements inside TOML blocks, no block defined twice."""
    return list(structure_of(chunk).diagnostics)


def raw_lines(chunk: Chunk) -> frozenset[int]:
    """Lines inside `{% raw %}...{% endraw %}`: jinja2 reads them as plain text."""
    return structure_of(chunk).raw_lines


# --------------------------------------------------------------------------------------------
# jinja2's parser


def check_template(template: Template, known: Sequence[Diagnostic] = ()) -> list[Diagnostic]:
    """Parse every chunk of `template` with jinja2 (unmarked lowering); the new diagnostics."""
    from .jinja_env import parse_environment
    from .jinja_source import lower_chunk

    env = parse_environment()
    out: list[Diagnostic] = []
    for chunk in template.chunks:
        _, diags = check_chunk(chunk, lower_chunk(chunk), env, known)
        out.extend(diags)
    return out


def check_chunk(
    chunk: Chunk, lowered: str, env: Environment, known: Sequence[Diagnostic] = (), filename: str | None = None
) -> tuple[nodes.Template | None, list[Diagnostic]]:
    """(jinja2 AST or None, diagnostics) for one chunk's canonical Jinja `lowered`.

    `known` are diagnostics already reported for the template; a failure of the whole-chunk parse
    that they (or the per-statement checks) explain is not reported again.
    """
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.parser import Parser

    from .pairing import NESTING_CODE

    if any(d.code == NESTING_CODE for d in structure_of(chunk).diagnostics):
        return None, []  # too deep for jinja2's recursive parser and Python's indentation
    try:
        return Parser(env, lowered, chunk.name, filename).parse(), []
    except TemplateSyntaxError as exc:
        whole = exc
    flagged = {(d.span.line, d.span.col) for d in known if d.span and d.is_error}
    diags = [
        d
        for d in (_check_node(env, n) for n in _checked_nodes(chunk) if (n.span.line, n.span.col) not in flagged)
        if d is not None
    ]
    file_line = chunk.first_line + (whole.lineno or 1) - 1
    explained = diags + [
        d
        for d in known
        if d.span and d.span.file == chunk.span.file and chunk.first_line <= d.span.line < chunk.first_line + max(chunk.line_count, 1)
    ]
    if not any(d.is_error for d in explained):
        span = _locate_line(chunk, file_line)
        diags.append(error("FG0110", _message(whole.message), span))
    return None, diags


def _message(message: str | None) -> str:
    return (message or "syntax error").strip().split("\n")[0]


def _checked_nodes(chunk: Chunk) -> Iterator[Checked]:
    for item in chunk.walk():
        if isinstance(item, (Statement, Expression, TomlBlock)):
            yield item
        elif isinstance(item, TextLine):
            for p in item.parts:
                if isinstance(p, JinjaPiece) and p.kind is not PieceKind.COMMENT:
                    yield p


def _wrap(node: Checked) -> tuple[str, int, str] | None:
    """(wrapper source, offset of the body in it, body) to parse one node alone."""
    if isinstance(node, TomlBlock):
        body = f"block {node.name}"
        return "{% " + body + " %}{% endblock %}", 3, body
    body = node.body
    if isinstance(node, Expression) or (isinstance(node, JinjaPiece) and node.kind is PieceKind.EXPRESSION):
        return "{{ " + body + " }}", 3, body
    kw = keyword_of(body)
    if kw in MIDDLES:
        return "{% if 0 %}{% " + body + " %}{% endif %}", 13, body
    if kw in CLOSERS or kw == "raw":
        return None
    suffix = ""
    if kw in OPENERS and (kw != "set" or is_block_set(body)):
        suffix = "{% end" + kw + " %}"
    return "{% " + body + " %}" + suffix, 3, body


def _check_node(env: Environment, node: Checked) -> Diagnostic | None:
    if isinstance(node, TomlBlock):
        if not node.name.isidentifier():
            return None  # reported by the parser (FG0103)
    elif not node.body.strip():
        return None  # an empty body is reported by the parser (FG0102)
    wrapped = _wrap(node)
    if wrapped is None:
        return None
    source, offset, body = wrapped
    failure = parse_located(env, source)
    if failure is None:
        return None
    where, message = failure
    rel = min(max(where - offset, 0), len(body))
    line, col = _body_origin(node)
    for ch in body[:rel]:
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
    file = node.header_span.file if isinstance(node, TomlBlock) else node.span.file
    if isinstance(node, TomlBlock):
        line, col = node.name_span.line, node.name_span.col
    kw = keyword_of(body) if not isinstance(node, Expression) else ""
    hint = _HINTS.get(kw) if "unknown tag" in message else None
    return error("FG0110", _message(message), Span(file, line, col, line, col + 1), hint=hint)


def _body_origin(node: Checked) -> tuple[int, int]:
    """File (line, col) of body[0] of a Statement, Expression or JinjaPiece."""
    if isinstance(node, TomlBlock):
        return node.name_span.line, node.name_span.col
    s = node.body_span
    lead = node.body[: len(node.body) - len(node.body.lstrip())]
    if "\n" in lead:  # body starts on a later line than its first non-blank... go from the piece start
        sp = node.span
        return sp.line, sp.col + 2 + len(getattr(node, "strip_left", ""))
    return s.line, s.col - len(lead)


def _locate_line(chunk: Chunk, file_line: int) -> Span:
    """The most telling span on a line: a statement's body, a piece, a header's name."""
    for item in chunk.walk():
        if isinstance(item, TomlBlock):
            if item.header_span.line == file_line:
                return item.name_span
            continue
        if not item.span.line <= file_line <= item.span.end_line:
            continue
        if isinstance(item, (Statement, Expression)):
            return item.body_span
        if isinstance(item, TextLine):
            for p in item.parts:
                if isinstance(p, JinjaPiece) and p.span.line <= file_line <= p.span.end_line:
                    return p.span
        return item.span
    return Span(chunk.span.file, file_line, 1, file_line, 1)


def parse_located(env: Environment, source: str) -> tuple[int, str] | None:
    """Parse `source` with jinja2's parser: None when valid, else (offset of the error, message).

    The offset is where the token that stopped the parser starts (jinja2 itself reports lines
    only): raw tokens are located in the source as the lexer produces them.
    """
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.lexer import TokenStream, ignored_tokens
    from jinja2.parser import Parser

    positions: list[int] = []
    cursor = 0
    lexer_error: int | None = None

    def raw() -> Iterator[tuple[int, str, str]]:
        nonlocal cursor, lexer_error
        try:
            for lineno, tok, value in env.lexer.tokeniter(source, None):
                p = source.find(value, cursor) if value else cursor
                if p < 0:
                    p = cursor
                cursor = p + len(value)
                if tok not in ignored_tokens:
                    positions.append(p)
                yield lineno, tok, value
        except TemplateSyntaxError:
            lexer_error = cursor  # the lexer stopped at the first character it could not take
            raise

    where: dict[int, int] = {}

    def tokens() -> Iterator[Token]:
        for t in env.lexer.wrap(raw()):
            where[id(t)] = positions[-1]
            yield t

    parser = None
    try:
        parser = Parser(env, "")  # its own (empty) stream is replaced by the located one
        parser.stream = TokenStream(tokens(), None, None)
        parser.parse()
    except TemplateSyntaxError as exc:
        message = exc.message or "syntax error"
        m = _AT.search(message)
        if m:
            return int(m.group(1)), message[: m.start()]
        if lexer_error is not None:
            return lexer_error, message
        token = parser.stream.current if parser is not None and hasattr(parser, "stream") else None
        offset = where.get(id(token), cursor) if token is not None else cursor
        return offset, message
    return None
