"""The template graph: what the language server asks (definitions, overrides, references)."""

from __future__ import annotations

from fgc.render import render_file


def _hierarchy(root):
    (root / "exp.fg").write_text(
        "-- extends 'project.fg'\n"
        "-- import 'lib.jinja' as lib\n"
        "[trainer]\n"
        "    -- include 'exp.trainer'\n"
        "#--- exp.trainer ---\n"
        "-- extends 'trainer.fg'\n"
        "[args]\n"
        "    == super()\n"
    )
    (root / "project.fg").write_text("-- extends 'base.fg'\n[trainer]\n    == super()\n")
    (root / "base.fg").write_text("[trainer]\n-- block model required\n-- endblock\n")
    (root / "trainer.fg").write_text("[args]\n    lr: 1\n")
    (root / "lib.jinja").write_text("{% macro m() %}{% endmacro %}\n")


def test_graph_structure(tmp_path):
    _hierarchy(tmp_path)
    result = render_file(tmp_path / "exp.fg")
    g = result.graph
    assert g.root == "exp.fg"
    assert set(g.templates) == {"exp.fg", "exp.trainer", "project.fg", "base.fg", "trainer.fg", "lib.jinja"}
    assert [n.name for n in g.ancestors("exp.fg")] == ["project.fg", "base.fg"]
    assert [n.name for n in g.children("base.fg")] == ["project.fg"]
    assert g.templates["exp.trainer"].subtemplate
    kinds = [(r.kind, r.targets, r.resolved) for r in g.templates["exp.fg"].references]
    assert kinds == [
        ("extends", ["project.fg"], ["project.fg"]),
        ("import", ["lib.jinja"], ["lib.jinja"]),
        ("include", ["exp.trainer"], ["exp.trainer"]),
    ]
    # go-to-definition: the span of a reference's target is the string literal
    ext = g.templates["exp.fg"].extends[0]
    assert (ext.span.line, ext.span.col, ext.span.end_col) == (1, 12, 24)


def test_blocks_and_overrides(tmp_path):
    _hierarchy(tmp_path)
    g = render_file(tmp_path / "exp.fg").graph
    base_trainer = g.templates["base.fg"].blocks["trainer"]
    assert base_trainer.toml and (base_trainer.name_span.line, base_trainer.name_span.col) == (1, 2)
    assert [b.template for b in g.overrides(base_trainer)] == ["project.fg", "exp.fg"]
    exp_trainer = g.templates["exp.fg"].blocks["trainer"]
    assert [b.template for b in g.overridden(exp_trainer)] == ["project.fg", "base.fg"]
    model = g.templates["base.fg"].blocks["model"]
    assert model.required and not model.toml and model.parent == "trainer"
    assert [b.template for b in g.definitions("args")] == ["exp.trainer", "trainer.fg"]
    assert len(g.templates["project.fg"].blocks["trainer"].super_calls) == 1
    assert [r.source for r in g.references_to("trainer.fg")] == ["exp.trainer"]


def test_graph_json(tmp_path):
    import json

    _hierarchy(tmp_path)
    data = render_file(tmp_path / "exp.fg").graph.to_json()
    json.dumps(data)
    assert data["templates"]["exp.fg"]["references"][0]["targets"] == ["project.fg"]
    assert data["templates"]["base.fg"]["blocks"]["model"]["required"] is True


def test_node_at(tmp_path):
    from fgc.syntax.template_ast import JinjaPiece, Statement, TomlBlock
    from fgc.syntax.template_parser import parse_template

    text = "-- extends 'base.fg'\n[body]\n  a: {{ x }}\n"
    t, diags = parse_template(text, "f.fg", "f.fg")
    assert not diags
    assert isinstance(t.node_at(1, 14), Statement)
    assert isinstance(t.node_at(2, 3), TomlBlock)
    assert isinstance(t.node_at(3, 9), JinjaPiece)


def test_line_offset(tmp_path):
    from fgc.syntax.template_parser import parse_template

    t, diags = parse_template("a: {{ 1 + }}\n", "f.fg", "f.fg", line_offset=10)
    assert t.main.items[0].span.line == 11
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("FG0110", 11, 11)]
