"""The config layer's parser: rendered YAML text + its source map -> the typed config AST.

    document, diagnostics = parse_config(text, source_map)

`fgc.syntax.config_lexer` turns the text into tokens (doing YAML's indentation work), the LALR
grammar `grammar/config.lark` gives them structure (Lark computes the tables; `_Driver` runs
them), and the methods of `_Builder` build the `fgc.syntax.config_ast` nodes during the
parse (no parse tree is kept). The driver and the tables are shared and hold no per-parse
state; each parse has its own `_Builder`, so parses may run concurrently. Positions are
computed in rendered coordinates and mapped to the original templates by the source map.

Errors never raise: they become diagnostics. After a syntax error the parser closes every
open collection, so the document returned holds everything before the error.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator

from lark import Lark, Tree
from lark.lexer import Lexer

from ..diagnostics import Diagnostic, Related, Result, Severity, Span, sort_key
from ..pyast import exclusive
from ..resources import grammar_path
from ..sourcemap import SourceMap
from . import config_codes as C
from . import config_lexer as L
from .config_chunks import ChunkCache, parse_chunked
from .config_spans import SpanMapper
from .lalr_tables import lalr_tables
from .config_ast import (
    Alias,
    Anchor,
    Document,
    Entry,
    Mapping,
    ConfigAstNode,
    Scalar,
    ScalarStyle,
    Sequence,
    Tag,
    Tagged,
)
from .scalars import TagValueError, resolve_plain_scalar, resolve_tagged_scalar, yaml11_difference

# A node under construction: the node and its rendered range (line, col, end line, end col),
# 1-based columns, end exclusive.
Built = tuple[ConfigAstNode, int, int, int, int]


class _TokenFeed(Lexer):
    """Placeholder lexer for Lark's grammar compilation: tokens come from ConfigLexer."""

    __future_interface__ = 2

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[Any]:  # our L.Tok, not lark Tokens
        return iter(lexer_state.text)


