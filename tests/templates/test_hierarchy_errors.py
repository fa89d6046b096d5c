"""Errors anywhere in a three-level template hierarchy are reported at the exact file:line:col.

One valid hierarchy (experiment -> project -> base, plus an included sub-template, a macro
library and a trainer template extended by the sub-template) is rendered once; then each case
replaces one line of one file and expects exactly one error at an exact position.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fgc.render import render_file

FILES = {
    "exp.fg": """\
-- extends 'project.fg'
-- from 'lib/macros.jinja' import entry
[trainer]
    -- include 'exp.trainer'
[callbacks]
    == super()
    {{ entry('logger') }}
#--- exp.trainer ---
-- extends 'trainer.fg'
[args]
    == super()
    lr: {{ lr | toyaml(1.0e-3) }}
""",
    "project.fg": """\
-- extends 'base.fg'
[config]
    == super()
    -- set ns.name = 'demo'
[callbacks]
    callbacks:
""",
    "base.fg": """\
-- set ns = namespace()
[config]
    -- set ns.steps = 10
meta:
    steps: {{ ns.steps }}
trainer:
[trainer]
[callbacks]
""",
    "trainer.fg": """\
args:
[args]
    batch_size: 2
""",
    "lib/macros.jinja": """\
{% macro entry(name) -%}
- {{ name }}
{%- endmacro %}
""",
}

# (file, line number, new text, expected "file:line:col code")
CASES = [
    ("base.fg", 5, "    steps: {{ ns.stepz }}", "base.fg:5:18 FG0301"),
    ("base.fg", 5, "    steps: {{ undefined_var }}", "base.fg:5:15 FG0301"),
    ("base.fg", 3, "    -- set ns.steps = 10 +", "base.fg:3:27 FG0110"),
    ("base.fg", 4, "meta: {{ 'a' ~ }}", "base.fg:4:16 FG0110"),
    ("base.fg", 1, "-- extends 'exp.fg'", "base.fg:1:12 FG0202"),
    # in a block that is rendered (`project.fg` overrides `config` with super()); in `trainer`,
    # which `exp.fg` overrides without super(), a missing include is a warning (never loaded)
    ("base.fg", 3, "    -- include 'nothere.fg'", "base.fg:3:16 FG0201"),
    ("base.fg", 5, "    steps: {{ ns.steps | nofilter }}", "base.fg:5:26 FG0303"),
    ("base.fg", 3, "    -- if ns", "base.fg:3:8 FG0112"),
    ("project.fg", 1, "-- extends 'bse.fg'", "project.fg:1:12 FG0201"),
    ("project.fg", 4, "    -- set ns.name = 'demo' }}", "project.fg:4:29 FG0110"),
    ("project.fg", 6, "    callbacks: {{ cb }}", "project.fg:6:19 FG0301"),
    ("project.fg", 3, "    == super(", "project.fg:3:14 FG0110"),
    ("project.fg", 6, "    -- endif", "project.fg:6:8 FG0111"),
    ("exp.fg", 4, "    -- include 'exp.trainr'", "exp.fg:4:16 FG0201"),
    ("exp.fg", 12, "    lr: {{ lr | toyaml(1.0e-3 }}", "exp.fg:12:31 FG0110"),
    ("exp.fg", 12, "    lr: {{ lrate }}", "exp.fg:12:12 FG0301"),
    ("exp.fg", 9, "-- extends 'trainers.fg'", "exp.fg:9:12 FG0201"),
    ("exp.fg", 7, "    {{ entry('logger', extra) }}", "exp.fg:7:8 FG0305"),
    ("exp.fg", 2, "-- from 'lib/macro.jinja' import entry", "exp.fg:2:9 FG0201"),
    ("exp.fg", 7, "    {{ super() }}x {{", "exp.fg:7:20 FG0101"),
    ("trainer.fg", 3, "    batch_size: {{ 2 * }}", "trainer.fg:3:24 FG0110"),
    ("trainer.fg", 3, "    batch_size: {{ bs }}", "trainer.fg:3:20 FG0301"),
    ("lib/macros.jinja", 2, "- {{ name.upper( }}", "lib/macros.jinja:2:18 FG0110"),
    ("lib/macros.jinja", 2, "- {{ nam }}", "lib/macros.jinja:2:6 FG0301"),
]


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root / "exp.fg"


def test_hierarchy_renders(tmp_path):
    result = render_file(_write(tmp_path, FILES))
    assert result.diagnostics == []
    assert "    - logger" in result.text and "    lr: 0.001" in result.text
    assert "    batch_size: 2" in result.text and "    steps: 10" in result.text


@pytest.mark.parametrize("file,line,text,expected", CASES, ids=[f"{c[0]}:{c[1]}:{c[3].split()[1]}" for c in CASES])
def test_error_position(tmp_path, file, line, text, expected):
    files = dict(FILES)
    lines = files[file].split("\n")
    lines[line - 1] = text
    files[file] = "\n".join(lines)
    result = render_file(_write(tmp_path, files))
    errors = [d for d in result.diagnostics if d.is_error]
    got = [f"{Path(d.span.file).relative_to(tmp_path).as_posix()}:{d.span.line}:{d.span.col} {d.code}" for d in errors]
    assert got == [expected], "\n".join(str(d) for d in result.diagnostics)
    assert result.text is None
