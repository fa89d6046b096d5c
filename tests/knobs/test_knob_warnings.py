"""FG0207: a knob that a child template or `-D` gives, replaced by an ancestor's unconditional
top-level `set`. Each case is a few templates (the first is compiled), the `-D` variables, and
the expected warnings written `FILE:LINE:COL <- GIVER, ...`: the replacing set, then the child
sets (FILE:LINE:COL) and `-D` notes it replaces. The rendered values are checked against Jinja's
own semantics too, so a case cannot claim a replacement that does not happen."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import fgc
from fgc.diagnostics import Severity

PARENT_60 = "-- set x = 60\nx: {{ x }}\n"


@dataclass
class Case:
    files: dict[str, str]
    expect: list[str]
    variables: dict = field(default_factory=dict)
    x: object = None  # the rendered value of `x:` (None: not checked)


WARNS = {
    "child set replaced by parent": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": PARENT_60},
        ["p.fg:1:8 <- c.fg:2:8"],
        x=60,
    ),
    "-D replaced by parent": Case({"p.fg": PARENT_60}, ["p.fg:1:8 <- -D"], {"x": 5}, x=60),
    "-D replaced by the compiled file itself": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "x: {{ x }}\n"}, ["c.fg:2:8 <- -D"], {"x": 5}, x=30
    ),
    "-D through a deferring child, replaced by parent": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = x | default(30)\n", "p.fg": PARENT_60},
        ["p.fg:1:8 <- -D"],
        {"x": 5},
        x=60,
    ),
    "deferring child's default replaced by parent": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = x | default(30)\n", "p.fg": PARENT_60},
        ["p.fg:1:8 <- c.fg:2:8"],
        x=60,
    ),
    "child and -D both replaced, one warning each": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": PARENT_60},
        ["c.fg:2:8 <- -D", "p.fg:1:8 <- c.fg:2:8"],
        {"x": 5},
        x=60,
    ),
    "grandparent replaces the leaf through a silent parent": Case(
        {"c.fg": "-- extends 'm.fg'\n-- set x = 30\n", "m.fg": "-- extends 'g.fg'\n", "g.fg": PARENT_60},
        ["g.fg:1:8 <- c.fg:2:8"],
        x=60,
    ),
    "grandparent replaces through a deferring parent": Case(
        {
            "c.fg": "-- extends 'm.fg'\n-- set x = 30\n",
            "m.fg": "-- extends 'g.fg'\n-- set x = x | default(40)\n",
            "g.fg": PARENT_60,
        },
        ["g.fg:1:8 <- c.fg:2:8"],
        x=60,
    ),
    "each level replaces the one below": Case(
        {
            "c.fg": "-- extends 'm.fg'\n-- set x = 30\n",
            "m.fg": "-- extends 'g.fg'\n## the middle\n-- set x = 40\n",
            "g.fg": PARENT_60,
        },
        ["m.fg:3:8 <- c.fg:2:8", "g.fg:1:8 <- m.fg:3:8"],
        x=60,
    ),
    "inline {% set %} in the parent": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "## knobs\n{% set x = 60 %}\nx: {{ x }}\n"},
        ["p.fg:2:8 <- c.fg:2:8"],
        x=60,
    ),
    "inline {% set %} in the child": Case(
        {"c.fg": "-- extends 'p.fg'\n  {%- set x = 30 %}\n", "p.fg": PARENT_60},
        ["p.fg:1:8 <- c.fg:2:11"],
        x=60,
    ),
    "child sets in a top-level if": Case(
        {"c.fg": "-- extends 'p.fg'\n-- if true\n    -- set x = 30\n-- endif\n", "p.fg": PARENT_60},
        ["p.fg:1:8 <- c.fg:3:12"],
        x=60,
    ),
    "tuple assignment in the parent": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "-- set y, x = 1, 60\nx: {{ x }}\n"},
        ["p.fg:1:11 <- c.fg:2:8"],
        x=60,
    ),
    "block set in the parent": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "-- set x\n60\n-- endset\nx: {{ x }}\n"},
        ["p.fg:1:8 <- c.fg:2:8"],
        x=60,
    ),
    "only the last of the child's sets is replaced": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 20\n-- set x = 30\n", "p.fg": PARENT_60},
        ["p.fg:1:8 <- c.fg:3:8"],
        x=60,
    ),
    "parent's set after its text still replaces": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "y: 1\n-- set x = 60\nx: {{ x }}\n"},
        ["p.fg:2:8 <- c.fg:2:8"],
        x=60,
    ),
    "set inside an extended sub-template that is included": Case(
        {
            "r.fg": "-- include 'inc.child'\n"
            "#--- inc.child ---\n-- extends 'inc.base'\n-- set x = 30\n"
            "#--- inc.base ---\n-- set x = 60\nx: {{ x }}\n"
        },
        ["r.fg:6:8 <- r.fg:4:8"],
        x=60,
    ),
    "-D replaced inside an included template": Case(
        {"r.fg": "-- include 'inc.base'\n#--- inc.base ---\n-- set x = 60\nx: {{ x }}\n"},
        ["r.fg:3:8 <- -D"],
        {"x": 5},
        x=60,
    ),
    "includer's set replaced by the included template": Case(
        {"r.fg": "-- set x = 30\n-- include 'inc.base'\n#--- inc.base ---\n-- set x = 60\nx: {{ x }}\n"},
        ["r.fg:4:8 <- r.fg:1:8"],
        x=60,
    ),
    "a child's set replaced by a template its parent includes in a block": Case(
        {
            "c.fg": "-- extends 'p.fg'\n-- set x = 30\n",
            "p.fg": "[b]\n    -- include 'inc.fg'\n",
            "inc.fg": "-- set x = 60\nx: {{ x }}\n",
        },
        ["inc.fg:1:8 <- c.fg:2:8"],
        x=60,
    ),
    "-D through a deferring includer, replaced by the included template": Case(
        {"r.fg": "-- set x = x | default(30)\n-- include 'inc.base'\n#--- inc.base ---\n-- set x = 60\nx: {{ x }}\n"},
        ["r.fg:4:8 <- -D"],
        {"x": 5},
        x=60,
    ),
    "only the replaced name of several": Case(
        {
            "c.fg": "-- extends 'p.fg'\n-- set x = 30\n-- set y = 3\n",
            "p.fg": "-- set y = y | default(6)\n-- set x = 60\nx: {{ x }}\ny: {{ y }}\n",
        },
        ["p.fg:2:8 <- c.fg:2:8"],
        x=60,
    ),
}

QUIET = {
    "parent defers with default": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "-- set x = x | default(60)\nx: {{ x }}\n"}, [], x=30
    ),
    "parent defers, -D wins": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = x | default(30)\n", "p.fg": "-- set x = x | default(60)\nx: {{ x }}\n"},
        [],
        {"x": 5},
        x=5,
    ),
    "parent defers with is defined": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "-- set x = x if x is defined else 60\nx: {{ x }}\n"},
        [],
        x=30,
    ),
    "parent sets only when undefined": Case(
        {
            "c.fg": "-- extends 'p.fg'\n-- set x = 30\n",
            "p.fg": "-- if x is not defined\n    -- set x = 60\n-- endif\nx: {{ x }}\n",
        },
        [],
        x=30,
    ),
    "parent sets inside a block": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "x: {{ x }}\n[b]\n-- set x = 60\ny: {{ x }}\n"},
        [],
        x=30,
    ),
    "parent sets inside a macro": Case(
        {
            "c.fg": "-- extends 'p.fg'\n-- set x = 30\n",
            "p.fg": "-- macro m()\n-- set x = 60\n{{ x }}\n-- endmacro\nx: {{ x }}\n",
        },
        [],
        x=30,
    ),
    "parent sets inside a for loop": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "-- for i in [1]\n-- set x = 60\n-- endfor\nx: {{ x }}\n"},
        [],
        x=30,
    ),
    "parent sets inside with": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "-- with\n-- set x = 60\n-- endwith\nx: {{ x }}\n"},
        [],
        x=30,
    ),
    "parent sets another name": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "-- set x_max = 60\nx: {{ x }}\n"}, [], x=30
    ),
    "parent sets a namespace attribute": Case(
        {
            "c.fg": "-- extends 'p.fg'\n-- set ns = namespace(x=30)\n",
            "p.fg": "-- set ns.x = 60\nx: {{ ns.x }}\n",
        },
        [],
        x=60,
    ),
    "a set in raw text is text": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "y: '{% raw %}{% set x = 60 %}{% endraw %}'\nx: {{ x }}\n"},
        [],
        x=30,
    ),
    "child sets only inside its block": Case(
        {"c.fg": "-- extends 'p.fg'\n[b]\n-- set x = 30\nx: {{ x }}\n", "p.fg": "-- set x = 60\n[b]\n"},
        [],
        x=30,
    ),
    "child sets only inside a for loop": Case(
        {"c.fg": "-- extends 'p.fg'\n-- for i in [1]\n-- set x = 30\n-- endfor\n", "p.fg": PARENT_60}, [], x=60
    ),
    "parent's set with nothing to replace": Case({"c.fg": "-- extends 'p.fg'\n", "p.fg": PARENT_60}, [], x=60),
    "-D of a name nobody sets": Case({"p.fg": "x: {{ x }}\n"}, [], {"x": 5}, x=5),
    "the same template sets twice": Case({"p.fg": "-- set x = 30\n-- set x = 60\nx: {{ x }}\n"}, [], x=60),
    "the parent updates the child's value": Case(
        {"c.fg": "-- extends 'p.fg'\n-- set x = 30\n", "p.fg": "-- set x = x * 2\nx: {{ x }}\n"}, [], x=60
    ),
    "an included template defers to its includer": Case(
        {
            "c.fg": "-- extends 'p.fg'\n-- set x = 30\n",
            "p.fg": "[b]\n    -- include 'inc.fg'\n",
            "inc.fg": "-- set x = x | default(60)\nx: {{ x }}\n",
        },
        [],
        x=30,
    ),
    "an included template defers to -D": Case(
        {"r.fg": "-- include 'inc.base'\n#--- inc.base ---\n-- set x = x | default(60)\nx: {{ x }}\n"},
        [],
        {"x": 5},
        x=5,
    ),
}


def run(case: Case, tmp_path: Path):
    for name, text in case.files.items():
        (tmp_path / name).write_text(text)
    root = tmp_path / next(iter(case.files))
    return fgc.check(root, variables=case.variables, import_modules=False), root


def located(diagnostic) -> str:
    def at(span) -> str:
        return f"{Path(span.file).name}:{span.line}:{span.col}"

    givers = [at(r.span) if r.span else "-D" for r in diagnostic.related]
    return f"{at(diagnostic.span)} <- {', '.join(givers)}"


@pytest.mark.parametrize("name", list(WARNS) + list(QUIET))
def test_case(name, tmp_path):
    case = WARNS.get(name) or QUIET[name]
    diagnostics, root = run(case, tmp_path)
    assert not [d for d in diagnostics if d.severity == Severity.ERROR], "\n".join(map(str, diagnostics))
    knobs = sorted(located(d) for d in diagnostics if d.code == "FG0207")
    assert knobs == sorted(case.expect)
    assert all(d.severity == Severity.WARNING for d in diagnostics if d.code == "FG0207")
    if case.x is not None:  # what Jinja really did: the warning is about a real replacement
        from fgc.render import render_file

        text = render_file(root, variables=case.variables).text
        assert f"x: {case.x}" in text.splitlines()


def test_cases_are_named_once():
    assert not set(WARNS) & set(QUIET)


def test_message_names_both_givers_and_the_fix(tmp_path):
    case = Case({"c.fg": "-- extends 'p.fg'\n-- set max_steps = 30\n", "p.fg": "-- set max_steps = 60\n"}, [])
    (d,) = [d for d in run(case, tmp_path)[0] if d.code == "FG0207"]
    assert "`p.fg` replaces the value of `max_steps` given by `c.fg`" in d.message
    assert d.hint == "to let a child template and `-D` set it, write `-- set max_steps = max_steps | default(60)`"
    assert [r.message for r in d.related] == ["`max_steps` set here, in `c.fg`"]


def test_command_line_note_has_no_position(tmp_path):
    case = Case({"p.fg": "{% set lr = 3.0e-4 %}\nlr: {{ lr }}\n"}, [], {"lr": 0.001})
    (d,) = [d for d in run(case, tmp_path)[0] if d.code == "FG0207"]
    assert "given by `-D lr=0.001`" in d.message
    assert d.hint == "to let `-D` set it, write `{% set lr = lr | default(3.0e-4) %}`"
    (note,) = d.related
    assert note.span is None and note.message == "`-D lr=0.001` on the command line"
    assert d.to_json()["related"][0]["file"] is None


def test_code_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    (row,) = [line for line in doc.splitlines() if line.startswith("| `FG0207` |")]
    assert "warning" in row and "default" in row


def test_hint_for_an_included_template(tmp_path):
    case = Case({"r.fg": "-- set x = 30\n-- include 'inc.fg'\n", "inc.fg": "-- set x = 60\nx: {{ x }}\n"}, [])
    (d,) = [d for d in run(case, tmp_path)[0] if d.code == "FG0207"]
    assert "the templates that include it" in d.message
    assert d.hint == "to let the including template and `-D` set it, write `-- set x = x | default(60)`"


# The report: the quick start as it was (plain `-- set` knobs) loses a child's and a `-D`
# value for every knob, and says so at both positions; as it is now, it loses none.
QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
_DEFERRING = re.compile(r"^-- set (\w+) = \1 \| default\((.*?)\)(\s+##.*)?$", re.M)
BASE_KNOBS = _DEFERRING.findall((QUICKSTART / "base.fg").read_text())


def old_quickstart(tmp_path: Path) -> dict[str, int]:
    """base.fg with its knobs set plainly, in tmp_path; knob -> its line."""
    text = _DEFERRING.sub(lambda m: f"-- set {m[1]} = {m[2]}{m[3] or ''}", (QUICKSTART / "base.fg").read_text())
    (tmp_path / "base.fg").write_text(text)
    lines = text.splitlines()
    return {k: lines.index(next(line for line in lines if line.startswith(f"-- set {k} = "))) + 1 for k, _, _ in BASE_KNOBS}


def test_the_quick_start_has_knobs():
    assert len(BASE_KNOBS) >= 10


@pytest.mark.parametrize("knob", [k for k, _, _ in BASE_KNOBS])
def test_old_quick_start_warns_for_every_knob(knob, tmp_path):
    line = old_quickstart(tmp_path)[knob]
    (tmp_path / "exp.fg").write_text(f"-- extends 'base.fg'\n-- set {knob} = 3\n")
    child = [located(d) for d in fgc.check(tmp_path / "exp.fg", import_modules=False) if d.code == "FG0207"]
    assert child == [f"base.fg:{line}:8 <- exp.fg:2:8"]
    command_line = fgc.check(tmp_path / "base.fg", variables={knob: 3}, import_modules=False)
    assert [located(d) for d in command_line if d.code == "FG0207"] == [f"base.fg:{line}:8 <- -D"]


@pytest.mark.parametrize("knob", [k for k, _, _ in BASE_KNOBS])
def test_quick_start_warns_for_no_knob(knob, tmp_path):
    (tmp_path / "exp.fg").write_text(f"-- extends 'base.fg'\n-- set {knob} = {knob} | default(3)\n")
    diagnostics = fgc.check(tmp_path / "exp.fg", [QUICKSTART], {knob: 4}, import_modules=False)
    assert [d for d in diagnostics if d.code == "FG0207"] == []