class _Builder:
    """One method per grammar rule (or alias); they build AST nodes bottom-up during one parse.

    One builder per parse: it holds the parse's span mapper and diagnostics.
    """

    def __init__(self, sm: SpanMapper, diagnostics: list[Diagnostic]) -> None:
        self.sm = sm
        self.diagnostics = diagnostics

    def _span(self, sl: int, sc: int, el: int, ec: int) -> Span:
        return self.sm.to_span(sl, sc, el, ec)

    def _empty(self, line: int, col: int) -> Built:
        return (Scalar(self._span(line, col, line, col), None), line, col, line, col)

    # -- document -----------------------------------------------------------------------------

    def start(self, children: list) -> Built | None:
        return children[0]

    # -- nodes --------------------------------------------------------------------------------

    def scalar(self, children: list) -> Built:
        tok = children[0]
        value = tok.value
        if tok.style is ScalarStyle.PLAIN:
            text = value
            value = resolve_plain_scalar(text)
            if text and text[0] in _WARN_START:
                self._check_yaml11(tok, text, value)
        span = self._span(tok.line, tok.column, tok.end_line, tok.end_column)
        return (Scalar(span, value, tok.style, tok.raw), tok.line, tok.column, tok.end_line, tok.end_column)

    def _check_yaml11(self, tok: L.Tok, text: str, value: Any) -> None:
        difference = yaml11_difference(text, value)
        if difference:
            self.diagnostics.append(Diagnostic(
                C.YAML11, Severity.WARNING, difference.message,
                self._span(tok.line, tok.column, tok.end_line, tok.end_column), hint=difference.hint,
            ))

    def alias(self, children: list) -> Built:
        tok = children[0]
        span = self._span(tok.line, tok.column, tok.end_line, tok.end_column)
        return (Alias(span, tok.value), tok.line, tok.column, tok.end_line, tok.end_column)

    def properties(self, children: list) -> tuple[L.Tok | None, L.Tok | None]:
        tag = anchor = None
        for tok in children:
            if tok.type == L.TAG:
                tag = tok
            else:
                anchor = tok
        return tag, anchor

    def scalar_with_properties(self, children: list) -> Built:
        (tag, anchor), tok = children
        std = tag.value if tag is not None and isinstance(tag.value, str) else None
        if std is None:
            if tag is not None and tag.value is None and tok.style is ScalarStyle.PLAIN:
                # The tag was already reported as unknown: no further warnings about its body.
                span = self._span(tok.line, tok.column, tok.end_line, tok.end_column)
                node = Scalar(span, resolve_plain_scalar(tok.value), tok.style, tok.raw)
                return self._wrap(None, anchor, (node, tok.line, tok.column, tok.end_line, tok.end_column))
            return self._wrap(tag, anchor, self.scalar([tok]))
        span = self._span(tok.line, tok.column, tok.end_line, tok.end_column)
        node = Scalar(span, self._tagged_value(tag, std, tok.value, span), tok.style, tok.raw, tag.raw)
        return self._wrap(None, anchor, (node, tok.line, tok.column, tok.end_line, tok.end_column))

    def _tagged_value(self, tag: L.Tok, std: str, text: str, span: Span) -> Any:
        try:
            return resolve_tagged_scalar(std, text)
        except TagValueError as e:
            self.diagnostics.append(Diagnostic(
                C.TAG_VALUE, Severity.ERROR, f"{e} (tagged `{tag.raw}`)", span, hint=e.hint,
                related=(Related(self._span(tag.line, tag.column, tag.end_line, tag.end_column), "the tag"),),
            ))
            return text

    def empty_with_properties(self, children: list) -> Built:
        tag, anchor = children[0]
        last = anchor if tag is None or (anchor is not None and anchor.end_pos > tag.end_pos) else tag
        line, col = last.end_line, last.end_column
        built = self._empty(line, col)
        std = tag.value if tag is not None and isinstance(tag.value, str) else None
        if std is not None:
            node = built[0]
            assert isinstance(node, Scalar)  # what _empty builds
            node.std_tag = tag.raw
            node.value = self._tagged_value(tag, std, "", node.span)
            tag = None
        return self._wrap(tag, anchor, built)

    def with_properties(self, children: list) -> Built:
        (tag, anchor), built = children
        if tag is not None and isinstance(tag.value, str):
            node = built[0]
            want = {"map": Mapping, "seq": Sequence}.get(tag.value)
            if want is None or not isinstance(node, want):
                found = "a mapping" if isinstance(node, Mapping) else "a sequence"
                self.diagnostics.append(Diagnostic(
                    C.TAG_VALUE, Severity.ERROR, f"`{tag.raw}` does not apply to {found}",
                    self._span(tag.line, tag.column, tag.end_line, tag.end_column),
                ))
            tag = None
        return self._wrap(tag, anchor, built)

    def _wrap(self, tag: L.Tok | None, anchor: L.Tok | None, built: Built) -> Built:
        """Put a Forgather tag and an anchor around a node: Anchor(Tagged(node))."""
        node, sl, sc, el, ec = built
        if tag is not None and isinstance(tag.value, Tag):
            sl, sc = min((sl, sc), (tag.line, tag.column))
            node = Tagged(self._span(sl, sc, el, ec), tag.value, node)
        if anchor is not None:
            sl, sc = min((sl, sc), (anchor.line, anchor.column))
            name_span = self._span(anchor.line, anchor.column, anchor.end_line, anchor.end_column)
            node = Anchor(self._span(sl, sc, el, ec), anchor.value, node, name_span)
        return (node, sl, sc, el, ec)

    # -- block collections --------------------------------------------------------------------

    def block_mapping(self, children: list) -> Built:
        pairs = children[0]
        first, last = pairs[0], pairs[-1]
        sl, sc, el, ec = first[1], first[2], last[3], last[4]
        return (Mapping(self._span(sl, sc, el, ec), [p[0] for p in pairs]), sl, sc, el, ec)

    def block_pairs(self, children: list) -> list:
        """A growing list: [item] for the first, then the list with one more item appended."""
        if len(children) == 1:
            return children
        children[0].append(children[1])
        return children[0]

    block_items = flow_seq_items = flow_map_items = block_pairs

    def block_pair(self, children: list) -> tuple[Entry, int, int, int, int]:
        key, colon, value = children
        if key is None:
            key = self._empty(colon.line, colon.column)
        if value is None:
            value = self._empty(colon.end_line, colon.end_column)
        sl, sc, el, ec = key[1], key[2], value[3], value[4]
        if (value[3], value[4]) < (colon.end_line, colon.end_column):  # cannot happen; keep ends ordered
            el, ec = colon.end_line, colon.end_column
        return (Entry(key[0], value[0], self._span(sl, sc, el, ec)), sl, sc, el, ec)

    def block_sequence(self, children: list) -> Built:
        items = children[0]
        first, last = items[0], items[-1]
        sl, sc, el, ec = first[1], first[2], last[3], last[4]
        return (Sequence(self._span(sl, sc, el, ec), [i[0] for i in items]), sl, sc, el, ec)

    def block_item(self, children: list) -> Built:
        dash, node = children
        if node is None:
            node = self._empty(dash.end_line, dash.end_column)
        return (node[0], dash.line, dash.column, node[3], node[4])

    # -- flow collections ---------------------------------------------------------------------

    def flow_sequence(self, children: list) -> Built:
        open_, close = children[0], children[-1]
        items = [c[0] for c in children[1]] if len(children) == 3 else []
        sl, sc, el, ec = open_.line, open_.column, close.end_line, close.end_column
        return (Sequence(self._span(sl, sc, el, ec), items, flow=True), sl, sc, el, ec)

    def flow_mapping(self, children: list) -> Built:
        open_, close = children[0], children[-1]
        entries = [c[0] for c in children[1]] if len(children) == 3 else []
        sl, sc, el, ec = open_.line, open_.column, close.end_line, close.end_column
        return (Mapping(self._span(sl, sc, el, ec), entries, flow=True), sl, sc, el, ec)

    flow_pair = block_pair

    def single_pair_mapping(self, children: list) -> Built:
        entry, sl, sc, el, ec = children[0]
        return (Mapping(entry.span, [entry], flow=True), sl, sc, el, ec)

    def lone_key(self, children: list) -> tuple[Entry, int, int, int, int]:
        key = children[0]
        value = self._empty(key[3], key[4])
        return (Entry(key[0], value[0], self._span(key[1], key[2], key[3], key[4])),) + key[1:]


