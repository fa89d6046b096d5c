"""fgc's positions and diagnostics as LSP types.

Spans count 1-based lines and code-point columns; the protocol counts 0-based lines and UTF-16
columns. Every conversion goes through a `LineIndex` of the text the editor sees (the overlay's
text for an open document, the file on disk otherwise), here and nowhere else.
"""

from __future__ import annotations

import os
from typing import Callable

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from ..diagnostics import Diagnostic, Severity, Span
from ..workspace import LineIndex

SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.NOTE: types.DiagnosticSeverity.Information,
}


UNTITLED = "untitled:"
# An `untitled:` buffer (never saved) is checked as an experiment in the workspace's folder,
# under a path no file has: the folder, then the URI itself.
_untitled_base = [os.getcwd()]
_untitled_uris: dict[str, str] = {}  # virtual path -> its untitled URI


def set_untitled_base(directory: str) -> None:
    """Where `untitled:` buffers live (their search path starts there): the workspace's root."""
    _untitled_base[0] = directory


def path_of(uri: str) -> str | None:
    """The absolute file path of a `file:` URI, the virtual path of an `untitled:` one (None for
    other schemes)."""
    if uri.startswith(UNTITLED):
        path = os.path.join(_untitled_base[0], uri.replace("/", "%2F"))
        _untitled_uris[path] = uri
        return path
    found = to_fs_path(uri)
    return os.path.abspath(found) if found else None


def uri_of(path: str) -> str:
    virtual = _untitled_uris.get(path)
    if virtual is not None:
        return virtual
    return from_fs_path(os.path.abspath(path)) or path


class Positions:
    """LineIndexes by file, read through `read_text` (the overlay) and kept for one reply."""

    def __init__(self, read_text: Callable[[str], str]) -> None:
        self._read = read_text
        self._indexes: dict[str, LineIndex] = {}

    def index(self, file: str) -> LineIndex:
        if file not in self._indexes:
            try:
                text = self._read(file)
            except (OSError, UnicodeDecodeError):
                text = ""
            self._indexes[file] = LineIndex(text)
        return self._indexes[file]

    def range(self, span: Span) -> types.Range:
        index = self.index(span.file)
        sl, sc = index.to_lsp(span.line, span.col)
        el, ec = index.to_lsp(span.end_line, span.end_col)
        if (el, ec) < (sl, sc):
            el, ec = sl, sc
        return types.Range(types.Position(sl, sc), types.Position(el, ec))

    def location(self, span: Span) -> types.Location:
        return types.Location(uri_of(span.file), self.range(span))

    def position(self, file: str, position: types.Position) -> tuple[int, int]:
        """An LSP position in `file` -> fgc (line, col)."""
        return self.index(file).from_lsp(position.line, position.character)


def to_lsp_diagnostic(d: Diagnostic, positions: Positions, range_: types.Range | None = None) -> types.Diagnostic:
    """`range_` overrides the diagnostic's own (a diagnostic without a span goes at 0:0)."""
    if range_ is None:
        range_ = positions.range(d.span) if d.span else types.Range(types.Position(0, 0), types.Position(0, 0))
    related = [
        types.DiagnosticRelatedInformation(positions.location(r.span), r.message) for r in d.related if r.span
    ]
    message = d.message
    notes = [r.message for r in d.related if not r.span]
    if notes:
        message += "\n" + "\n".join(f"note: {n}" for n in notes)
    if d.hint:
        message += f"\nhelp: {d.hint}"
    return types.Diagnostic(
        range=range_,
        message=message,
        severity=SEVERITY[d.severity],
        code=d.code,
        source="fgc",
        related_information=related or None,
        data={"hint": d.hint} if d.hint else None,
    )
