"""Statement pairing (fgc/syntax/pairing.py): which statement opens what, its continuations and
its closer, with positions; and the diagnostics of unbalanced statements at the tag at fault.

Each case is a template, its pairs (one line per pair, indented under the pair it is in:
`keyword [name] LINE:COL [| middle LINE:COL, ...] -> closer LINE:COL`, `open` when never
closed, `end` for a TOML-style block, which closes implicitly), its diagnostics as
(code, line, col) and the lines jinja2 reads as raw text.
"""

from __future__ import annotations

import pytest

from fgc.render import render_file
from fgc.syntax.pairing import TOML, is_block_set, structure_of
from fgc.syntax.template_ast import keyword_of
from fgc.syntax.template_parser import parse_template

CASES = [
    ("plain-set", "{% set x = 1 %}\nv: {{ x }}\n", "", [], []),
    ("block-set", "{% set x %}1{% endset %}", "set 1:4 -> 1:16", [], []),
    (
        "block-set-whose-filter-has-an-equals-sign",
        '{% set x | replace("=", "") %}a=b{% endset %}',
        "set 1:4 -> 1:37",
        [],
        [],
    ),
    ("block-set-with-whitespace-control", "{%- set x -%}\n1\n{%- endset -%}\n", "set 1:5 -> 3:5", [], []),
    (
        "sets-that-are-not-block-sets",
        "{% set a, b = 1, 2 %}{% set ns.c = f(d=1) %}{% set e = {'k': 1} %}{% set f = g == h %}",
        "",
        [],
        [],
    ),
    ("block-set-with-keyword-argument", "{% set e | f(g=1) %}{% endset %}", "set 1:4 -> 1:24", [], []),
    (
        "nested",
        "{% block a %}\n"
        "{% if x %}\n"
        "{% for i in y %}{% else %}{% endfor %}\n"
        "{% elif z %}\n"
        "{% macro m() %}{% call m() %}{% endcall %}{% endmacro %}\n"
        "{% else %}\n"
        "{% filter upper %}{% with q = 1 %}{% raw %}{% if %}{% endraw %}{% endwith %}{% endfilter %}\n"
        "{% endif %}\n"
        "{% endblock a %}\n",
        "block a 1:4 -> 9:4\n"
        "  if 2:4 | elif 4:4, else 6:4 -> 8:4\n"
        "    for 3:4 | else 3:20 -> 3:30\n"
        "    macro 5:4 -> 5:46\n"
        "      call 5:19 -> 5:33\n"
        "    filter 7:4 -> 7:80\n"
        "      with 7:22 -> 7:67\n"
        "        raw 7:38 -> 7:55",
        [],
        [],
    ),
    ("line-statements", "-- if x\nv: 1\n<< elif y\n>> endif\n", "if 1:4 | elif 3:4 -> 4:4", [], []),
    ("line-statement-block", "-- block body\nv: 1\n-- endblock body\n", "block body 1:4 -> 3:4", [], []),
    (
        "toml-blocks-nest-statements",
        "[a]\n-- if x\nv: 1\n-- endif\n[b]\nw: 2\n",
        "[toml] a 1:1 -> end\n  if 2:4 -> 4:4\n[toml] b 5:1 -> end",
        [],
        [],
    ),
    (
        "statement-open-where-a-toml-block-ends",
        "[a]\n-- if x\nv: 1\n[b]\n-- endif\n",
        "[toml] a 1:1 -> end\n  if 2:4 -> 5:4\n[toml] b 4:1 -> end",
        [("FG0112", 2, 4)],
        [],
    ),
    (
        "closer-outside-its-toml-block",
        "-- if x\n[a]\nv: 1\n-- endif\n",
        "if 1:4 -> 4:4\n  [toml] a 2:1 -> end",
        [("FG0112", 4, 4)],
        [],
    ),
    ("unclosed", "{% if x %}\nv: 1\n", "if 1:4 -> open", [("FG0111", 1, 4)], []),
    (
        "mismatched-closer",
        "{% if x %}{% endfor %}",
        "if 1:4 -> open",
        [("FG0111", 1, 14), ("FG0111", 1, 4)],
        [],
    ),
    (
        "closer-while-an-inner-statement-is-open",
        "{% if x %}\n{% for y in z %}\n{% endif %}",
        "if 1:4 -> 3:4\n  for 2:4 -> open",
        [("FG0111", 3, 4)],
        [],
    ),
    ("endblock-names-another-block", "{% block a %}{% endblock b %}", "block a 1:4 -> 1:17", [("FG0111", 1, 17)], []),
    ("middle-and-closer-without-opener", "{% else %}\n{% endif %}", "", [("FG0111", 1, 4), ("FG0111", 2, 4)], []),
    ("elif-in-a-for", "{% for x in y %}{% elif z %}{% endfor %}", "for 1:4 -> 1:32", [("FG0111", 1, 20)], []),
    ("block-defined-twice", "[a]\n-- block a\n-- endblock", "[toml] a 1:1 -> end\n  block a 2:4 -> 3:4", [("FG0113", 2, 10)], []),
    (
        "raw-is-text",
        "{% raw %}\n{{ x\n{% if %}\n{% endraw %}\n{% raw %}\n{{ y\n",
        "raw 1:4 -> 4:4\nraw 5:4 -> open",
        [("FG0111", 5, 4)],
        [2, 3, 6],
    ),
]