# Plain scalars that may read differently in YAML 1.1 start with one of these characters.
_WARN_START = frozenset("0123456789+-.=yYnNoO")



class _SyntaxError(Exception):
    def __init__(self, index: int, expected: set[str]) -> None:
        self.index = index
        self.expected = expected


class _Driver:
    """The LALR loop, over the tables Lark computes from grammar/config.lark.

    Lark's own loop finds reductions through Rule objects and nonterminal names that are lark
    Tokens (compared in Python); this driver uses the tables as plain dicts
    (`fgc.syntax.lalr_tables`) and calls Lark's rule callbacks directly: they filter the
    children (placeholders for `[x]`, no `_X` terminals) and return a `Tree` naming the rule,
    which the parse's `_Builder` turns into its node at once. It also does the error
    recovery: after a syntax error it closes every open collection.
    """

    def __init__(self, lark: Lark) -> None:
        tables = lalr_tables(lark)
        self.start, self.end, self.states = tables.start, tables.end, tables.states

    def _feed(self, ss: list, vs: list, tok: Any, builder: _Builder) -> tuple[bool, Any]:
        """Shift one token (after any reductions); (True, result) once the input is accepted."""
        states = self.states
        ttype = tok.type
        while True:
            act = states[ss[-1]].get(ttype)
            if act is None:
                raise _SyntaxError(-1, {k for k in states[ss[-1]] if k.isupper()})
            shift, arg = act
            if shift:
                ss.append(arg)
                vs.append(tok)
                return False, None
            size, origin, build = arg.size, arg.origin, arg.build
            if size:
                children = vs[-size:]
                del vs[-size:]
                del ss[-size:]
            else:
                children = []
            value = build(children)
            if value.__class__ is Tree:
                value = getattr(builder, value.data)(value.children)
            ss.append(states[ss[-1]][origin][1])
            vs.append(value)
            if ttype == "$END" and ss[-1] == self.end:
                return True, value

    def _accepts(self, ss: list, ttype: str) -> bool:
        """Whether `ttype` can come next (reductions simulated on the states only)."""
        states = self.states
        ss = list(ss)
        while True:
            act = states[ss[-1]].get(ttype)
            if act is None:
                return False
            shift, arg = act
            if shift:
                return True
            size, origin = arg.size, arg.origin
            if size:
                del ss[-size:]
            ss.append(states[ss[-1]][origin][1])
            if ttype == "$END" and ss[-1] == self.end:
                return True

    def parse(self, tokens: list[L.Tok], builder: _Builder) -> tuple[Any, _SyntaxError | None]:
        """The parse result, and the first syntax error (then the result is what came before)."""
        ss: list = [self.start]
        vs: list = []
        feed = self._feed
        for i, tok in enumerate(tokens):
            try:
                feed(ss, vs, tok, builder)
            except _SyntaxError as e:
                e.index = i
                return self._close(ss, vs, tok, builder), e
        end = L.Tok("$END", None, 1, 1, 1, 1, 0, 0)
        if tokens:
            last = tokens[-1]
            end = L.Tok("$END", None, last.end_line, last.end_column, last.end_line, last.end_column,
                        last.end_pos, last.end_pos)
        try:
            return feed(ss, vs, end, builder)[1], None
        except _SyntaxError as e:
            e.index = len(tokens)
            return self._close(ss, vs, end, builder), e

    def _close(self, ss: list, vs: list, at: L.Tok, builder: _Builder) -> Any:
        """Finish the parse where it stopped by closing every open collection."""
        for _ in range(len(ss) + 2):
            if self._accepts(ss, "$END"):
                return self._feed(ss, vs, L.Tok("$END", None, at.line, at.column, at.line, at.column,
                                               at.start_pos, at.start_pos), builder)[1]
            for kind in _CLOSERS:
                if self._accepts(ss, kind):
                    self._feed(ss, vs, L.Tok(kind, None, at.line, at.column, at.line, at.column,
                                            at.start_pos, at.start_pos), builder)
                    break
            else:
                return None
        return None


