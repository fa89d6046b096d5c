"""A feature request's context: the file, the cursor in fgc coordinates, the analysis that
answers for the file, and the file's lines as the editor holds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from ..workspace import Analysis
from .convert import Positions, path_of

if TYPE_CHECKING:
    from .server import FgcServer


@dataclass
class Query:
    path: str
    line: int
    col: int
    analysis: Analysis | None
    positions: Positions

    @property
    def lines(self) -> list[str]:
        return self.positions.index(self.path).lines

    @property
    def text(self) -> str:
        """The cursor's line."""
        return self.positions.index(self.path).line(self.line)


def query(ls: "FgcServer", document: types.TextDocumentIdentifier, position: types.Position) -> Query | None:
    path = path_of(document.uri)
    if path is None:
        return None
    positions = Positions(ls.fg.overlay.read_text)
    line, col = positions.position(path, position)
    return Query(path, line, col, ls.analysis_for(path), positions)
