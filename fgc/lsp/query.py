"""A feature request's context: the file, the cursor in fgc coordinates, the analysis that
answers for the file (the newest finished one: a request never waits for a check), whether that
analysis is older than the buffer, and the file's lines as the editor holds them."""

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
    reaching: list[Analysis]  # every checked experiment that read the file
    stale: bool = False  # `analysis` read an older text of this document than the buffer's
    broken: bool = False  # the buffer's own newest check got no config graph (it does not compile)

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

    def line_of(self, span: Any) -> str:
        """The source line of a span as the editor holds it, stripped."""
        return self.positions.index(span.file).line(span.line).strip()


def query(ls: "FgcServer", document: types.TextDocumentIdentifier, position: types.Position) -> Query | None:
    path = path_of(document.uri)
    if path is None:
        return None
    positions = Positions(ls.fg.overlay.read_text)
    line, col = positions.position(path, position)
    reaching = [ls.fg.analyses[e] for e in ls.fg.affected_by(path) if e in ls.fg.analyses]
    analysis, broken = ls.analysis_for(path)
    stale = analysis is not None and ls.is_stale(analysis, path)
    return Query(path, line, col, analysis, positions, [str(d) for d in ls.fg.include_dirs], reaching, stale, broken)
