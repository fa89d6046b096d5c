"""UTF-16 columns at the edge (fgc.workspace.positions): code points inside, UTF-16 units out."""

from __future__ import annotations

from fgc.workspace import LineIndex, utf16_length


def test_ascii_lines_map_one_to_one():
    index = LineIndex("ab\ncd")
    assert index.to_lsp(2, 2) == (1, 1)
    assert index.from_lsp(1, 1) == (2, 2)


def test_a_character_outside_the_bmp_is_two_units():
    index = LineIndex("x: '🙂' y")
    assert utf16_length("🙂") == 2
    assert index.to_lsp(1, 8) == (0, 8)  # the `y` after the emoji: column 8, unit 8
    assert index.to_lsp(1, 5) == (0, 4)  # the emoji itself: column 5, unit 4
    assert index.to_lsp(1, 6) == (0, 6)  # the quote after it: column 6, unit 6
    assert index.from_lsp(0, 8) == (1, 8)
    assert index.from_lsp(0, 5) == (1, 5)  # inside the surrogate pair: the emoji's column


def test_positions_past_the_end_keep_their_distance():
    index = LineIndex("ab")
    assert index.to_lsp(1, 5) == (0, 4)
    assert index.from_lsp(0, 4) == (1, 5)
    assert index.to_lsp(3, 1) == (2, 0)
