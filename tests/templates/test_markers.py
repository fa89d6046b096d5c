"""Origin markers: invisible to what Jinja does with the text, and lowering keeps lines."""

from __future__ import annotations

from casefile import all_cases
from hypothesis import given, settings
from hypothesis import strategies as st

from fgc.render.environment import trim
from fgc.syntax.jinja_source import lower_chunk
from fgc.render.markers import CAPACITY, MARKER, MarkerTable, unmark
from fgc.syntax.template_parser import parse_template


def _strip(text: str) -> str:
    return MARKER.sub("", text)


_lines = st.lists(
    st.tuples(st.sampled_from(["", " ", "  ", "\t", "a", " b: 1", "x ", "\n"]), st.booleans()),
    max_size=8,
)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(_lines, st.sampled_from([None, "\n", " \n"]))
def test_trim_is_blind_to_markers(lines, chars):
    """Markers sit after a line's last non-blank character (lowering's rule); trimming the
    marked text then unmarking equals trimming the unmarked text."""
    marked, plain = [], []
    for i, (text, mark) in enumerate(lines):
        plain.append(text)
        end = len(text.rstrip())
        m = MarkerTable.marker(0, i + 1) if mark and text.strip() else ""
        marked.append(text[:end] + m + text[end:])
    joined_plain, joined_marked = "\n".join(plain), "\n".join(marked)
    assert _strip(trim(joined_marked, chars)) == joined_plain.strip(chars)


def test_trim_keeps_markers_of_kept_lines():
    m1, m2 = MarkerTable.marker(0, 1), MarkerTable.marker(0, 2)
    assert trim(f"\n  a: 1{m1}\n  b{m2}\n\n") == f"a: 1{m1}\n  b{m2}"


def test_lowering_is_line_for_line():
    """For every case input, each chunk's canonical Jinja has exactly the chunk's lines."""
    for case in all_cases("templates"):
        for name, text in case.files.items():
            if name == "ARGS":
                continue
            template, _ = parse_template(text, name, name)
            for chunk in template.chunks:
                lowered = lower_chunk(chunk, MarkerTable().line_marks(name, text.count("\n") + 1))
                lines = max(chunk.line_count, 1) + chunk.trailing_newline
                assert lowered.count("\n") + 1 == lines, (case, name, chunk.name)


def test_marker_table_origins():
    table = MarkerTable()
    a = table.register("a.fg", 10)
    b = table.register("b.fg", 3)
    assert table.register("a.fg", 10) == a
    text = f"x{table.marker(a, 4)}\ny{table.marker(b, 2)}{table.marker(a, 9)}\n\nplain\nz{table.marker(b, 3)}"
    clean, smap = unmark(text, table, {}, "a.fg")
    assert clean == "x\ny\n\nplain\nz"
    assert [[(o.file, o.line) for o in origins] for origins in smap.origins] == [
        [("a.fg", 4)],
        [("b.fg", 2), ("a.fg", 9)],
        [],
        [("b.fg", 3)],  # a line without a marker of its own: a spliced value of the next one
        [("b.fg", 3)],
    ]


def test_marker_capacity_is_bounded():
    table = MarkerTable()
    assert table.register("big.fg", CAPACITY) == 0
    assert table.register("more.fg", 1) is None
