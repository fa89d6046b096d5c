"""Code actions: a diagnostic whose hint names a replacement ("did you mean `lr`?") offers a
quick fix that writes it in place of the misspelt word under the diagnostic's range."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

from lsprotocol import types

from ..workspace import utf16_length
from . import cursor
from .convert import Positions, path_of

if TYPE_CHECKING:
    from .query import Guard
    from .server import FgcServer

_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")


def fix_for(diagnostic: types.Diagnostic, line_text: str) -> types.TextEdit | None:
    """The edit that puts the hint's suggestion in place of the word it corrects: the word in
    the diagnostic's range most like the suggestion."""
    hint = (diagnostic.data or {}).get("hint") if isinstance(diagnostic.data, dict) else None
    m = _DID_YOU_MEAN.search(hint or diagnostic.message)
    if m is None or diagnostic.range.start.line != diagnostic.range.end.line:
        return None
    wanted = m.group(1)
    # The range is in UTF-16 units; find the words of the line and compare in those units.
    start, end = diagnostic.range.start.character, diagnostic.range.end.character
    best = None
    for w in re.finditer(r"[\w.\-/]+", line_text):
        w_start = utf16_length(line_text[: w.start()])
        w_end = w_start + utf16_length(w.group())
        if w_end < start or w_start > max(end, start + 1):
            continue
        score = difflib.SequenceMatcher(None, w.group(), wanted).ratio()
        if w.group() != wanted and (best is None or score > best[0]):
            best = (score, w_start, w_end)
    if best is None:
        return None
    line = diagnostic.range.start.line
    return types.TextEdit(types.Range(types.Position(line, best[1]), types.Position(line, best[2])), wanted)


def register(server: FgcServer, guarded: Guard) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    @guarded
    def on_code_action(ls: FgcServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        path = path_of(params.text_document.uri)
        if path is None:
            return None
        positions = Positions(ls.fg.overlay.read_text)
        out = []
        for diagnostic in params.context.diagnostics:
            if diagnostic.source != "fgc":
                continue
            edit = fix_for(diagnostic, positions.index(path).line(diagnostic.range.start.line + 1))
            if edit is None:
                continue
            out.append(
                types.CodeAction(
                    title=f"Replace with `{edit.new_text}`",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    is_preferred=True,
                    edit=types.WorkspaceEdit(changes={params.text_document.uri: [edit]}),
                )
            )
        return out or None
