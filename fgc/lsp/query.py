"""A feature request's context: the file, the cursor in fgc coordinates, the analysis that
answers for the file, and the file's lines as the editor holds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from lsprotocol import types

from ..workspace import Analysis
from .convert import Positions, path_of

if TYPE_CHECKING:
    from ..inheritance.template_pass import TemplateGraph
    from .server import FgcServer

# A feature handler, and the wrapper (server.guarded) that turns its failure into no answer.
Handler = Callable[..., Any]
Guard = Callable[[Handler], Handler]


@dataclass
class Query:
    path: str
    line: int
    col: int
    analysis: Analysis | None
    positions: Positions
    include_dirs: list[str]
    reaching: list[Analysis]  # every open experiment's check that read the file

    def template_graphs(self) -> list[TemplateGraph]:
        """The template graphs that know this file: its own and its children's."""
        seen = []
        for a in [self.analysis, *self.reaching]:
            if a is not None and a.template_graph is not None and a.template_graph not in seen:
                seen.append(a.template_graph)
        return seen

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
    reaching = [ls.fg.analyses[e] for e in ls.fg.affected_by(path) if e in ls.fg.analyses]
    return Query(path, line, col, ls.analysis_for(path), positions, [str(d) for d in ls.fg.include_dirs], reaching)
