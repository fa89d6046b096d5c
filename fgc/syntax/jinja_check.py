"""Jinja checks of a parsed template, with positions in the original file.

Two checks:

* `check_structure(chunk)`: the block structure of the statements (`if`/`endif`, `for`,
  `block`, `macro`, ...) and its interplay with TOML-style blocks, which end implicitly.
  Pure Python over the AST; runs on every parse.
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
from dataclasses import dataclass
from typing import Iterator

from ..diagnostics import Diagnostic, Related, Span, error
from .template_ast import (
    Chunk,
    Expression,
    Item,
    JinjaPiece,
    PieceKind,
    Statement,
    Template,
    TextLine,
    TomlBlock,
    keyword_of,
)

_OPENERS = frozenset({"if", "for", "block", "macro", "call", "filter", "with", "raw", "autoescape", "set"})
_MIDDLES = {"elif": ("if",), "else": ("if", "for")}
_CLOSERS = {f"end{k}": k for k in _OPENERS}
_BLOCK_NAME = re.compile(r"\s*block\s+([A-Za-z_]\w*)")
_END_NAME = re.compile(r"\s*end(?:block|macro)\s+([A-Za-z_]\w*)")
_AT = re.compile(r" at (\d+)$")
_HINTS = {
    "do": "the `do` extension is not enabled (as in the reference); use `-- set _ = x.append(y)`",
    "break": "loop controls are not enabled (as in the reference); filter the loop instead",
    "continue": "loop controls are not enabled (as in the reference); filter the loop instead",
}


def is_block_set(body: str) -> bool:
    """`set x` (a block assignment, closed by `endset`) rather than `set x = value`."""
    return keyword_of(body) == "set" and "=" not in body


# --------------------------------------------------------------------------------------------
# Block structure


@dataclass
class _Frame:
    keyword: str  # "if", "for", ... or "[toml]"
    node: object  # the opening Statement/JinjaPiece, or the TomlBlock
    name: str = ""  # block name for `block`


def _span_of(node) -> Span:
    return node.body_span if isinstance(node, (Statement, JinjaPiece)) else node.header_span


def _describe(frame: _Frame) -> str:
    s = _span_of(frame.node)
    what = f"block `[{frame.name}]`" if frame.keyword == "[toml]" else f"`{frame.keyword}`"
    return f"{what} opened at line {s.line}"


def check_structure(chunk: Chunk) -> list[Diagnostic]:
    """Balanced statements, statements inside TOML blocks, no block defined twice."""
    diags: list[Diagnostic] = []
    stack: list[_Frame] = []
    orphans: list[_Frame] = []  # statements already reported open at the end of a TOML block
    blocks: dict[str, Span] = {}
    in_raw = False

    def define_block(name: str, span: Span) -> None:
        if name in blocks:
            diags.append(
                error(
                    "FG0113",
                    f"block `{name}` is defined twice in this template",
                    span,
                    related=(Related(blocks[name], "first defined here"),),
                )
            )
        else:
            blocks[name] = span

    def tag(node) -> None:
        nonlocal in_raw
        body = node.body
        kw = keyword_of(body)
        if in_raw:
            if kw == "endraw":
                in_raw = False
                _pop_to(stack, "raw")
            return
        if kw in _OPENERS:
            if kw == "set" and not is_block_set(body):
                return
            name = ""
            if kw == "block":
                m = _BLOCK_NAME.match(body)
                name = m.group(1) if m else ""
                if name:
                    define_block(name, _name_span(node, m))
            stack.append(_Frame(kw, node, name))
            in_raw = kw == "raw"
        elif kw in _MIDDLES:
            top = stack[-1] if stack else None
            if top is None or top.keyword not in _MIDDLES[kw]:
                wanted = " or ".join(f"`{k}`" for k in _MIDDLES[kw])
                inside = f" (inside {_describe(top)})" if top else ""
                diags.append(error("FG0111", f"`{kw}` outside {wanted}{inside}", node.body_span))
        elif kw in _CLOSERS:
            _close(node, kw, _CLOSERS[kw])

    def _close(node, kw: str, opener: str) -> None:
        top = stack[-1] if stack else None
        if top is not None and top.keyword == opener:
            stack.pop()
            if opener == "block":
                m = _END_NAME.match(node.body)
                if m and top.name and m.group(1) != top.name:
                    diags.append(
                        error(
                            "FG0111",
                            f"`endblock {m.group(1)}` closes block `{top.name}`",
                            node.body_span,
                            related=(Related(_span_of(top.node), f"block `{top.name}` opened here"),),
                        )
                    )
            return
        # Is the opener further down, inside the current TOML block, or outside it?
        for depth in range(len(stack) - 1, -1, -1):
            frame = stack[depth]
            if frame.keyword == "[toml]":
                outside = [i for i, f in enumerate(stack[:depth]) if f.keyword == opener]
                if outside:
                    opened = stack.pop(outside[-1])
                    diags.append(
                        error(
                            "FG0112",
                            f"`{kw}` closes the `{opener}` of line {_span_of(opened.node).line}, "
                            f"outside block `[{frame.name}]`",
                            node.body_span,
                            hint="a TOML-style block ends only at the next header: close the statement "
                            "inside the block, or use `-- block`/`-- endblock`",
                            related=(Related(frame.node.header_span, f"block `[{frame.name}]` starts here"),),
                        )
                    )
                    return
                break
            if frame.keyword == opener:
                diags.append(
                    error(
                        "FG0111",
                        f"`{kw}` found while {_describe(top)} is still open",
                        node.body_span,
                        related=(Related(_span_of(top.node), f"`{top.keyword}` opened here"),),
                    )
                )
                del stack[depth:]
                return
        for i, frame in enumerate(orphans):
            if frame.keyword == opener:
                del orphans[i]
                return
        diags.append(error("FG0111", f"`{kw}` without an open `{opener}`", node.body_span))

    def items(xs: list[Item]) -> None:
        for item in xs:
            if isinstance(item, Statement):
                tag(item)
            elif isinstance(item, TextLine):
                for p in item.parts:
                    if isinstance(p, JinjaPiece) and p.kind is PieceKind.STATEMENT:
                        tag(p)
            elif isinstance(item, TomlBlock):
                if in_raw:
                    continue
                define_block(item.name, item.name_span)
                stack.append(_Frame("[toml]", item, item.name))
                items(item.items)
                while stack and stack[-1].keyword != "[toml]":
                    frame = stack.pop()
                    orphans.append(frame)
                    diags.append(
                        error(
                            "FG0112",
                            f"`{frame.keyword}` is still open where block `[{item.name}]` ends",
                            _span_of(frame.node),
                            hint="a TOML-style block ends at the next header at the same or a smaller "
                            "indentation: close the statement before it",
                            related=(Related(item.header_span, f"block `[{item.name}]` starts here"),),
                        )
                    )
                if stack:
                    stack.pop()

    items(chunk.items)
    for frame in stack:
        end = f"end{frame.keyword}"
        diags.append(
            error(
                "FG0111",
                f"`{frame.keyword}` is never closed: no `{end}` before the end of the template",
                _span_of(frame.node),
            )
        )
    return diags


def raw_lines(chunk: Chunk) -> set[int]:
    """Lines inside `{% raw %}...{% endraw %}`: jinja2 reads them as plain text."""
    out: set[int] = set()
    start = None
    for item in chunk.walk():
        tags = [item] if isinstance(item, Statement) else (
            [p for p in item.parts if isinstance(p, JinjaPiece) and p.kind is PieceKind.STATEMENT]
            if isinstance(item, TextLine) else []
        )
        if start is not None and not tags:
            out.update(range(item.span.line, item.span.end_line + 1))
        for tag in tags:
            kw = keyword_of(tag.body)
            if kw == "raw" and start is None:
                start = tag.span.line
            elif kw == "endraw" and start is not None:
                out.update(range(start + 1, tag.span.line))
                start = None
    return out


def _pop_to(stack: list[_Frame], keyword: str) -> None:
    for depth in range(len(stack) - 1, -1, -1):
        if stack[depth].keyword == keyword:
            del stack[depth:]
            return


def _name_span(node, m: re.Match) -> Span:
    s = node.body_span
    lead = len(node.body) - len(node.body.lstrip())
    col = s.col - lead + m.start(1)
    return Span(s.file, s.line, col, s.line, col + len(m.group(1)))


# --------------------------------------------------------------------------------------------
# jinja2's parser


def check_template(template: Template, known: list[Diagnostic] = ()) -> list[Diagnostic]:
    """Parse every chunk of `template` with jinja2 (unmarked lowering); the new diagnostics."""
    from .jinja_env import parse_environment
    from .jinja_source import lower_chunk

    env = parse_environment()
    out: list[Diagnostic] = []
    for chunk in template.chunks:
        _, diags = check_chunk(chunk, lower_chunk(chunk), env, known)
        out.extend(diags)
    return out


def check_chunk(chunk: Chunk, lowered: str, env, known: list[Diagnostic] = (), filename: str | None = None):
    """(jinja2 AST or None, diagnostics) for one chunk's canonical Jinja `lowered`.

    `known` are diagnostics already reported for the template; a failure of the whole-chunk parse
    that they (or the per-statement checks) explain is not reported again.
    """
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.parser import Parser

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


def _checked_nodes(chunk: Chunk) -> Iterator[object]:
    for item in chunk.walk():
        if isinstance(item, (Statement, Expression, TomlBlock)):
            yield item
        elif isinstance(item, TextLine):
            for p in item.parts:
                if isinstance(p, JinjaPiece) and p.kind is not PieceKind.COMMENT:
                    yield p


def _wrap(node) -> tuple[str, int, str] | None:
    """(wrapper source, offset of the body in it, body) to parse one node alone."""
    if isinstance(node, TomlBlock):
        body = f"block {node.name}"
        return "{% " + body + " %}{% endblock %}", 3, body
    body = node.body
    if isinstance(node, Expression) or (isinstance(node, JinjaPiece) and node.kind is PieceKind.EXPRESSION):
        return "{{ " + body + " }}", 3, body
    kw = keyword_of(body)
    if kw in _MIDDLES:
        return "{% if 0 %}{% " + body + " %}{% endif %}", 13, body
    if kw in _CLOSERS or kw == "raw":
        return None
    suffix = ""
    if kw in _OPENERS and (kw != "set" or is_block_set(body)):
        suffix = "{% end" + kw + " %}"
    return "{% " + body + " %}" + suffix, 3, body


def _check_node(env, node) -> Diagnostic | None:
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


def _body_origin(node) -> tuple[int, int]:
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


def parse_located(env, source: str) -> tuple[int, str] | None:
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

    def raw():
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

    def tokens():
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
