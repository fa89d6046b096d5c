"""Positions at the edge: fgc's (1-based line, 1-based column in code points) and the Language
Server Protocol's (0-based line, 0-based column in UTF-16 code units).

Everything inside fgc counts columns in Python string indices; only the language server speaks
UTF-16, so it converts here, once per position, with the text of the line it is about (as
ruff's `LineIndex` does). A character outside the Basic Multilingual Plane is one column for fgc
and two for the editor.
"""

from __future__ import annotations


def utf16_length(text: str) -> int:
    """The number of UTF-16 code units of `text`."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class LineIndex:
    """The lines of one document, to convert columns between code points and UTF-16 units."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")

    def line(self, line: int) -> str:
        """The text of 1-based line `line` ('' past the end)."""
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""

    def to_lsp(self, line: int, col: int) -> tuple[int, int]:
        """fgc (line, col) -> LSP (line, character). A column past the end of the line keeps its
        distance from the end (a caret just after the last character)."""
        text = self.line(line)
        index = max(col - 1, 0)
        extra = max(index - len(text), 0)
        return max(line - 1, 0), utf16_length(text[:index]) + extra

    def from_lsp(self, line: int, character: int) -> tuple[int, int]:
        """LSP (line, character) -> fgc (line, col). A character inside a surrogate pair lands
        on the character that starts it."""
        text = self.line(line + 1)
        units = 0
        for index, ch in enumerate(text):
            width = 2 if ord(ch) > 0xFFFF else 1
            if units + width > character:
                return line + 1, index + 1
            units += width
        return line + 1, len(text) + 1 + max(character - units, 0)
