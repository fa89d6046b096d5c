"""`--format json`: every line of stdout is a JSON object (diagnostics, usage errors, a command's
output as `{"output": TEXT}`), and nothing of it goes to stderr. Run as a user runs fgc."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

BAD = """\
main: !singleton:.mod:f
    x: two
    y: !singleton:dict { a: 1 }
"""
MODULE = "def f(x: int, y=None):\n    return x\n"


def fgc(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fgc", *args], capture_output=True, text=True, cwd=cwd)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]  # raises unless every line is JSON


@pytest.fixture
def project(tmp_path):
    (tmp_path / "exp.fg").write_text(BAD)
    (tmp_path / "mod.py").write_text(MODULE)
    return tmp_path


@pytest.mark.parametrize("command", [["check"], ["compile", "-o", "build"]])
def test_diagnostics_on_stdout(project, command):
    done = fgc(command[0], "exp.fg", "--format", "json", *command[1:], cwd=project)
    assert done.returncode == 1
    assert done.stderr == ""
    (d,) = json_lines(done.stdout)
    assert (d["code"], d["severity"], d["line"], d["col"], d["end_col"]) == ("FG0620", "error", 2, 8, 11)
    assert d["file"] == str(project / "exp.fg")
    assert d["message"] == "`x` of `.mod:f` expects int, got the string 'two'"
    assert not (project / "build").exists()


def test_human_diagnostics_stay_on_stderr(project):
    done = fgc("check", "exp.fg", cwd=project)
    assert done.returncode == 1 and done.stdout == ""
    assert "error[FG0620]: `x` of `.mod:f` expects int, got the string 'two'" in done.stderr
    assert " --> exp.fg:2:8" in done.stderr


def test_clean_check_prints_nothing(project):
    (project / "exp.fg").write_text(BAD.replace("two", "2"))
    done = fgc("check", "exp.fg", "--format", "json", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_render_output_is_a_json_line(project):
    done = fgc("render", "exp.fg", "--format", "json", cwd=project)
    assert done.returncode == 0 and done.stderr == ""
    (record,) = json_lines(done.stdout)
    assert record == {"output": BAD}


@pytest.mark.parametrize(
    "argv,message",
    [
        (["check", "missing.fg", "--format", "json"], "no such file: missing.fg"),
        (
            ["check", "exp.fg", "--format", "json", "-D", "1x=2"],
            "expected NAME=VALUE with NAME an identifier",
        ),
        (["check", "exp.fg", "--format=json", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["compile", "exp.fg", "--format", "json"], "the following arguments are required: -o/--output"),
        (["check", "--format", "json"], "the following arguments are required: FILE"),
    ],
)
def test_usage_errors_as_json(project, argv, message):
    done = fgc(*argv, cwd=project)
    assert done.returncode == 2
    assert done.stderr == ""
    (d,) = json_lines(done.stdout)
    assert d["code"] == "FG0001" and d["severity"] == "error" and d["file"] is None
    assert message in d["message"]


def test_usage_error_in_human_format_is_one_line_on_stderr(project):
    done = fgc("check", "missing.fg", cwd=project)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "fgc: error: no such file: missing.fg\n"


def test_internal_error_as_json(project, monkeypatch, capsys):
    """A bug in fgc (here: a subcommand that raises) is FG0002 on stdout, exit code 3."""
    import fgc.cli.check
    from fgc.cli.main import main

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(fgc.cli.check, "run", broken)
    assert main(["check", str(project / "exp.fg"), "--format", "json"]) == 3
    out = capsys.readouterr()
    (d,) = json_lines(out.out)
    assert d["code"] == "FG0002" and d["message"].startswith("internal error: RuntimeError: a bug")
    assert "This is a bug in fgc" in out.err  # the human report stays on stderr
