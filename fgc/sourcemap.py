"""The source map: where each line of rendered text came from.

Rendering interleaves lines of many templates (through extends, include, super(), macros and
loops). The renderer records, for every rendered line, the template lines it came from (usually
one; whitespace control can join two). The config parser works in rendered coordinates and asks
the source map to turn them into `Span`s in the original files.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import Span


@dataclass(frozen=True)
class Origin:
    """One template line: absolute file path and 1-based line number in that file."""

    file: str
    line: int


@dataclass
class SourceMap:
    # origins[i] are the template lines of rendered line i + 1 (empty when unknown).
    origins: list[tuple[Origin, ...]]
    # The rendered text split into lines (without markers), for column recovery.
    rendered_lines: list[str]
    # The source files' lines, by path, for column recovery.
    source_lines: dict[str, list[str]]
    # Name used when a rendered line has no known origin.
    fallback_file: str = "<rendered>"

    @staticmethod
    def identity(file: str, text: str) -> "SourceMap":
        """The map of a text that was not rendered: line i comes from line i of `file`."""
        lines = text.split("\n")
        return SourceMap(
            origins=[(Origin(file, i + 1),) for i in range(len(lines))],
            rendered_lines=lines,
            source_lines={file: lines},
            fallback_file=file,
        )

    def origin(self, line: int) -> Origin | None:
        if 1 <= line <= len(self.origins) and self.origins[line - 1]:
            return self.origins[line - 1][0]
        return None

    def _column(self, line: int, col: int, origin: Origin) -> int:
        """Map a rendered column to the origin line's column.

        Exact when the rendered line equals the source line (the usual case: YAML text lines
        pass through Jinja unchanged); otherwise the rendered text up to the column is looked
        up in the source line, and failing that the rendered column is kept.
        """
        rendered = self.rendered_lines[line - 1] if 1 <= line <= len(self.rendered_lines) else ""
        src_lines = self.source_lines.get(origin.file)
        if not src_lines or not 1 <= origin.line <= len(src_lines):
            return col
        source = src_lines[origin.line - 1]
        if source == rendered:
            return col
        # Same text up to a different indentation (e.g. TOML headers, include with indent).
        if source.strip() == rendered.strip() and rendered.strip():
            return col - (len(rendered) - len(rendered.lstrip())) + (len(source) - len(source.lstrip()))
        token = rendered[col - 1 :].split(None, 1)[0] if rendered[col - 1 :].strip() else ""
        if token:
            found = source.find(token)
            if found >= 0:
                return found + 1
        return min(col, len(source) + 1)

    def to_span(self, line: int, col: int, end_line: int, end_col: int) -> Span:
        """Map a range of rendered text (1-based, end exclusive) to a Span in a template."""
        start = self.origin(line)
        if start is None:
            return Span(self.fallback_file, line, col, end_line, end_col)
        scol = self._column(line, col, start)
        end = self.origin(end_line)
        if end is None or end.file != start.file or end.line < start.line:
            # The range leaves its template: keep it on the start line.
            return Span(start.file, start.line, scol, start.line, scol + max(0, end_col - col if end_line == line else 1))
        ecol = self._column(end_line, end_col, end) if end_line != line else scol + (end_col - col)
        return Span(start.file, start.line, scol, end.line, ecol)