_CLOSERS = (L.BLOCK_END, L.FSEQ_END, L.FMAP_END)


@functools.cache  # built once; two threads racing here build equal drivers
def _driver() -> _Driver:
    with exclusive():  # Lark reads the grammar's strings with ast.literal_eval (fgc/pyast.py)
        return _Driver(
            Lark(
                grammar_path("config.lark").read_text(encoding="utf-8"),
                parser="lalr",
                lexer=_TokenFeed,
                maybe_placeholders=True,
                cache=True,  # Lark keeps the table analysis in a temp file keyed by the grammar's hash
            )
        )


def parse_config(text: str, source_map: SourceMap, chunks: ChunkCache | None = None) -> Result[Document]:
    """Parse rendered YAML into the config AST; positions map through `source_map`.

    Returns the document (its root is None for an empty document, or when nothing could be
    built) and the diagnostics, sorted by position. Never raises for bad input. `chunks` (a
    long-lived caller's): the document's top-level entries are reused from its last parse where
    their text and origins did not change (`config_chunks`; the same result).
    """
    spans = SpanMapper(source_map)
    if chunks is not None:
        document = parse_chunked(text, source_map, spans, chunks, _parse_chunk)
        if document is not None:
            return Result(document, [])
    tokens, diagnostics, fatal = L.tokenize(text, spans)
    root, error = _driver().parse(tokens, _Builder(spans, diagnostics))
    if error is not None and not fatal:  # after a lexer error the stream was cut short on purpose
        diagnostics.append(_syntax_error(tokens, error.index, error.expected, source_map))
    lines = text.split("\n")
    span = source_map.to_span(1, 1, len(lines), len(lines[-1]) + 1)
    document = Document(root[0] if root else None, span)
    diagnostics.sort(key=sort_key)
    return Result(document, diagnostics)


def _parse_chunk(text: str, spans: SpanMapper) -> tuple[Any, list[Diagnostic], bool]:
    """One chunk's root (a `Built`), its diagnostics, and whether the parse failed."""
    tokens, diagnostics, fatal = L.tokenize(text, spans)
    root, error = _driver().parse(tokens, _Builder(spans, diagnostics))
    return root, diagnostics, fatal or error is not None


# -- syntax error messages --------------------------------------------------------------------

def _describe(tok: Any, tokens: list[L.Tok]) -> str:
    t = tok.type
    if t == "$END":
        return "the end of the document"
    if t == L.KEY:
        # A virtual token: describe the key that follows it.
        i = _index(tok, tokens)
        nxt = tokens[i + 1] if 0 <= i < len(tokens) - 1 else None
        if nxt is None or nxt.type == L.VALUE:
            return "`:`"
        return f"the mapping key {_describe(nxt, tokens)}"
    if t == L.SCALAR:
        return f"the scalar `{L._short(tok.raw)}`"
    if t == L.TAG:
        return f"the tag `{tok.raw}`"
    if t == L.ANCHOR:
        return f"the anchor `&{tok.value}`"
    if t == L.ALIAS:
        return f"the alias `*{tok.value}`"
    if t == L.BMAP_START:
        return "a more indented mapping"
    if t == L.BSEQ_START:
        return "a more indented sequence"
    if t == L.BLOCK_END:
        return "less indentation"
    return {L.VALUE: "`:`", L.ENTRY: "`-`", L.COMMA: "`,`", L.FSEQ_START: "`[`", L.FSEQ_END: "`]`",
            L.FMAP_START: "`{`", L.FMAP_END: "`}`"}.get(t, t)


