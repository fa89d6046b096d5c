"""Mistakes anywhere in a three-level template hierarchy, at every stage of the pipeline, are
reported at the exact original file:line:col.

One valid hierarchy (exp.fg -> project.fg -> base.fg, an included sub-template `exp.trainer`
that extends trainer.fg, and a macro library) passes `fgc check` cleanly; each case replaces one
line of one file and expects its errors (one, but for a consequence noted in the case), each with its code at an
exact position. The cases
cover the template layer (missing and cyclic templates, Jinja syntax, undefined variables), the
YAML layer (indentation, tabs, unterminated flow collections, bad tags) and the semantic passes
(undefined alias, duplicate anchor or name, unknown module, attribute or argument, missing
required argument).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import fgc

FILES = {
    "exp.fg": """\
-- extends 'project.fg'
-- from 'lib/macros.jinja' import entry
[trainer]
    -- include 'exp.trainer'
[callbacks]
    == super()
    logger: {{ entry('logger') }}
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
callbacks: &callbacks !list:@callbacks
    - !call:dict { name: '{{ ns.name }}' }
main: !dict:@main
    optimizer: *optimizer
    meta: *meta
    callbacks: *callbacks
""",
    "base.fg": """\
-- set ns = namespace()
[config]
    -- set ns.steps = 10
.define: &optimizer !partial:.optim:SGD
    lr: 0.1
    momentum: 0.9
meta: &meta !dict:@meta
    steps: {{ ns.steps }}
    sizes: [1, 2, 3]
[trainer]
[callbacks]
""",
    "trainer.fg": """\
trainer: !call:dict
[args]
    batch_size: 2
    flags: [a, b]
    text: |
        hello
""",
    # a module next to the templates: the hierarchy needs no installed package (not even torch)
    "optim.py": """\
class SGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params, self.lr, self.momentum = list(params), lr, momentum
""",
    "lib/macros.jinja": """\
{% macro entry(name) -%}
{ kind: "{{ name }}", level: 1 }
{%- endmacro %}
""",
}

# (file, line number, replacement text, expected errors as "file:line:col CODE")
CASES = [
    # the child, exp.fg, and its sub-template exp.trainer
    ("exp.fg", 1, "-- extends 'projct.fg'", ['exp.fg:1:12 FG0201']),
    ("exp.fg", 4, "    -- include 'exp.trainr'", ['exp.fg:4:16 FG0201']),
    ("exp.fg", 6, "    == super(", ['exp.fg:6:14 FG0110']),
    ("exp.fg", 7, "    logger: {{ entry('logger') ]}", ['exp.fg:7:13 FG0101']),
    ("exp.fg", 7, "    logger: &meta {{ entry('logger') }}", ['exp.fg:7:13 FG0502']),
    ("exp.fg", 12, "    lr: {{ lrate }}", ['exp.fg:12:12 FG0301']),
    ("exp.fg", 12, "    lr: [1.0e-3, 2.0e-3", ['exp.fg:12:24 FG0405']),
    ("exp.fg", 12, "  lr: 1.0e-3", ['exp.fg:12:3 FG0402']),
    ("exp.fg", 12, "\tlr: 1.0e-3", ['exp.fg:12:1 FG0403']),
    ("exp.fg", 12, "    lr: !parital:x 1", ['exp.fg:12:9 FG0407']),
    ("exp.fg", 12, "    lr: *learning_rate", ['exp.fg:12:9 FG0501']),
    # the parent, project.fg
    ("project.fg", 1, "-- extends 'bse.fg'", ['project.fg:1:12 FG0201']),
    ("project.fg", 5, "[callbacks", ['project.fg:5:11 FG0405']),
    ("project.fg", 6, "callbacks: &callbacks !lst:@callbacks", ['project.fg:6:23 FG0407']),
    ("project.fg", 7, "    - !call:dict { name: '{{ ns.nam }}' }", ['project.fg:7:33 FG0301']),
    ("project.fg", 7, "    - !call:dict { name: 'x'", ['project.fg:7:29 FG0405']),
    ("project.fg", 8, "main: !dict:@meta", ['project.fg:8:7 FG0515']),
    ("project.fg", 9, "    optimizer: *optimiser", ['project.fg:9:16 FG0501']),
    ("project.fg", 10, "   meta: *meta", ['project.fg:10:4 FG0402']),
    # the grandparent, base.fg
    ("base.fg", 1, "-- extends 'exp.fg'", ['base.fg:1:12 FG0202']),
    ("base.fg", 3, "    -- set ns.steps = 10 +", ['base.fg:3:27 FG0110']),
    ("base.fg", 4, ".define: &optimizer !partial:.optim:SGDD", ['base.fg:4:21 FG0603']),
    ("base.fg", 4, ".define: &optimizer !partial:.optimm:SGD", ['base.fg:4:21 FG0601']),
    ("base.fg", 4, ".define: &optimizer !call:.optim:SGD", ['base.fg:4:21 FG0610']),
    ("base.fg", 6, "    momentom: 0.9", ['base.fg:6:5 FG0611']),
    ("base.fg", 7, "meta: &optimizer !dict:@meta", ['base.fg:7:7 FG0502', 'project.fg:10:11 FG0501']),  # and `*meta` is now undefined
    ("base.fg", 8, "    steps: {{ ns.stepz }}", ['base.fg:8:18 FG0301']),
    ("base.fg", 8, "    steps: {{ stepz }}", ['base.fg:8:15 FG0301']),
    ("base.fg", 9, "    sizes: [1, 2, 3", ['base.fg:9:20 FG0405']),
    ("base.fg", 9, "\tsizes: [1, 2, 3]", ['base.fg:9:1 FG0403']),
    # the template the sub-template extends, and the macro library
    ("trainer.fg", 3, "    batch_size: 2: 3", ['trainer.fg:3:18 FG0412']),
    ("trainer.fg", 4, "    flags: [a, b]]", ['trainer.fg:4:18 FG0401']),
    ("lib/macros.jinja", 2, '{ kind: "{{ nme }}", level: 1 }', ['lib/macros.jinja:2:13 FG0301']),
    ("lib/macros.jinja", 2, '{ kind: "{{ name }}", level: 1', ['lib/macros.jinja:2:31 FG0405']),
]


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root / "exp.fg"


def _errors(root: Path, files: dict[str, str]) -> list[str]:
    diags = fgc.check(_write(root, files))
    return [
        f"{Path(d.span.file).relative_to(root).as_posix()}:{d.span.line}:{d.span.col} {d.code}"
        for d in diags
        if d.is_error
    ], diags


def test_hierarchy_is_clean(tmp_path):
    errors, diags = _errors(tmp_path, FILES)
    assert diags == [], str(diags)


@pytest.mark.parametrize("file,line,text,expected", CASES, ids=[f"{c[0]}:{c[1]}:{i}" for i, c in enumerate(CASES)])
def test_error_position(tmp_path, file, line, text, expected):
    files = dict(FILES)
    lines = files[file].split("\n")
    lines[line - 1] = text
    files[file] = "\n".join(lines)
    errors, diags = _errors(tmp_path, files)
    print("\n".join(str(d) for d in diags))
    assert errors == expected, str(diags)
