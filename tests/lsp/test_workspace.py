"""The workspace layer in-process: the same answers as a fresh `fgc check`, with caches."""

from __future__ import annotations

from pathlib import Path

from fgc import pipeline
from fgc.render import render_file
from fgc.workspace import ImportMode, Workspace

from .conftest import write

BASE = """\
[main]
main: !singleton:fractions:Fraction
    numerator: 3
    denominator: 4
"""
CHILD = """\
-- extends 'base.fg'
[main]
    == super()
    numerator: {{ 2 + 3 }}
"""


def fresh(path: Path, source=None):
    comp = pipeline.compile_file(path, use_black=False, code_text=False)
    return [(d.code, d.span, d.message) for d in comp.diagnostics]


def test_unchanged_templates_are_parsed_once_and_changed_ones_again(tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD})
    ws = Workspace(import_mode=ImportMode.OFF)
    ws.check(files["child.fg"])
    misses = ws.parses.misses
    ws.check(files["child.fg"])
    assert ws.parses.misses == misses and ws.parses.hits >= 2
    ws.overlay.open(str(files["base.fg"]), BASE.replace("numerator: 3", "numerator: 7"))
    ws.check(files["child.fg"])
    assert ws.parses.misses == misses + 1


def test_the_reverse_index_names_the_experiments_that_read_a_template(tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD, "other.fg": "x: 1\n"})
    ws = Workspace(import_mode=ImportMode.OFF)
    ws.check(files["child.fg"])
    ws.check(files["other.fg"])
    assert ws.affected_by(files["base.fg"]) == [str(files["child.fg"])]
    assert ws.affected_by(files["other.fg"]) == [str(files["other.fg"])]


def test_reused_lowerings_render_and_map_like_a_fresh_compilation(tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD})
    ws = Workspace(import_mode=ImportMode.OFF)
    ws.check(files["child.fg"])
    # The base grows by a line (a new marker range) and the child changes; the rendering and
    # every origin must be those of a compilation that shares nothing.
    grown = BASE.replace("    numerator: 3\n", "    ## a comment line\n    numerator: 3\n")
    for text in (grown, grown + "extra: 1\n", BASE):
        files["base.fg"].write_text(text)
        analysis = ws.check(files["child.fg"])
        reused = analysis.compilation.front.render
        alone = render_file(files["child.fg"])
        assert reused.text == alone.text
        assert reused.source_map.origins == alone.source_map.origins
        assert [(d.code, d.span, d.message) for d in analysis.diagnostics] == fresh(files["child.fg"])
        assert reused.reads == alone.reads  # the read sites of unchanged templates, reused


def test_a_forgotten_document_leaves_no_parsed_chunks(tmp_path):
    entries = "".join(f"entry_{i}:\n    value: {i}\n    other: [1, 2]\n" for i in range(20))  # several chunks
    files = write(tmp_path, {"exp.fg": entries})
    ws = Workspace(import_mode=ImportMode.OFF)
    ws.check(files["exp.fg"])
    ws.check(files["exp.fg"])
    assert ws.chunks.reused > 0 and ws.chunks.known(str(files["exp.fg"]))
    ws.forget(files["exp.fg"])
    assert ws.chunks.known(str(files["exp.fg"])) == {}
