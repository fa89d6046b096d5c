"""The config layer's lexer: rendered YAML text -> the token stream of grammar/config.lark.

YAML's block structure is not Python's (compact sequences `- - a`, `- key: v`, sequences at the
same indentation as their parent key, multi-line plain scalars, block scalars), so this lexer
does the YAML-specific work and the grammar stays declarative. It follows the scanner design
of libyaml / PyYAML:

* a stack of open block collections (column and kind) produces `_BMAP_START`, `_BSEQ_START`
  and `_BLOCK_END` tokens as indentation grows and shrinks;
* a mapping key is only known when its `:` arrives, so the position where a "simple key" could
  start is remembered per flow level and `_KEY` (and `_BMAP_START`) are inserted there
  retroactively; a simple key must fit on one line;
* scalars are decoded here (escapes, line folding, block scalar chomping) and arrive as one
  `SCALAR` token whose value is the decoded text; typing happens in the parser.

Errors become diagnostics with exact positions. A "fatal" error (broken structure) stops the
token stream; the lexer then closes every open collection so that the parser can still build
the part of the document before the error.
"""

from __future__ import annotations

import re
from typing import Any

from ..diagnostics import Diagnostic, Related, Severity, Span, did_you_mean
from ..sourcemap import SourceMap
from . import config_codes as C
from .config_ast import FORGATHER_TAGS, ScalarStyle, Tag
from .config_spans import SpanMapper
from .scalars import STANDARD_TAGS, UNSUPPORTED_STANDARD_TAGS


class Tok:
    """A token. Field names follow lark.Token (1-based columns, end exclusive)."""

    __slots__ = ("type", "value", "line", "column", "end_line", "end_column", "start_pos", "end_pos", "style", "raw",
                 "segment")

    def __init__(self, type: str, value: Any, line: int, column: int, end_line: int, end_column: int,
                 start_pos: int, end_pos: int, style: ScalarStyle | None = None, raw: str = "") -> None:
        self.type = type
        self.value = value
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column
        self.start_pos = start_pos
        self.end_pos = end_pos
        self.style = style  # scalars: their style
        self.raw = raw  # scalars: the source text; tags: the tag as written
        self.segment: tuple[int, int] | None = None  # multi-line plain scalars: (line, col) of the last line

    def __repr__(self) -> str:
        return f"Tok({self.type}, {self.value!r}, {self.line}:{self.column})"


# Token types (terminals of grammar/config.lark).
BMAP_START, BSEQ_START, BLOCK_END = "_BMAP_START", "_BSEQ_START", "_BLOCK_END"
KEY, VALUE, ENTRY, COMMA = "_KEY", "VALUE", "ENTRY", "_COMMA"
FSEQ_START, FSEQ_END, FMAP_START, FMAP_END = "FSEQ_START", "FSEQ_END", "FMAP_START", "FMAP_END"
SCALAR, ALIAS, ANCHOR, TAG = "SCALAR", "ALIAS", "ANCHOR", "TAG"

# Tokens after which a new block collection may start (the node position of a key or entry).
_NODE_OPENERS = frozenset({VALUE, ENTRY})
_PROPERTIES = frozenset({TAG, ANCHOR})

ESCAPES = {
    "0": "\0", "a": "\x07", "b": "\x08", "t": "\t", "\t": "\t", "n": "\n", "v": "\x0b",
    "f": "\x0c", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}

# A plain scalar on one line: "pieces" of non-space characters separated by blanks. A piece
# cannot start with `#` (that is a comment); `:` belongs to it only when followed by a
# non-space character (in flow context: by a character that is not a flow indicator either).
_PIECE_BLOCK = r"(?:[^\s:#]|:(?=\S))(?:[^\s:]|:(?=\S))*"
_PIECE_FLOW = r"(?:[^\s:#,\[\]{}]|:(?=[^\s,\[\]{}]))(?:[^\s:,\[\]{}]|:(?=[^\s,\[\]{}]))*"
PLAIN_BLOCK = re.compile(f"{_PIECE_BLOCK}(?:[ \t]+{_PIECE_BLOCK})*")
PLAIN_FLOW = re.compile(f"{_PIECE_FLOW}(?:[ \t]+{_PIECE_FLOW})*")
_BLANKS = re.compile(r"[ \t]*")
_SPACES = re.compile(r" *")
_SINGLE_SIMPLE = re.compile(r"'([^'\n]*)'(?!')")
_DOUBLE_SIMPLE = re.compile(r'"([^"\\\n]*)"')
_SINGLE_RUN = re.compile(r"[^'\n \t]+")
_DOUBLE_RUN = re.compile(r'[^"\\\n \t]+')
_ANCHOR_NAME = re.compile(r"[A-Za-z0-9_-]+")
_TAG_BLOCK = re.compile(r"[^\s]*")
_TAG_FLOW = re.compile(r"[^\s,\[\]{}]*")
_TAG_KIND = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NON_SPACE = re.compile(r"\S*")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")



