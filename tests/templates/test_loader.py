"""The loader: names, the per-compilation sub-template registry, line breaks, reading errors."""

from __future__ import annotations

import pytest

from fgc.loader import BadName, normalize_name
from fgc.render import render_file


@pytest.mark.parametrize(
    "name,normal",
    [("a.fg", "a.fg"), ("./a.fg", "a.fg"), ("x//y/./z.fg", "x/y/z.fg"), ("/abs.fg", "abs.fg")],
)
def test_normalize_name(name, normal):
    assert normalize_name(name) == normal


@pytest.mark.parametrize("name", ["../a.fg", "x/../a.fg", "a\\b.fg", "", "."])
def test_bad_names(name):
    with pytest.raises(BadName):
        normalize_name(name)


def test_subtemplates_are_per_compilation(tmp_path):
    """Two compilations in one process, each with its own `exp.inner`: neither sees the other's
    (the reference's shared environment served the first one to both)."""
    (tmp_path / "a.fg").write_text("-- include 'exp.inner'\n#--- exp.inner ---\nfrom: a\n")
    (tmp_path / "b.fg").write_text("-- include 'exp.inner'\n#--- exp.inner ---\nfrom: b\n")
    assert render_file(tmp_path / "a.fg").text == "from: a"
    assert render_file(tmp_path / "b.fg").text == "from: b"
    assert render_file(tmp_path / "a.fg").text == "from: a"


def test_edited_file_is_read_again(tmp_path):
    f = tmp_path / "main.fg"
    f.write_text("-- include 'p'\n#--- p ---\nv: 1\n")
    assert render_file(f).text == "v: 1"
    f.write_text("-- include 'p'\n#--- p ---\nv: 2\n")
    assert render_file(f).text == "v: 2"


def test_crlf_and_cr_line_breaks(tmp_path):
    f = tmp_path / "main.fg"
    f.write_bytes(b"## comment\r\n-- set x = 1\r\na: {{ x }}\rb: 2\r\n")
    result = render_file(f)
    assert result.text == "a: 1\nb: 2"
    assert [o[0].line for o in result.source_map.origins] == [3, 4]


def test_not_utf8(tmp_path):
    f = tmp_path / "main.fg"
    f.write_bytes(b"a: \xff\xfe\n")
    result = render_file(f)
    assert result.text is None
    assert [d.code for d in result.diagnostics] == ["FG0109"]


def test_unreadable_included_file(tmp_path):
    (tmp_path / "main.fg").write_text("-- include 'bin.fg'\n")
    (tmp_path / "bin.fg").write_bytes(b"\x80\x81")
    result = render_file(tmp_path / "main.fg")
    assert [(d.code, d.span.line, d.span.col) for d in result.diagnostics] == [("FG0109", 1, 12)]


def test_templates_used_are_listed(tmp_path):
    (tmp_path / "main.fg").write_text("-- extends 'base.fg'\n")
    (tmp_path / "base.fg").write_text("-- include 'inc/x.fg'\n")
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "x.fg").write_text("x: 1\n")
    (tmp_path / "unused.fg").write_text("u: 1\n")
    result = render_file(tmp_path / "main.fg")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in result.templates) == ["base.fg", "inc/x.fg", "main.fg"]


def test_dynamic_target_joins_graph(tmp_path):
    (tmp_path / "main.fg").write_text("-- set ns = namespace(p='base.fg')\n-- extends ns.p\n[a]\nchild: 1\n")
    (tmp_path / "base.fg").write_text("[a]\n")
    result = render_file(tmp_path / "main.fg")
    assert result.text == "child: 1\n"
    ref = result.graph.templates["main.fg"].extends[0]
    assert ref.dynamic and ref.expression == "ns.p" and ref.resolved == ["base.fg"]
    assert [p.name for p in result.graph.parents("main.fg")] == ["base.fg"]
    assert any(p.name == "base.fg" for p in result.templates)
