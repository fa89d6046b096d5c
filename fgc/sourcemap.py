"""The source map: where each line of rendered text came from.

Rendering interleaves lines of many templates (through extends, include, super(), macros and
loops). The renderer records, for every rendered line, the template lines it came from (usually
one; whitespace control can join two). The config parser works in rendered coordinates and asks
the source map to turn them into `Span`s in the original files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from .diagnostics import Span


@dataclass(frozen=True)
class Origin:
    """One template line: absolute file path and 1-based line number in that file."""

    file: str
    line: int


@dataclass
class SourceMap:
    """For each rendered line, the template lines it came from."""
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
        return self._column_quality(line, col, origin)[0]

    def _column_quality(self, line: int, col: int, origin: Origin) -> tuple[int, int]:
        """Map a rendered column to the origin line's column; also how sure the answer is
        (2: the lines are equal, 1: the column lies in a stretch both lines share, 0: a guess).

        A rendered line is its source line with some stretches replaced (a `{{ x }}` by its
        value, a trailing `##` comment cut, an indentation dropped by a line statement), so
        the columns of the common prefix map to themselves and those of the common suffix map
        from the end; a column inside a replaced stretch maps to the stretch's start.
        """
        rendered = self.rendered_lines[line - 1] if 1 <= line <= len(self.rendered_lines) else ""
        src_lines = self.source_lines.get(origin.file)
        if not src_lines or not 1 <= origin.line <= len(src_lines):
            return col, 0
        source = src_lines[origin.line - 1]
        if source == rendered:
            return col, 2
        r_lead = len(rendered) - len(rendered.lstrip())
        s_lead = len(source) - len(source.lstrip())
        rendered_body, source_body = rendered[r_lead:], source[s_lead:]
        index = col - 1 - r_lead  # in rendered_body
        if index < 0:
            return s_lead + 1, 0
        prefix = _common_prefix(rendered_body, source_body)
        if index <= prefix:
            return s_lead + index + 1, 1 if index < prefix else 0
        from_end = len(rendered_body) - index
        for code in _without_comment(source_body, prefix):
            suffix = _common_suffix(rendered_body[prefix:], code[prefix:])
            if suffix:
                if from_end <= suffix:
                    return s_lead + len(code) - from_end + 1, 1
                return s_lead + prefix + 1, 0
        return s_lead + prefix + 1, 0

    def _locate(self, line: int, col: int) -> tuple[Origin, int] | None:
        """The origin of a rendered position and its column there. A line joined from several
        template lines (whitespace control, a macro's output spliced into a line) takes the
        origin whose text contains the position."""
        if not 1 <= line <= len(self.origins) or not self.origins[line - 1]:
            return None
        origins = self.origins[line - 1]
        best: tuple[int, Origin, int] | None = None
        for origin in origins:
            c, quality = self._column_quality(line, col, origin)
            if best is None or quality > best[0]:
                best = (quality, origin, c)
            if quality == 2:
                break
        assert best is not None  # origins is not empty
        return best[1], best[2]

    def _nearest(self, line: int) -> tuple[int, Origin] | None:
        """The closest line at or before `line` that has an origin."""
        for n in range(min(line, len(self.origins)), 0, -1):
            if self.origins[n - 1]:
                return n, self.origins[n - 1][0]
        return None

    def to_span(self, line: int, col: int, end_line: int, end_col: int) -> Span:
        """Map a range of rendered text (1-based, end exclusive) to a Span in a template."""
        located = self._locate(line, col)
        if located is None:
            # A blank line that no template line produced: the end of the nearest line before.
            near = self._nearest(line)
            if near is None:
                return Span(self.fallback_file, line, col, end_line, end_col)
            n, origin = near
            text = self.rendered_lines[n - 1]
            c = self._column(n, len(text) + 1, origin)
            return Span(origin.file, origin.line, c, origin.line, c)
        start, scol = located
        end_located = self._locate(end_line, end_col) if end_line != line else (start, 0)
        end = end_located[0] if end_located else None
        if end is None or end.file != start.file or end.line < start.line:
            # The range leaves its template: keep it on the start line.
            return Span(start.file, start.line, scol, start.line, scol + max(0, end_col - col if end_line == line else 1))
        ecol = self._column(end_line, end_col, end) if end_line != line else scol + (end_col - col)
        return Span(start.file, start.line, scol, end.line, ecol)


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _common_suffix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[-1 - i] == b[-1 - i]:
        i += 1
    return i


def _without_comment(source: str, start: int) -> Iterator[str]:
    """The source line, then the line without a trailing ` ##` comment (cut before rendering),
    trying the cut points from the right."""
    yield source
    i = len(source)
    while True:
        i = max(source.rfind(" ##", start, i), source.rfind("\t##", start, i))
        if i < 0:
            return
        yield source[:i].rstrip(" \t")
