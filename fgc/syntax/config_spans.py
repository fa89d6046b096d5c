"""Rendered positions -> template Spans, fast.

`SourceMap.to_span` handles every case (a rendered line that differs from its template line,
a range that leaves its template). Most rendered lines are template lines passed through
unchanged, and for those the answer is the same file and column; `SpanMapper` precomputes
which lines those are (one pass over the text) and answers them without the general lookup.
The results are identical to `SourceMap.to_span`.
"""

from __future__ import annotations

from ..diagnostics import Span
from ..sourcemap import SourceMap


class SpanMapper:
    def __init__(self, source_map: SourceMap) -> None:
        self.sm = source_map
        # same[i]: (file, line) of rendered line i + 1 when it equals that template line.
        same: list[tuple[str, int] | None] = []
        sources = source_map.source_lines
        rendered = source_map.rendered_lines
        for i, origins in enumerate(source_map.origins):
            entry = None
            if origins and i < len(rendered):
                o = origins[0]
                lines = sources.get(o.file)
                if lines is not None and 1 <= o.line <= len(lines) and lines[o.line - 1] == rendered[i]:
                    entry = (o.file, o.line)
            same.append(entry)
        self.same = same
        self.n = len(same)

    def to_span(self, line: int, col: int, end_line: int, end_col: int) -> Span:
        """Like SourceMap.to_span: rendered range (1-based, end exclusive) -> template Span."""
        if line <= self.n and end_line <= self.n:
            start = self.same[line - 1]
            end = self.same[end_line - 1] if end_line != line else start
            if start is not None and end is not None and end[0] == start[0] and end[1] >= start[1]:
                return Span(start[0], start[1], col, end[1], end_col)
        return self.sm.to_span(line, col, end_line, end_col)
