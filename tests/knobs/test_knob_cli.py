"""FG0207 on the command line: `fgc check` and `fgc compile` report it (human text and JSON
lines) and still exit 0; the `-D` that was replaced is a note without a position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fgc.cli.main import main as fgc_main

# The quick start, reduced: a child sets a knob that its parent sets unconditionally.
PARENT = "## the project\n-- set max_steps = 60\nmax_steps: {{ max_steps }}\n"
CHILD = "-- extends 'parent.fg'\n-- set max_steps = 30\n"


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "parent.fg").write_text(PARENT)
    (tmp_path / "exp.fg").write_text(CHILD)
    return tmp_path


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("command", ["check", "compile"])
def test_human_output_shows_both_positions(command, project, capsys, monkeypatch):
    monkeypatch.chdir(project)  # positions are shown relative to the working directory
    argv = [command, str(project / "exp.fg")] + (["-o", str(project / "build")] if command == "compile" else [])
    assert fgc_main(argv) == 0
    err = capsys.readouterr().err
    assert "warning[FG0207]: `parent.fg` replaces the value of `max_steps` given by `exp.fg`" in err
    assert " --> parent.fg:2:8\n" in err
    assert " --> exp.fg:2:8\n" in err
    assert "= help: to let a child template and `-D` set it, write `-- set max_steps = max_steps | default(60)`" in err
    if command == "compile":
        assert (project / "build" / "config.py").is_file()


@pytest.mark.parametrize("command", ["check", "compile"])
def test_json_output(command, project, capsys):
    argv = [command, str(project / "exp.fg"), "--format", "json", "-D", "max_steps=5"]
    argv += ["-o", str(project / "build")] if command == "compile" else []
    assert fgc_main(argv) == 0
    out = capsys.readouterr()
    found = sorted(
        ((d["file"], d["line"], d["col"]), [(r["file"], r["line"], r["col"]) for r in d["related"]])
        for d in json_lines(out.out + out.err)
        if d["code"] == "FG0207"
    )
    parent, child = str(project / "parent.fg"), str(project / "exp.fg")
    assert found == [((child, 2, 8), [(None, None, None)]), ((parent, 2, 8), [(child, 2, 8)])]


def test_command_line_note(project, capsys):
    assert fgc_main(["check", str(project / "parent.fg"), "-D", "max_steps=5"]) == 0
    err = capsys.readouterr().err
    assert "given by `-D max_steps=5`" in err
    assert "= note: `-D max_steps=5` on the command line\n  = help:" in err  # no source snippet


def test_deferring_parent_is_quiet_and_both_values_win(project, capsys):
    (project / "parent.fg").write_text(PARENT.replace("= 60", "= max_steps | default(60)"))
    for defines, expected in (([], "30"), (["-D", "max_steps=5"], "30")):
        assert fgc_main(["render", str(project / "exp.fg"), *defines]) == 0
        out = capsys.readouterr()
        assert out.out.splitlines() == [f"max_steps: {expected}"]
        assert ("FG0207" in out.err) == bool(defines)  # the child's own plain set hides -D
    (project / "exp.fg").write_text(CHILD.replace("= 30", "= max_steps | default(30)"))
    assert fgc_main(["check", str(project / "exp.fg"), "-D", "max_steps=5"]) == 0
    assert capsys.readouterr().err == ""