def _end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where `pattern` ends when matched at `pos`; for the patterns above that match the empty
    string, so they always match."""
    m = pattern.match(text, pos)
    assert m is not None, pattern.pattern
    return m.end()


_WS_END = frozenset(" \t\n")
_FLOW_INDICATORS = frozenset(",[]{}")


class _Fatal(Exception):
    """Stops the token stream after a structural error (already reported)."""


class _Key:
    """Where a simple key could start: the token index to insert `_KEY` at."""

    __slots__ = ("index", "line", "col", "pos", "required")

    def __init__(self, index: int, line: int, col: int, pos: int, required: bool) -> None:
        self.index = index
        self.line = line
        self.col = col
        self.pos = pos
        self.required = required


def describe_char(ch: str) -> str:
    if ch == "":
        return "the end of the document"
    if ch == "\n":
        return "the end of the line"
    if ch == "\t":
        return "a tab"
    if ch == "`":
        return "a backtick"
    return f"`{ch}`" if ch.isprintable() else f"U+{ord(ch):04X}"


class ConfigLexer:
    """Tokenizes one rendered YAML document. Use `tokenize(text, source_map)`."""

    def __init__(self, text: str, source_map: SourceMap | SpanMapper) -> None:
        if "\r" in text:  # CRLF line ends; a lone CR counts as a blank (keeps line numbers)
            text = text.replace("\r\n", "\n").replace("\r", " ")
        self.text = text
        self.n = len(text)
        self.sm = source_map if isinstance(source_map, SpanMapper) else SpanMapper(source_map)
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.tokens: list[Tok] = []
        self.diagnostics: list[Diagnostic] = []
        self.fatal = False
        # Open block collections: (column, kind) with kind "map", "seq" or "iseq" (a sequence at
        # the indentation of its parent mapping's keys: `key:\n- a`).
        self.indents: list[tuple[int, str]] = []
        self.indent = -1
        self.flows: list[Tok] = []  # open `[` / `{` tokens
        self.keys: dict[int, _Key] = {}  # flow level -> possible simple key
        self.allow_key = True
        self.at_line_start = True
        self.document_started = False  # `---` seen
        self.document_ended = False  # `...` seen

    # ----------------------------------------------------------------------------------------
    # Positions and diagnostics

    @property
    def col(self) -> int:
        return self.pos - self.line_start

    def _position(self, pos: int) -> tuple[int, int]:
        """(line, 0-based column) of a text index, counting from the current line backwards."""
        line, start = self.line, self.line_start
        while pos < start:
            start = self.text.rfind("\n", 0, start - 1) + 1
            line -= 1
        return line, pos - start

    def _span(self, line: int, col: int, end_line: int, end_col: int) -> Span:
        return self.sm.to_span(line, col + 1, end_line, end_col + 1)

    def _report(self, code: str, message: str, line: int, col: int, length: int = 1, *,
                severity: Severity = Severity.ERROR, hint: str | None = None,
                related: tuple[Related, ...] = (), end: tuple[int, int] | None = None) -> None:
        el, ec = end if end else (line, col + length)
        self.diagnostics.append(
            Diagnostic(code, severity, message, self._span(line, col, el, ec), related, hint)
        )

    def _error_here(self, code: str, message: str, length: int = 1, **kw: Any) -> None:
        self._report(code, message, self.line, self.col, length, **kw)

    def _fail(self, code: str, message: str, line: int | None = None, col: int | None = None,
              length: int = 1, **kw: Any) -> None:
        """Report a structural error and stop the token stream."""
        if line is None or col is None:
            line, col = self.line, self.col
        self._report(code, message, line, col, length, **kw)
        raise _Fatal

    def _tok(self, type: str, value: Any, start: int, line: int, col: int,
             style: ScalarStyle | None = None, raw: str = "") -> Tok:
        """A token from text index `start` (at line/col) to the current position."""
        pos = self.pos
        return Tok(type, value, line, col + 1, self.line, pos - self.line_start + 1, start, pos, style, raw)

    def _point(self, type: str, line: int, col: int, pos: int) -> Tok:
        return Tok(type, None, line, col + 1, line, col + 1, pos, pos)

    # ----------------------------------------------------------------------------------------
    # Driver

    def tokenize(self) -> list[Tok]:
        try:
            self._check_characters()
            self._stream_start()
            while True:
                self._skip_to_token()
                if self.pos >= self.n:
                    break
                if self.at_line_start:
                    self._line_start()
                    continue  # a document marker may have moved the position
                if self.keys:
                    self._drop_stale_keys()
                self._fetch()
            self._stream_end()
        except _Fatal:
            self.fatal = True
            self._close_all()
        return self.tokens

    def _check_characters(self) -> None:
        for m in _CONTROL.finditer(self.text):
            line = self.text.count("\n", 0, m.start()) + 1
            col = m.start() - (self.text.rfind("\n", 0, m.start()) + 1)
            self._report(C.BAD_CHARACTER, f"control character U+{ord(m.group()):04X} is not allowed in YAML",
                         line, col, hint="write it as an escape in a double-quoted scalar (e.g. `\"\\x07\"`)")

    def _stream_start(self) -> None:
        if self.text.startswith("\ufeff"):
            self.pos = 1
        # Directives: only before the document.
        while True:
            self._skip_to_token()
            if self.pos < self.n and self.col == 0 and self.text[self.pos] == "%":
                end = self.text.find("\n", self.pos)
                end = self.n if end < 0 else end
                directive = self.text[self.pos:end].split(None, 1)[0]
                self._error_here(C.UNSUPPORTED, f"the directive `{directive}` is not supported",
                                 len(directive), hint="fgc reads YAML 1.2 with the standard tags; remove the directive")
                self.pos = end
                continue
            break

    def _stream_end(self) -> None:
        self._drop_stale_keys(at_end=True)
        if self.flows:
            self._unterminated_flow(self.flows[-1])
        self._close_all()

    def _close_all(self) -> None:
        line, col, pos = self.line, self.pos - self.line_start, self.pos
        if self.tokens:
            last = self.tokens[-1]
            line, col, pos = last.end_line, last.end_column - 1, last.end_pos
        for opener in reversed(self.flows):
            self.tokens.append(self._point(FSEQ_END if opener.type == FSEQ_START else FMAP_END, line, col, pos))
        self.flows.clear()
        for _ in self.indents:
            self.tokens.append(self._point(BLOCK_END, line, col, pos))
        self.indents.clear()
        self.indent = -1

    # ----------------------------------------------------------------------------------------
    # Whitespace, comments, line starts

    def _skip_to_token(self) -> None:
        text, n = self.text, self.n
        while True:
            start = self.pos
            self.pos = _end(_BLANKS, text, start)
            pos = self.pos
            if pos < n and text[pos] == "#":
                if pos > 0 and pos == start and text[pos - 1] not in _WS_END and pos != self.line_start:
                    self._error_here(C.COMMENT, "a comment needs whitespace before `#`", severity=Severity.WARNING,
                                     hint="insert a space before `#`")
                end = text.find("\n", pos)
                self.pos = pos = n if end < 0 else end
            if pos < n and text[pos] == "\n":
                self.pos = pos + 1
                self.line += 1
                self.line_start = self.pos
                self.at_line_start = True
                if not self.flows:
                    self.allow_key = True
                continue
            return

    def _line_start(self) -> None:
        """The first token of a line: indentation, document markers, block ends."""
        self.at_line_start = False
        text, pos = self.text, self.pos
        col = self.col
        if col and "\t" in text[self.line_start:pos]:
            tab = text.index("\t", self.line_start)
            if not self.flows:
                self._fail(C.TAB_INDENT, "tab characters cannot indent YAML", self.line, tab - self.line_start,
                           hint="indent with spaces")
            col = tab - self.line_start  # in flow context a tab is only a separator
        if col == 0 and text.startswith(("---", "..."), pos) and (pos + 3 >= self.n or text[pos + 3] in _WS_END):
            self._document_marker(text[pos:pos + 3])
            return
        if self.document_ended:
            self._fail(C.SYNTAX, "found content after the document end marker `...`",
                       hint="a file holds one document; remove the `...` line")
        if self.flows:
            if col <= self.indent and text[pos] not in "]},":
                closer = "]" if self.flows[-1].type == FSEQ_START else "}"
                eol = text.find("\n", pos)
                if text.find(closer, pos, self.n if eol < 0 else eol) < 0:
                    self._unterminated_flow(self.flows[-1])
                what = "sequence" if closer == "]" else "mapping"
                self._error_here(C.INDENTATION, f"bad indentation of a line inside a flow {what}",
                                 hint="indent it more than the key the collection belongs to")
            return
        self._drop_stale_keys()
        self._unwind(col)

    def _document_marker(self, marker: str) -> None:
        if self.flows:
            self._unterminated_flow(self.flows[-1])
        if marker == "---":
            if self.document_started or self.tokens or self.document_ended:
                self._fail(C.UNSUPPORTED, "several documents in one file are not supported", length=3,
                           hint="a config is one YAML document; remove the second `---`")
            self.document_started = True
            self.pos += 3
            self.allow_key = False  # a block mapping cannot start on the `---` line
            return
        self._drop_stale_keys(at_end=True)
        self._unwind(-1)
        self.document_ended = True
        self.pos += 3
        rest = _end(_BLANKS, self.text, self.pos)
        if rest < self.n and self.text[rest] not in "#\n":
            self.pos = rest
            self._fail(C.SYNTAX, "found content after the document end marker `...`",
                       hint="a file holds one document; remove the `...`")

    def _unwind(self, col: int) -> None:
        """Close the block collections more indented than `col`."""
        indents = self.indents
        while indents and indents[-1][0] > col:
            indents.pop()
            self.tokens.append(self._point(BLOCK_END, self.line, self.col, self.pos))
        if indents and indents[-1] == (col, "iseq") and not self._at_block_entry():
            indents.pop()
            self.tokens.append(self._point(BLOCK_END, self.line, self.col, self.pos))
        self.indent = indents[-1][0] if indents else -1

    def _at_block_entry(self) -> bool:
        pos = self.pos
        return self.text[pos] == "-" and (pos + 1 >= self.n or self.text[pos + 1] in _WS_END)

    def _push_indent(self, col: int, kind: str) -> None:
        self.indents.append((col, kind))
        self.indent = col

    # ----------------------------------------------------------------------------------------
    # Simple keys

    def _save_key(self) -> None:
        if self.allow_key:
            col = self.pos - self.line_start
            required = not self.flows and col == self.indent
            self.keys[len(self.flows)] = _Key(len(self.tokens), self.line, col, self.pos, required)

    def _drop_stale_keys(self, at_end: bool = False) -> None:
        if not self.keys:
            return
        for level, key in list(self.keys.items()):
            if key.line != self.line or at_end:
                if key.required:
                    self._missing_colon(key)
                del self.keys[level]

    def _missing_colon(self, key: _Key) -> None:
        tok = self.tokens[key.index]
        # A multi-line plain scalar followed by `: ` is a key indented too deeply.
        if (tok is self.tokens[-1] and tok.type == SCALAR and tok.end_line > tok.line
                and self.pos < self.n and self._is_value_indicator()):
            self._bad_plain_continuation(tok)
        self._fail(C.MAPPING_KEY, f"missing `:` after the mapping key `{_short(tok.raw or str(tok.value))}`",
                   key.line, key.col, max(1, tok.end_pos - tok.start_pos if tok.end_line == tok.line else 1),
                   hint="write `key: value`; a mapping key must fit on one line")

    def _bad_plain_continuation(self, tok: Tok) -> None:
        """A multi-line plain scalar followed by `: `: a key indented too deeply, or a line without `:`."""
        seg_line, seg_col = tok.segment or (tok.end_line, 0)
        first_line_start = tok.start_pos - (tok.column - 1)
        if seg_col == tok.column - 1 and not self.text[first_line_start:tok.start_pos].strip():
            # Both lines start at the same column: the first one lacks its `:`.
            first = tok.raw.split("\n", 1)[0].rstrip()
            self._fail(C.MAPPING_KEY, f"missing `:` after the mapping key `{_short(first)}`", tok.line,
                       tok.column - 1, len(first), hint="write `key: value`")
        self._fail(C.INDENTATION, "bad indentation of a mapping entry", seg_line, seg_col,
                   hint="this line is indented more than its mapping's keys, so it continues the "
                   "plain scalar of the line above; align it with the other keys")

    # ----------------------------------------------------------------------------------------
    # Token dispatch

    def _is_value_indicator(self) -> bool:
        text, pos = self.text, self.pos
        nxt = text[pos + 1] if pos + 1 < self.n else "\n"
        if nxt in _WS_END:
            return True
        if self.flows:
            if nxt in _FLOW_INDICATORS:
                return True
            last = self.tokens[-1] if self.tokens else None  # JSON-like key: `{"a":1}`
            return (last is not None and last.end_pos == pos
                    and (last.type in (FSEQ_END, FMAP_END) or (last.type == SCALAR and last.style in (ScalarStyle.SINGLE, ScalarStyle.DOUBLE))))
        return False

    def _fetch(self) -> None:
        text, pos = self.text, self.pos
        ch = text[pos]
        nxt = text[pos + 1] if pos + 1 < self.n else "\n"
        if ch in "[{":
            self._flow_start(ch)
        elif ch in "]}":
            self._flow_end(ch)
        elif ch == ",":
            if self.flows:
                self._flow_entry()
            else:
                self._error_here(C.BAD_CHARACTER, "`,` cannot start a plain scalar outside a flow collection",
                                 hint="quote the value")
                self._plain()
        elif ch == "-" and nxt in _WS_END:
            self._block_entry()
        elif ch == "?" and (nxt in _WS_END or (self.flows and nxt in _FLOW_INDICATORS)):
            self._fail(C.UNSUPPORTED, "complex mapping keys (`? `) are not supported",
                       hint="write the key as a scalar: `key: value`")
        elif ch == ":" and self._is_value_indicator():
            self._value()
        elif ch == "*":
            self._alias()
        elif ch == "&":
            self._anchor()
        elif ch == "!":
            self._tag()
        elif ch in "|>":
            if self.flows:
                self._fail(C.SYNTAX, f"a block scalar (`{ch}`) cannot appear inside a flow collection",
                           hint="use a quoted scalar, or quote the value")
            self._block_scalar(ch == ">")
        elif ch == "'":
            self._single_quoted()
        elif ch == '"':
            self._double_quoted()
        elif ch in "@`%":
            self._error_here(C.BAD_CHARACTER, f"{describe_char(ch)} cannot start a plain scalar",
                             hint="quote the value")
            self._plain()
        elif ch == "#":  # a comment glued to the previous token: reported, then skipped
            self._error_here(C.COMMENT, "a comment needs whitespace before `#`", severity=Severity.WARNING,
                             hint="insert a space before `#`")
            end = text.find("\n", pos)
            self.pos = self.n if end < 0 else end
        else:
            self._plain()

    # ----------------------------------------------------------------------------------------
    # Structure tokens

    def _can_open_block(self) -> bool:
        """Whether the token stream is at a node position (so a block collection may start)."""
        tokens = self.tokens
        i = len(tokens) - 1
        while i >= 0 and tokens[i].type in _PROPERTIES:
            i -= 1
        return i < 0 or tokens[i].type in _NODE_OPENERS

    def _block_entry(self) -> None:
        line, col, pos = self.line, self.pos - self.line_start, self.pos
        if self.flows:
            self._fail(C.SYNTAX, "a block sequence entry (`- `) cannot appear inside a flow collection",
                       hint="separate flow items with `,`; quote `-` if it is a value")
        if not self.allow_key:
            self._fail(C.SYNTAX, "a block sequence cannot start on the same line as its parent key",
                       hint="put `- item` lines on the next lines, indented; quote the value if `-` belongs to it")
        if col > self.indent:
            if not self._can_open_block():
                self._bad_indentation("sequence entry", col)
            self._push_indent(col, "seq")
            self.tokens.append(self._point(BSEQ_START, line, col, pos))
        elif not self.indents or self.indents[-1][1] == "map":
            # `key:\n- a`: a sequence at the indentation of its parent's keys.
            if self.indents and self._after_value():
                self._push_indent(col, "iseq")
                self.tokens.append(self._point(BSEQ_START, line, col, pos))
            else:
                self._fail(C.INDENTATION, "bad indentation of a sequence entry: a `- ` entry cannot follow "
                           "mapping entries at the same indentation",
                           hint="put the sequence under a key (`key:` then `- item` lines)")
        self.allow_key = True
        self.keys.pop(len(self.flows), None)
        self.pos += 1
        self.tokens.append(self._tok(ENTRY, None, pos, line, col))

    def _after_value(self) -> bool:
        tokens = self.tokens
        i = len(tokens) - 1
        while i >= 0 and tokens[i].type in _PROPERTIES:
            i -= 1
        return i >= 0 and tokens[i].type == VALUE

    def _bad_indentation(self, what: str, col: int) -> None:
        expected = self.indent + 1 if self.indent >= 0 else 1
        self._fail(C.INDENTATION, f"bad indentation of a {what}", hint=f"expected column {expected}, like the "
                   "entries of the enclosing collection (or a new nested collection right after `key:` or `- `)")

    def _value(self) -> None:
        level = len(self.flows)
        key = self.keys.pop(level, None)
        line, col, pos = self.line, self.pos - self.line_start, self.pos
        if key is not None and key.line == line:
            tokens = self.tokens
            key_tok = self._point(KEY, key.line, key.col, key.pos)
            if not self.flows:
                if key.col > self.indent:
                    if not self._can_open_block_before(key.index):
                        self.pos = key.pos
                        self._bad_indentation("mapping entry", key.col)
                    self._push_indent(key.col, "map")
                    tokens.insert(key.index, key_tok)
                    tokens.insert(key.index, self._point(BMAP_START, key.line, key.col, key.pos))
                elif self.indents and self.indents[-1][1] != "map":
                    self._fail(C.INDENTATION, "bad indentation of a mapping entry", key.line, key.col,
                               hint="a mapping key cannot sit at the column of a sequence's `-` entries")
                else:
                    tokens.insert(key.index, key_tok)
            else:
                tokens.insert(key.index, key_tok)
            self.allow_key = False
        elif self.flows:
            self.tokens.append(self._point(KEY, line, col, pos))  # `{: v}`: an empty key
            self.allow_key = False
        else:
            last = self.tokens[-1] if self.tokens else None
            if last is not None and last.type == SCALAR and last.style is ScalarStyle.PLAIN and last.end_line > last.line:
                self._bad_plain_continuation(last)
            if self.allow_key:
                self._fail(C.MAPPING_KEY, "missing mapping key before `:`", hint="write `key: value`")
            self._fail(C.MAPPING_KEY, "a block mapping cannot start on the same line as its parent key "
                       "(found `: ` inside a value)",
                       hint="quote the value if `: ` belongs to it, or put the nested mapping on its own indented lines")
        self.pos += 1
        self.tokens.append(self._tok(VALUE, None, pos, line, col))

    def _can_open_block_before(self, index: int) -> bool:
        tokens = self.tokens
        i = index - 1
        while i >= 0 and tokens[i].type in _PROPERTIES:
            i -= 1
        return i < 0 or tokens[i].type in _NODE_OPENERS

    def _flow_start(self, ch: str) -> None:
        self._save_key()
        line, col, pos = self.line, self.pos - self.line_start, self.pos
        self.pos += 1
        tok = self._tok(FSEQ_START if ch == "[" else FMAP_START, ch, pos, line, col)
        self.tokens.append(tok)
        self.flows.append(tok)
        self.allow_key = True

    def _flow_end(self, ch: str) -> None:
        line, col, pos = self.line, self.pos - self.line_start, self.pos
        if not self.flows:
            self._fail(C.SYNTAX, f"found `{ch}` outside a flow collection", hint="quote the value if it contains brackets")
        opener = self.flows[-1]
        want = "]" if opener.type == FSEQ_START else "}"
        if ch != want:
            what = "sequence" if want == "]" else "mapping"
            self._fail(C.UNTERMINATED_FLOW, f"found `{ch}`, expected `,` or `{want}` to close the flow {what}",
                       related=(Related(self._span(opener.line, opener.column - 1, opener.line, opener.column),
                                        f"the flow {what} starts here"),))
        self.keys.pop(len(self.flows), None)
        self.flows.pop()
        self.pos += 1
        self.tokens.append(self._tok(FSEQ_END if ch == "]" else FMAP_END, ch, pos, line, col))
        self.allow_key = False

    def _flow_entry(self) -> None:
        line, col, pos = self.line, self.pos - self.line_start, self.pos
        self.keys.pop(len(self.flows), None)
        self.allow_key = True
        self.pos += 1
        self.tokens.append(self._tok(COMMA, ",", pos, line, col))

    def _unterminated_flow(self, opener: Tok) -> None:
        seq = opener.type == FSEQ_START
        what, close = ("sequence", "]") if seq else ("mapping", "}")
        last = self.tokens[-1]
        self._fail(C.UNTERMINATED_FLOW, f"unterminated flow {what}: expected `,` or `{close}`",
                   last.end_line, last.end_column - 1, 1,
                   related=(Related(self._span(opener.line, opener.column - 1, opener.line, opener.column),
                                    f"the flow {what} starts here"),))

    # ----------------------------------------------------------------------------------------
    # Properties and aliases

    def _name(self, sigil: str, what: str) -> tuple[str, int, int, int]:
        """Scan `&name` / `*name`; return (name, start pos, line, col)."""
        line, col, start = self.line, self.col, self.pos
        m = _ANCHOR_NAME.match(self.text, start + 1)
        end = m.end() if m else start + 1
        nxt = self.text[end] if end < self.n else "\n"
        ok = m is not None and (nxt in _WS_END or nxt == ":" or (self.flows and nxt in ",]}"))
        if not ok:
            bad_end = _end(_TAG_FLOW if self.flows else _TAG_BLOCK, self.text, start + 1)
            bad = self.text[start:bad_end]
            self.pos = bad_end
            self._report(C.ANCHOR_NAME, f"invalid {what} name `{_short(bad)}`", line, col, max(1, bad_end - start),
                         hint=f"{what} names may contain letters, digits, `-` and `_`")
            return bad[1:] or "?", start, line, col
        self.pos = end
        return self.text[start + 1:end], start, line, col

    def _alias(self) -> None:
        self._save_key()
        name, start, line, col = self._name("*", "alias")
        self.tokens.append(self._tok(ALIAS, name, start, line, col))
        self.allow_key = False

    def _anchor(self) -> None:
        self._save_key()
        name, start, line, col = self._name("&", "anchor")
        self.tokens.append(self._tok(ANCHOR, name, start, line, col))
        self.allow_key = False

    def _tag(self) -> None:
        self._save_key()
        line, col, start = self.line, self.col, self.pos
        text = self.text
        if text.startswith("!<", start):
            end = text.find(">", start)
            nl = text.find("\n", start)
            end = (end + 1) if end >= 0 and (nl < 0 or end < nl) else (nl if nl >= 0 else self.n)
            self.pos = end
            self._report(C.UNSUPPORTED, "verbatim tags (`!<...>`) are not supported", line, col, end - start)
            value = None
        else:
            self.pos = _end(_TAG_FLOW if self.flows else _TAG_BLOCK, text, start)
            value = self._classify_tag(text[start:self.pos], line, col)
        self.tokens.append(self._tok(TAG, value, start, line, col, raw=text[start:self.pos]))
        self.allow_key = False

    def _classify_tag(self, raw: str, line: int, col: int) -> Tag | str | None:
        """A Forgather Tag, a standard tag name ("float"), or None after reporting an error."""
        length = len(raw)
        if raw.startswith("!!"):
            standard = raw[2:]
            if standard in STANDARD_TAGS:
                return standard
            if standard in UNSUPPORTED_STANDARD_TAGS or standard.startswith("python/"):
                self._report(C.UNSUPPORTED, f"the standard tag `{raw}` is not supported", line, col, length,
                             hint="supported standard tags: " + ", ".join(f"`!!{t}`" for t in sorted(STANDARD_TAGS)))
                return None
            hint = did_you_mean(standard, STANDARD_TAGS)
            self._report(C.UNKNOWN_TAG, f"found undefined standard tag `{raw}`", line, col, length,
                         hint=hint.replace("`", "`!!", 1) if hint else
                         "standard tags: " + ", ".join(f"`!!{t}`" for t in sorted(STANDARD_TAGS)))
            return None
        if raw == "!":
            self._report(C.UNSUPPORTED, "the non-specific tag `!` is not supported", line, col, 1,
                         hint="quote the value to make it a string")
            return None
        body = raw[1:]
        if "!" in body:
            handle = raw[: raw.index("!", 1) + 1]
            self._report(C.UNSUPPORTED, f"named tag handles (`{handle}`) are not supported", line, col, length,
                         hint="they need a %TAG directive; use the Forgather tags (`!call`, `!partial`, ...)")
            return None
        m = _TAG_KIND.match(body)
        kind = m.group() if m else ""
        rest = body[len(kind):]
        if not kind or (rest and rest[0] not in ":@"):
            kind = re.split(r"[:@]", body, maxsplit=1)[0]
            rest = body[len(kind):]
        if kind not in FORGATHER_TAGS:
            hint = did_you_mean(kind, FORGATHER_TAGS)
            self._report(C.UNKNOWN_TAG, f"found undefined tag `!{_short(kind)}`", line, col, length,
                         hint=hint.replace("`", "`!", 1) if hint else
                         "the Forgather tags are " + ", ".join(f"`!{t}`" for t in sorted(FORGATHER_TAGS)))
            return None
        spec: str | None = None
        name: str | None = None
        if rest.startswith(":"):
            spec, at, after = rest[1:].partition("@")
            name = after if at else None
        elif rest.startswith("@"):
            name = rest[1:]  # `!dict@x` names the node like `!dict:@x` (docs/language.md, Tags)
        if name == "":
            self._report(C.MALFORMED_TAG, f"empty node name after `@` in `{raw}`", line, col, length,
                         hint="write `@name` or drop the `@`")
            name = None
        if kind == "var" and (spec or name is not None):
            self._report(C.MALFORMED_TAG, f"`!var` takes no spec or `@name`: found `{raw}`", line, col, length,
                         hint="write `!var name` or `!var {name: ..., default: ...}`")
        span = self._span(line, col, line, col + length)
        return Tag(kind=kind, spec=spec or None, name=name, raw=raw, span=span)

    # ----------------------------------------------------------------------------------------
    # Plain scalars

    def _plain(self) -> None:
        if self.allow_key:
            self._save_key()
        text, n = self.text, self.n
        start, line = self.pos, self.line
        col = start - self.line_start
        pattern = PLAIN_FLOW if self.flows else PLAIN_BLOCK
        m = pattern.match(text, start)
        end = m.end() if m else start
        if end == start:  # a character no piece can start with (reported by the caller)
            end = _end(_NON_SPACE, text, start) or start + 1
        chunks = [text[start:end]]
        min_col = self.indent + 1
        seg_line, seg_col = line, col
        while True:
            j = _end(_BLANKS, text, end)
            if j >= n or text[j] != "\n":
                break
            # Fast exit, the usual case: the next line is a less indented sibling or parent.
            k = _end(_SPACES, text, j + 1)
            if k - (j + 1) < min_col and k < n and text[k] not in " \t\n":
                break
            # The scalar may continue on the next non-blank line if it is indented enough.
            breaks = 0
            k = j
            while True:
                ls = k + 1
                p = _end(_BLANKS, text, ls)
                if p < n and text[p] == "\n":
                    breaks += 1
                    k = p
                    continue
                break
            if p >= n or text[p] == "#":
                break
            indentation = _end(_SPACES, text, ls) - ls
            if indentation < min_col:
                break
            if p == ls and text.startswith(("---", "..."), p) and (p + 3 >= n or text[p + 3] in _WS_END):
                break
            m = pattern.match(text, p)
            if m is None:
                break
            chunks.append(" " if not breaks else "\n" * breaks)
            chunks.append(m.group())
            end = m.end()
            self.line += 1 + breaks
            self.line_start = ls
            seg_line, seg_col = self.line, p - ls
        self.pos = end
        raw = text[start:end]
        tok = Tok(SCALAR, raw if len(chunks) == 1 else "".join(chunks), line, col + 1, self.line,
                  end - self.line_start + 1, start, end, ScalarStyle.PLAIN, raw)
        if self.line != line:
            tok.segment = (seg_line, seg_col)
        self.tokens.append(tok)
        self.allow_key = False

    # ----------------------------------------------------------------------------------------
    # Quoted scalars

    def _single_quoted(self) -> None:
        self._save_key()
        m = _SINGLE_SIMPLE.match(self.text, self.pos)
        if m:
            start, line, col = self.pos, self.line, self.col
            self.pos = m.end()
            self.tokens.append(self._tok(SCALAR, m.group(1), start, line, col, style=ScalarStyle.SINGLE, raw=m.group()))
        else:
            self._quoted(double=False)
        self.allow_key = False

    def _double_quoted(self) -> None:
        self._save_key()
        m = _DOUBLE_SIMPLE.match(self.text, self.pos)
        if m:
            start, line, col = self.pos, self.line, self.col
            self.pos = m.end()
            self.tokens.append(self._tok(SCALAR, m.group(1), start, line, col, style=ScalarStyle.DOUBLE, raw=m.group()))
        else:
            self._quoted(double=True)
        self.allow_key = False

    def _quoted(self, double: bool) -> None:
        text, n = self.text, self.n
        start, line, col = self.pos, self.line, self.col
        quote = '"' if double else "'"
        run = _DOUBLE_RUN if double else _SINGLE_RUN
        chunks: list[str] = []
        i = start + 1
        first_line_end = text.find("\n", start)
        first_line_end = n if first_line_end < 0 else first_line_end
        while True:
            m = run.match(text, i)
            if m:
                chunks.append(m.group())
                i = m.end()
            if i >= n:
                return self._unterminated(double, start, line, col, first_line_end)
            ch = text[i]
            if ch == quote:
                if not double and text.startswith("''", i):
                    chunks.append("'")
                    i += 2
                    continue
                i += 1
                break
            if ch in " \t":
                j = _end(_BLANKS, text, i)
                if j < n and text[j] == "\n":
                    i = j  # blanks before a line break are folded away
                else:
                    chunks.append(text[i:j])
                    i = j
                continue
            escaped = False
            if ch == "\\":  # double-quoted only
                i = self._escape(i, chunks)
                if i >= 0:
                    continue
                i, escaped = -i, True  # an escaped line break: fold without a space
            # A line break inside the scalar folds into a space (or newlines).
            i, ok = self._fold(i, chunks, escaped, quote)
            if not ok:
                return self._unterminated(double, start, line, col, first_line_end)
        self.pos = i
        self.tokens.append(self._tok(SCALAR, "".join(chunks), start, line, col,
                                     style=ScalarStyle.DOUBLE if double else ScalarStyle.SINGLE, raw=text[start:i]))

    def _fold(self, i: int, chunks: list[str], escaped: bool, quote: str) -> tuple[int, bool]:
        """At a line break inside a quoted scalar: skip empty lines and the next line's indentation.

        Returns the index of the next content character, and False when the scalar cannot
        continue there (end of text, a document marker, or a line not indented enough and
        without the closing quote: then the quote was most likely forgotten).
        """
        text, n = self.text, self.n
        breaks = 0
        while True:
            i += 1  # past "\n"
            ls = i
            i = _end(_BLANKS, text, i)
            if i < n and text[i] == "\n":
                breaks += 1
                continue
            break
        if i >= n:
            return i, False
        indentation = _end(_SPACES, text, ls) - ls
        if i == ls and text.startswith(("---", "..."), i) and (i + 3 >= n or text[i + 3] in _WS_END):
            return i, False
        if indentation <= self.indent and text[i] != quote:
            eol = text.find("\n", i)
            if text.find(quote, i, self.n if eol < 0 else eol) < 0:
                return i, False
            # The line closes the scalar: only its indentation is wrong.
            line = self.line + 1 + breaks
            kind = "double" if quote == '"' else "single"
            self._report(C.INDENTATION, f"bad indentation of a continuation line of a {kind}-quoted scalar",
                         line, i - ls, hint="indent it more than the key the scalar belongs to")
        if breaks:
            chunks.append("\n" * breaks)
        elif not escaped:
            chunks.append(" ")
        self.line += 1 + breaks
        self.line_start = ls
        return i, True

    def _unterminated(self, double: bool, start: int, line: int, col: int, first_line_end: int) -> None:
        """Report an unterminated quoted scalar; recover by ending it at the end of its line."""
        kind, quote = ("double", '"') if double else ("single", "'")
        self._report(C.UNTERMINATED_SCALAR, f"unterminated {kind}-quoted scalar: expected a closing `{quote}`",
                     line, col, 1,
                     hint="close the quote on this line, or indent its continuation lines more than the "
                     "enclosing key")
        # Rewind to the end of the first line and keep lexing from there.
        self.line, self.line_start = line, self.text.rfind("\n", 0, start) + 1
        raw = self.text[start:first_line_end]
        self.pos = first_line_end
        value = raw[1:].rstrip(" \t")
        if not double:
            value = value.replace("''", "'")
        self.tokens.append(self._tok(SCALAR, value, start, line, col,
                                     style=ScalarStyle.DOUBLE if double else ScalarStyle.SINGLE, raw=raw))

    def _escape(self, i: int, chunks: list[str]) -> int:
        """Decode the escape at text[i] == "\\"; return the next index (negated for a line break)."""
        text, n = self.text, self.n
        ch = text[i + 1] if i + 1 < n else ""
        if ch in ESCAPES:
            chunks.append(ESCAPES[ch])
            return i + 2
        if ch in HEX_ESCAPES:
            width = HEX_ESCAPES[ch]
            digits = text[i + 2:i + 2 + width]
            if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
                code = int(digits, 16)
                if code <= 0x10FFFF:
                    chunks.append(chr(code))
                    return i + 2 + width
                self._report(C.BAD_ESCAPE, f"escape `\\{ch}{digits}` is beyond the last Unicode character U+10FFFF",
                             *self._position(i), 2 + width)
                return i + 2 + width
            bad = _BLANKS.sub("", digits.split("\n")[0].split('"')[0])
            self._report(C.BAD_ESCAPE, f"escape `\\{ch}` needs {width} hexadecimal digits, found `{bad}`",
                         *self._position(i), 2 + len(bad))
            chunks.append("\\" + ch)
            return i + 2
        if ch == "\n":
            return -(i + 1)
        self._report(C.BAD_ESCAPE, f"invalid escape sequence `\\{ch}`" if ch else "a `\\` at the end of the text",
                     *self._position(i), 2,
                     hint="valid escapes: \\0 \\a \\b \\t \\n \\v \\f \\r \\e \\\" \\/ \\\\ \\N \\_ \\L \\P "
                     "\\xXX \\uXXXX \\UXXXXXXXX; write `\\\\` for a backslash")
        chunks.append(ch)
        return i + 2

    # ----------------------------------------------------------------------------------------
    # Block scalars

    def _block_scalar(self, folded: bool) -> None:
        text, n = self.text, self.n
        start, line, col = self.pos, self.line, self.col
        self.keys.pop(len(self.flows), None)
        # Header: chomping (+/-) and indentation (1-9) indicators in either order.
        i = start + 1
        chomping: bool | None = None
        increment = 0
        for _ in range(2):
            c = text[i] if i < n else ""
            if c in ("+", "-") and chomping is None:
                chomping = c == "+"
                i += 1
            elif c != "" and c in "0123456789" and not increment:
                if c == "0":
                    self._report(C.BLOCK_SCALAR, "a block scalar's indentation indicator must be 1-9, found `0`",
                                 *self._position(i), 1)
                increment = int(c) or 1
                i += 1
        j = _end(_BLANKS, text, i)
        if j < n and text[j] == "#" and j == i:
            self._report(C.COMMENT, "a comment needs whitespace before `#`", *self._position(j), 1,
                         severity=Severity.WARNING)
        if j < n and text[j] not in "#\n":
            self._report(C.BLOCK_SCALAR, f"bad block scalar header: expected `+`, `-`, a digit 1-9 or a comment, "
                         f"found {describe_char(text[j])}", *self._position(j), 1)
        eol = text.find("\n", i)
        eol = n if eol < 0 else eol
        header_end = i
        self.pos = eol
        # Content indentation.
        min_indent = max(self.indent + 1, 1)
        breaks: list[str] = []
        if self.pos < n:
            self._newline()
        if increment:
            indent = min_indent + increment - 1
            breaks = self._block_breaks(indent)
        else:
            max_indent = 0
            while self.pos < n:
                self.pos = _end(_SPACES, text, self.pos)
                max_indent = max(max_indent, self.col)
                if self.pos < n and text[self.pos] == "\n":
                    breaks.append("\n")
                    self._newline()
                    continue
                break
            indent = max(min_indent, max_indent)
        chunks: list[str] = []
        line_break = ""
        end_pos = header_end
        end_line, end_col = self._position(header_end)
        while self.col == indent and self.pos < n:
            chunks.extend(breaks)
            leading_blank = text[self.pos] in " \t"
            eol = text.find("\n", self.pos)
            eol = n if eol < 0 else eol
            chunks.append(text[self.pos:eol])
            end_line, end_col, end_pos = self.line, eol - self.line_start, eol
            self.pos = eol
            line_break = ""
            if self.pos < n:
                line_break = "\n"
                self._newline()
            breaks = self._block_breaks(indent)
            if self.col == indent and self.pos < n:
                if folded and line_break == "\n" and not leading_blank and text[self.pos] not in " \t":
                    if not breaks:
                        chunks.append(" ")
                else:
                    chunks.append(line_break)
            else:
                break
        if chomping is not False:
            chunks.append(line_break)
        if chomping is True:
            chunks.extend(breaks)
        tok = Tok(SCALAR, "".join(chunks), line, col + 1, end_line, end_col + 1, start, end_pos,
                  style=ScalarStyle.FOLDED if folded else ScalarStyle.LITERAL, raw=text[start:end_pos])
        self.tokens.append(tok)
        self.allow_key = True
        # The scanner now stands inside the indentation of the next non-empty line.
        self.at_line_start = True

    def _newline(self) -> None:
        self.pos += 1
        self.line += 1
        self.line_start = self.pos

    def _block_breaks(self, indent: int) -> list[str]:
        """Skip empty lines (and up to `indent` spaces of each); one "\\n" per empty line."""
        text, n = self.text, self.n
        breaks = []
        while True:
            limit = self.line_start + indent
            while self.pos < limit and self.pos < n and text[self.pos] == " ":
                self.pos += 1
            if self.pos < n and text[self.pos] == "\n":
                breaks.append("\n")
                self._newline()
                continue
            return breaks


def _short(text: str, width: int = 40) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


def tokenize(text: str, source_map: SourceMap | SpanMapper) -> tuple[list[Tok], list[Diagnostic], bool]:
    """Tokens, diagnostics, and whether a structural (fatal) error cut the stream short."""
    lexer = ConfigLexer(text, source_map)
    tokens = lexer.tokenize()
    return tokens, lexer.diagnostics, lexer.fatal
