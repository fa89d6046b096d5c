"""Origin markers: how rendered text remembers the template line each line came from.

Lowering appends to every text line one invisible character, a code point of the supplementary
private-use planes (U+F0000..U+10FFFD) that encodes a per-compilation id of (file, line). Jinja
copies it through `extends`, `super()`, `include`, macros and loops like any other text; after
rendering one pass finds the markers, a second removes them, and each rendered line gets the
origins of the markers it carries (two when whitespace control joined two lines). A line
without a marker of its own is part of a multi-line value spliced into the next marked line
(`key: {{ value }}`), unless it is blank.
"""

from __future__ import annotations

import bisect
import functools
import re
from typing import Callable

from ..sourcemap import Origin, SourceMap

BASE = 0xF0000
LAST = 0x10FFFD
CAPACITY = LAST - BASE + 1
ORIGINS_KEPT = 1 << 16  # origins of marker codes remembered by a table
MARKER = re.compile("[\U000f0000-\U0010fffd]")
_LO, _HI = chr(BASE), chr(LAST)


def is_marker(ch: str) -> bool:
    return _LO <= ch <= _HI


class MarkerTable:
    """The ids of one compilation: each template file owns a range of ids, one per line."""

    def __init__(self) -> None:
        self._bases: list[int] = []
        self._files: list[str] = []
        self._by_file: dict[str, int] = {}
        self._sizes: dict[str, int] = {}  # lines of each file's current range
        self._next = 0
        self._origins: dict[int, Origin] = {}  # marker code -> its origin (one object per line)

    def register(self, file: str, line_count: int) -> int | None:
        """The base id of `file` (line L has id base + L - 1); None once ids run out."""
        if file in self._by_file and line_count <= self._sizes[file]:
            return self._by_file[file]
        # New, or grown since a table shared across renderings (fgc.render.Reuse) gave it a
        # range: a fresh range; the old one still names the file's lines for older texts.
        if self._next + line_count > CAPACITY:
            return None
        base = self._next
        self._bases.append(base)
        self._files.append(file)
        self._by_file[file] = base
        self._sizes[file] = max(line_count, 1)
        self._next += max(line_count, 1)
        return base

    def remaining(self) -> int:
        """Ids not yet given out."""
        return CAPACITY - self._next

    def line_marks(self, file: str, line_count: int) -> Callable[[int], str] | None:
        """The marker of each line of `file` (registered on first use); None once ids run out."""
        base = self.register(file, line_count)
        return None if base is None else functools.partial(MarkerTable.marker, base)

    @staticmethod
    def marker(base: int, line: int) -> str:
        return chr(BASE + base + line - 1)

    def origin(self, code: int) -> Origin:
        found = self._origins.get(code)
        if found is None:
            ident = code - BASE
            k = bisect.bisect_right(self._bases, ident) - 1
            found = Origin(self._files[k], ident - self._bases[k] + 1)
            if len(self._origins) >= ORIGINS_KEPT:  # a table shared for long (fgc.render.Reuse)
                self._origins.clear()
            self._origins[code] = found
        return found


def unmark(text: str, table: MarkerTable, source_lines: dict[str, list[str]], fallback: str) -> tuple[str, SourceMap]:
    """Remove the markers from rendered `text`; the clean text and its source map."""
    lines_marks: dict[int, list[Origin]] = {}
    line = 0
    prev = 0
    for m in MARKER.finditer(text):
        pos = m.start()
        line += text.count("\n", prev, pos)
        prev = pos
        lines_marks.setdefault(line, []).append(table.origin(ord(m.group())))
    clean = MARKER.sub("", text) if lines_marks else text
    rendered = clean.split("\n")
    origins: list[tuple[Origin, ...]] = [()] * len(rendered)
    following: tuple[Origin, ...] = ()
    for i in range(len(rendered) - 1, -1, -1):
        marks = lines_marks.get(i)
        if marks:
            following = tuple(dict.fromkeys(marks))
            origins[i] = following
        elif rendered[i].strip():
            origins[i] = following[:1]
    return clean, SourceMap(origins=origins, rendered_lines=rendered, source_lines=source_lines, fallback_file=fallback)
