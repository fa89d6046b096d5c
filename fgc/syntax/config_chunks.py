"""Parsing a rendered config piece by piece, reusing the pieces an edit did not change.

A rendered config is a block mapping of top-level entries, each starting at column 0. Cut the
text before such lines into *chunks* of at least `CHUNK_LINES` lines, and each chunk is a small
config of its own whose entries are exactly the top-level entries the whole text has there: the
lexer's state at a column-0 key is the same as at the start of a text (no open flow collection,
no block scalar, one open block mapping). A long-lived caller (the language server) keeps each
document's chunks from its last parse; after an edit, only the chunks whose text or source map
changed are parsed again, and the root mapping is assembled from the chunks' entries.

The result is the one `parse_config` gives, or nothing (and the caller parses the whole text):
a chunk is reused only when its text, the origins of its lines and those template lines are
the same as when it was parsed, and it asked the source map about no line outside itself; and
the chunked parse is given up as soon as a chunk reports anything (a syntax error, a warning),
since what a full parse reports after an error depends on what came before it, or is not a
plain block mapping (the root of a document with markers, directives, a sequence or a scalar).
`tests/syntax/test_config_chunks.py` compares both parses on every config the tests render,
and `tests/lsp/test_incremental.py` a server's diagnostics with fresh full checks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

from ..diagnostics import Diagnostic, Span
from ..sourcemap import SourceMap
from .config_ast import Document, Entry, Mapping
from .config_spans import SpanMapper

CHUNK_LINES = 16  # a chunk ends at the first column-0 key after this many lines
DOCUMENTS_KEPT = 8  # documents whose last parse's chunks are kept

# A column-0 line that may start a top-level key: a letter, a digit, `_`, `.`, a quote. Other
# lines (indented, comments, `-`, `?`, flow brackets, tags, anchors) continue the chunk.
_KEY_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.\"'")

# What a chunk's parse leaves: the root mapping's entries and its rendered range (chunk lines).
Parsed = tuple[list[Entry], int, int, int, int]
Key = tuple[str, tuple, tuple]


class ChunkCache:
    """Each document's chunks from its last parse, for the next one (by the rendered file the
    source map falls back to). Only the last parse's chunks are kept, and they are the nodes its
    document holds anyway: the cache costs no memory beyond the documents a caller keeps."""

    def __init__(self, documents: int = DOCUMENTS_KEPT) -> None:
        self._documents: OrderedDict[str, dict[Key, Parsed]] = OrderedDict()
        self._limit = documents
        self._lock = threading.Lock()  # the language server forgets a closed document from its event loop
        self.parsed = 0  # chunks parsed (not reused): for tests
        self.reused = 0

    def known(self, document: str) -> dict[Key, Parsed]:
        with self._lock:
            return self._documents.get(document, {})

    def forget(self, document: str) -> None:
        with self._lock:
            self._documents.pop(document, None)

    def keep(self, document: str, chunks: dict[Key, Parsed]) -> None:
        with self._lock:
            self._documents.pop(document, None)
            self._documents[document] = chunks
            while len(self._documents) > self._limit:
                self._documents.popitem(last=False)


class _Shifted(SpanMapper):
    """The whole text's span mapper, seen from a chunk starting after `offset` lines; notes
    whether the parse asked about a line outside the chunk."""

    def __init__(self, whole: SpanMapper, offset: int, lines: int) -> None:  # no super(): nothing to precompute
        self.whole = whole
        self.offset = offset
        self.lines = lines
        self.outside = False

    def to_span(self, line: int, col: int, end_line: int, end_col: int) -> Span:
        origins = self.whole.sm.origins
        line, end_line = line + self.offset, end_line + self.offset
        if not (
            self.offset < line <= self.offset + self.lines
            and self.offset < end_line <= self.offset + self.lines
            and line <= len(origins)
            and end_line <= len(origins)
            and origins[line - 1]
            and origins[end_line - 1]
        ):
            self.outside = True  # another line, or the nearest line with an origin before it
        return self.whole.to_span(line, col, end_line, end_col)


def chunk_starts(lines: list[str]) -> list[int] | None:
    """The first line (0-based) of each chunk; None when the text cannot be cut (document
    markers, directives, a byte-order mark)."""
    if lines and lines[0].startswith("\ufeff"):
        return None
    starts = [0]
    for i, line in enumerate(lines):
        if not line:
            continue
        if line.startswith(("---", "...", "%")):
            return None
        if i - starts[-1] >= CHUNK_LINES and line[0] in _KEY_START:
            starts.append(i)
    return starts


def _key(text: str, first: int, end: int, source_map: SourceMap) -> Key | None:
    """What a chunk's parse depends on: its text, the origins of its lines and those template
    lines (a span on a line without an origin is looked up before the chunk: `_Shifted` says
    when the parse asked for one)."""
    origins = source_map.origins
    if end > len(origins):
        return None
    mine = tuple(origins[first:end])
    sources = []
    for line_origins in mine:
        for o in line_origins:
            src = source_map.source_lines.get(o.file)
            sources.append(src[o.line - 1] if src is not None and 1 <= o.line <= len(src) else None)
    return text, mine, tuple(sources)


Parse = Callable[[str, SpanMapper], "tuple[Any, list[Diagnostic], bool]"]


def parse_chunked(
    text: str, source_map: SourceMap, spans: SpanMapper, cache: ChunkCache, parse: Parse
) -> Document | None:
    """The document of `text`, from its chunks (reused or parsed with `parse`: (root, diagnostics,
    whether it failed)); None when the text cannot be cut or a chunk is not clean."""
    lines = text.split("\n")
    starts = chunk_starts(lines)
    if starts is None or len(starts) < 2 or len(source_map.rendered_lines) != len(lines):
        return None
    document = source_map.fallback_file
    known = cache.known(document)
    now: dict[Key, Parsed] = {}
    used: set[int] = set()  # a chunk's nodes appear once in a document (passes key nodes by id)
    entries: list[Entry] = []
    first_range: tuple[int, int] | None = None
    last_range: tuple[int, int] = (0, 0)
    for n, first in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        chunk = "\n".join(lines[first:end]) + ("\n" if end < len(lines) else "")
        key = _key(chunk, first, end, source_map)
        parsed = known.get(key) if key is not None else None
        if parsed is not None and id(parsed) not in used:
            cache.reused += 1
        else:
            shifted = _Shifted(spans, first, end - first)
            root, diagnostics, failed = parse(chunk, shifted)
            cache.parsed += 1
            if failed or diagnostics or root is None:
                return None
            node = root[0]
            if type(node) is not Mapping or node.flow or root[2] != 1:  # the root mapping is at column 0
                return None
            parsed = (node.entries, root[1], root[2], root[3], root[4])
            if shifted.outside:
                key = None
        used.add(id(parsed))
        if key is not None:
            now[key] = parsed
        chunk_entries, sl, sc, el, ec = parsed
        entries.extend(chunk_entries)
        if first_range is None:
            first_range = (sl + first, sc)
        last_range = (el + first, ec)
    cache.keep(document, now)
    assert first_range is not None
    root_node = Mapping(spans.to_span(*first_range, *last_range), entries)
    span = source_map.to_span(1, 1, len(lines), len(lines[-1]) + 1)
    return Document(root_node, span)
