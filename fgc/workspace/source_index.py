"""The inverse source map: from a template position to what it produced.

The source map says, for each rendered line, which template lines it came from; the config AST
and the graph carry spans in the templates. This index turns those around for one checked
experiment: template (file, line) -> rendered lines; template position -> the config mapping
entry whose key is there (with its key path) -> the graph node written there. The language
server's hover, definition and completion ask it what lies under the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Span
from ..graph import Graph, Node
from ..sourcemap import SourceMap
from ..syntax import config_ast as ca


@dataclass(frozen=True)
class KeyEntry:
    """A mapping entry of the rendered config, keyed by where its key was written."""

    path: tuple[str, ...]  # keys from the document's root, e.g. ("trainer", "args", "lr")
    entry: ca.Entry
    key_span: Span
    order: int  # position in the rendered document


def contains(span: Span, line: int, col: int) -> bool:
    """Is (line, col) inside `span` (end inclusive, so a cursor just after a word counts)?"""
    if (line, col) < (span.line, span.col):
        return False
    return (line, col) <= (span.end_line, span.end_col)


def key_text(node: ca.ConfigAstNode) -> str | None:
    if isinstance(node, ca.Scalar):
        return str(node.value)
    return None


class SourceIndex:
    def __init__(self, source_map: SourceMap | None, document: ca.Document | None, graph: Graph | None) -> None:
        self.rendered: dict[tuple[str, int], list[int]] = {}
        if source_map is not None:
            for i, origins in enumerate(source_map.origins, start=1):
                for origin in origins:
                    self.rendered.setdefault((origin.file, origin.line), []).append(i)
        self.rendered_lines = source_map.rendered_lines if source_map is not None else []
        self.entries: dict[str, list[KeyEntry]] = {}  # by file
        self._order: list[KeyEntry] = []
        if document is not None and document.root is not None:
            self._index_entries(document.root, ())
        self.nodes: dict[str, list[Node]] = {}  # by file
        if graph is not None:
            for node in graph.nodes():
                self.nodes.setdefault(node.span.file, []).append(node)

    def _index_entries(self, node: ca.ConfigAstNode, path: tuple[str, ...]) -> None:
        # Recursive, in document order: an overridden key's entries come in the order written.
        if isinstance(node, ca.Mapping):
            for e in node.entries:
                key = key_text(e.key)
                if key is None:
                    continue
                ke = KeyEntry((*path, key), e, e.key.span, len(self._order))
                self._order.append(ke)
                self.entries.setdefault(e.key.span.file, []).append(ke)
                self._index_entries(e.value, ke.path)
        elif isinstance(node, ca.Sequence):
            for i, item in enumerate(node.items):
                self._index_entries(item, (*path, str(i)))
        elif isinstance(node, ca.Tagged):
            self._index_entries(node.body, path)
        elif isinstance(node, ca.Anchor):
            self._index_entries(node.node, path)

    def rendered_lines_of(self, file: str, line: int) -> list[int]:
        """The rendered lines (1-based) that template line `line` of `file` produced."""
        return self.rendered.get((file, line), [])

    def entry_at(self, file: str, line: int, col: int) -> KeyEntry | None:
        """The mapping entry whose key is at the position."""
        for ke in self.entries.get(file, []):
            if contains(ke.key_span, line, col):
                return ke
        return None

    def entry_with_key(self, span: Span) -> KeyEntry | None:
        """The entry whose key was written at `span`."""
        for ke in self.entries.get(span.file, []):
            if ke.key_span == span:
                return ke
        return None

    def node_at(self, file: str, line: int, col: int) -> Node | None:
        """The graph node whose tag is at the position (the innermost when several start there)."""
        best: Node | None = None
        for node in self.nodes.get(file, []):
            if contains(node.span, line, col):
                if best is None or (node.span.line, node.span.col) >= (best.span.line, best.span.col):
                    best = node
        return best
