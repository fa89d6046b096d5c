"""`fgc render` and `fgc parse` on the command line: output, origins, exit codes, JSON."""

from __future__ import annotations

import json
import subprocess
import sys


def _fgc(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fgc", *args], capture_output=True, text=True, cwd=cwd)


def _files(tmp_path):
    (tmp_path / "base.fg").write_text("root:\n[body]\n    a: 1\n")
    (tmp_path / "main.fg").write_text("-- extends 'base.fg'\n[body]\n    == super()\n    lr: {{ lr }}\n")


def test_render(tmp_path):
    _files(tmp_path)
    out = _fgc("render", "main.fg", "-D", "lr=1e-3", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "root:\n    a: 1\n\n    lr: 0.001\n\n"
    assert out.stderr == ""


def test_render_origins(tmp_path):
    _files(tmp_path)
    out = _fgc("render", "main.fg", "-D", "lr=2", "--origins", cwd=tmp_path)
    assert out.returncode == 0
    lines = out.stdout.split("\n")
    assert lines[0] == "root:      # base.fg:1"
    assert lines[1] == "    a: 1   # base.fg:3"
    assert lines[3] == "    lr: 2  # main.fg:4"


def test_render_error_exit_1_and_json(tmp_path):
    _files(tmp_path)
    out = _fgc("render", "main.fg", "--format", "json", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr == ""  # JSON diagnostics go to stdout, for tools
    (d,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert (d["code"], d["line"], d["col"], d["severity"]) == ("FG0301", 4, 12, "error")
    assert d["file"].endswith("main.fg")


def test_render_human_diagnostic(tmp_path):
    _files(tmp_path)
    out = _fgc("render", "main.fg", cwd=tmp_path)
    assert out.returncode == 1
    assert "error[FG0301]: 'lr' is undefined" in out.stderr
    assert "--> main.fg:4:12" in out.stderr and "    lr: {{ lr }}" in out.stderr


def test_usage_errors_exit_2(tmp_path):
    _files(tmp_path)
    assert _fgc("render", "nope.fg", cwd=tmp_path).returncode == 2
    assert _fgc("render", "main.fg", "-D", "not an identifier=1", cwd=tmp_path).returncode == 2
    assert _fgc("render", cwd=tmp_path).returncode == 2


def test_parse_dumps_ast(tmp_path):
    _files(tmp_path)
    out = _fgc("parse", "main.fg", cwd=tmp_path)
    assert out.returncode == 0
    assert out.stdout.splitlines()[2:4] == [
        "  Statement -- \"extends 'base.fg'\" 1:1-1:21",
        "  TomlBlock body indent=0 2:1-4:17",
    ]


def test_parse_reports_syntax_errors(tmp_path):
    (tmp_path / "bad.fg").write_text("a: {{ 1 + }}\n")
    out = _fgc("parse", "bad.fg", cwd=tmp_path)
    assert out.returncode == 1
    assert "bad.fg:1:11" in out.stderr