def dump(structure) -> str:
    def pos(span) -> str:
        return f"{span.line}:{span.col}"

    out = []
    for pair in structure.pairs:
        depth, up = 0, pair.parent
        while up is not None:
            depth, up = depth + 1, up.parent
        line = "  " * depth + pair.keyword + (f" {pair.name}" if pair.name else "") + f" {pos(pair.span)}"
        if pair.middles:
            line += " | " + ", ".join(f"{keyword_of(m.body)} {pos(m.body_span)}" for m in pair.middles)
        closer = "end" if pair.keyword == TOML else pos(pair.closer.body_span) if pair.closer else "open"
        out.append(f"{line} -> {closer}")
    return "\n".join(out)


@pytest.mark.parametrize("name, text, pairs, diagnostics, raw", CASES, ids=[c[0] for c in CASES])
def test_pairing(name, text, pairs, diagnostics, raw):
    template, diags = parse_template(text, "t.fg", "t.fg", check_jinja=False)
    structure = structure_of(template.main)
    assert dump(structure) == pairs
    assert [(d.code, d.span.line, d.span.col) for d in diags] == diagnostics
    assert sorted(structure.raw_lines) == raw


def test_pairing_is_computed_once_per_chunk():
    template, _ = parse_template("{% if x %}{% endif %}", "t.fg", "t.fg", check_jinja=False)
    assert structure_of(template.main) is structure_of(template.main)


def test_tags_and_expressions_know_what_is_open_around_them():
    template, _ = parse_template("{% block a %}{% if x %}{{ y }}{% endif %}{{ z }}{% endblock %}", "t.fg", "t.fg")
    structure = structure_of(template.main)
    line = template.main.items[0]
    y, z = [p for p in line.pieces if p.body.strip() in ("y", "z")]
    assert [p.keyword for p in structure.enclosing(y)] == ["block", "if"]
    assert [p.keyword for p in structure.enclosing(z)] == ["block"]
    assert structure.open_after(line) == ()


@pytest.mark.parametrize(
    "body, block",
    [
        ("set x", True),
        ('set x | replace("=", "")', True),
        ("set x | f(g=1)", True),
        ("set x = 1", False),
        ("set a, b = 1, 2", False),
        ("set ns.x = y == z", False),
        ("set x = {'a': 1}", False),
        ("if x", False),
    ],
)
def test_block_sets_are_told_as_jinja2_tells_them(body, block):
    assert is_block_set(body) is block


# The misreading issue 10 named: `"=" not in body` took this block set for a plain one, so its
# `endset` was reported as closing nothing (FG0111) and the template did not render.
BLOCK_SET_WITH_EQUALS = '{% set x | replace("=", "") %}a=b{% endset %}\nv: {{ x }}\n'


def test_block_set_whose_filter_has_an_equals_sign_renders(tmp_path):
    (tmp_path / "t.fg").write_text(BLOCK_SET_WITH_EQUALS, encoding="utf-8")
    result = render_file(tmp_path / "t.fg")
    assert [str(d) for d in result.diagnostics] == []
    assert result.text == "v: ab"


def test_a_set_inside_raw_is_text(tmp_path):
    """A `{% set x %}` inside raw opens nothing: the lines after endraw keep their origins."""
    (tmp_path / "t.fg").write_text("a: '{% raw %}{% set x %}{% endraw %}'\nb: 1\n", encoding="utf-8")
    result = render_file(tmp_path / "t.fg")
    assert result.text == "a: '{% set x %}'\nb: 1"
    assert [[o.line for o in origins] for origins in result.source_map.origins] == [[1], [2]]