def _index(tok: Any, tokens: list[L.Tok]) -> int:
    for i, t in enumerate(tokens):
        if t is tok:
            return i
    return -1


_OPENERS = {L.FSEQ_START: "flow sequence", L.FMAP_START: "flow mapping",
            L.BMAP_START: "mapping", L.BSEQ_START: "sequence"}
_ENDS = frozenset({L.FSEQ_END, L.FMAP_END, L.BLOCK_END})


def _context(tokens: list[L.Tok], upto: int) -> str:
    """The innermost collection open before tokens[upto]: "flow sequence", ..., or "document"."""
    stack: list[str] = []
    for t in tokens[:upto]:
        if t.type in _OPENERS:
            stack.append(_OPENERS[t.type])
        elif t.type in _ENDS and stack:
            stack.pop()
    return stack[-1] if stack else "document"


def _properties_before(tokens: list[L.Tok], index: int) -> set[str]:
    """The kinds of the tags and anchors written right before tokens[index]."""
    kinds = set()
    i = index - 1
    while i >= 0 and tokens[i].type in (L.TAG, L.ANCHOR):
        kinds.add(tokens[i].type)
        i -= 1
    return kinds


def _one_of(names: list[str]) -> str:
    return " or ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " or " + names[-1]


def _syntax_error(tokens: list[L.Tok], index: int, expected: set[str], sm: SourceMap) -> Diagnostic:
    """The diagnostic for a token the grammar does not accept: what was found, what was expected."""
    tok = tokens[index] if index < len(tokens) else L.Tok("$END", None, 1, 1, 1, 1, 0, 0)
    found = _describe(tok, tokens)
    if tok.type == "$END":
        last = tokens[-1] if tokens else None
        line, col = (last.end_line, last.end_column) if last else (1, 1)
        end_line, end_col = line, col
    else:
        line, col, end_line, end_col = tok.line, tok.column, tok.end_line, tok.end_column
        if tok.type == L.KEY and 0 <= index < len(tokens) - 1:
            nxt = tokens[index + 1]
            end_line, end_col = nxt.end_line, nxt.end_column
    if (end_line, end_col) <= (line, col):
        end_line, end_col = line, col + 1
    hint = None
    previous = tokens[index - 1] if index > 0 else None
    if (previous is not None and previous.type == L.SCALAR and previous.style is ScalarStyle.PLAIN
            and tok.type in (L.KEY, L.VALUE) and " " in previous.value.strip()):
        hint = f"is a `,` missing before `{previous.value.rsplit(' ', 1)[1]}`?"
    # LALR merges states, so `expected` may name tokens of other contexts: phrase what is
    # expected from the collection actually open at the error.
    context = _context(tokens, index)
    value = bool({L.SCALAR, L.FSEQ_START, L.FMAP_START, L.TAG, L.ANCHOR, L.ALIAS} & expected)
    if tok.type == L.ALIAS and L.ALIAS not in expected:
        message = f"found {found}: an alias cannot have a tag or an anchor"
    elif tok.type in (L.TAG, L.ANCHOR) and tok.type in _properties_before(tokens, index):
        what = "tag" if tok.type == L.TAG else "anchor"
        message = f"found {found}: a node can have only one {what}"
    elif context.startswith("flow"):
        close = "`]`" if context == "flow sequence" else "`}`"
        names = (["a value"] if value else []) + (["`,`"] if L.COMMA in expected else []) + [close]
        message = f"found {found} in a {context}: expected {_one_of(names)}"
    else:
        names = ["a value"] if value else []
        if context == "mapping" and L.KEY in expected:
            names.append("the next key on a new line")
        elif context == "sequence" and L.ENTRY in expected:
            names.append("the next `- ` entry on a new line")
        elif context == "document" and "$END" in expected:
            names.append("the end of the document")
        message = f"found {found}, expected {_one_of(names)}" if names else f"unexpected {found}"
    return Diagnostic(C.SYNTAX, Severity.ERROR, message, sm.to_span(line, col, end_line, end_col), hint=hint)
