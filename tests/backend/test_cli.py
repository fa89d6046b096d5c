"""`fgc check`, `fgc compile`, `fgc graph`, `fgc targets`: output, exit codes, --no-import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def fgc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fgc", *args], capture_output=True, text=True, env=os.environ
    )


@pytest.fixture
def exp(tmp_path) -> Path:
    path = tmp_path / "exp.fg"
    path.write_text("""\
.define: &model !singleton:fractions:Fraction@model [1, 3]
optimizer: !partial:operator:mul [2]
main: !singleton:dict
  model: *model
  size: !var { name: size, default: 4 }
""")
    return path


def test_check_clean_and_with_errors(exp, tmp_path):
    assert fgc("check", str(exp)).returncode == 0
    bad = tmp_path / "bad.fg"
    bad.write_text("main: !singleton:fractions:Fraction { numeratr: 1 }\n")
    done = fgc("check", str(bad))
    assert done.returncode == 1
    assert "error[FG0611]: unknown argument `numeratr` for `fractions:Fraction`" in done.stderr
    assert "did you mean `numerator`?" in done.stderr and "bad.fg:1:39" in done.stderr
    done = fgc("check", str(bad), "--format", "json")
    record = json.loads(done.stdout.splitlines()[0] if done.stdout else done.stderr.splitlines()[0])
    assert (record["code"], record["line"], record["col"], record["hint"]) == (
        "FG0611",
        1,
        39,
        "did you mean `numerator`?",
    )
    assert not (tmp_path / "build").exists()  # check writes nothing


def test_check_no_import(tmp_path):
    path = tmp_path / "x.fg"
    path.write_text("main: !singleton:not_installed_anywhere:Thing { a: 1 }\n")
    assert fgc("check", str(path)).returncode == 1
    assert fgc("check", str(path), "--no-import").returncode == 0


def test_graph_json_equals_graph_json_of_the_build(exp, tmp_path):
    done = fgc("graph", str(exp), "--json")
    assert done.returncode == 0, done.stderr
    assert fgc("compile", str(exp), "-o", str(tmp_path / "b")).returncode == 0
    assert json.loads(done.stdout) == json.loads((tmp_path / "b" / "graph.json").read_text())
    assert json.loads(done.stdout)["targets"] == ["optimizer", "main"]


def test_graph_readable_and_no_import(tmp_path):
    path = tmp_path / "x.fg"
    path.write_text("main: !singleton:not_installed_anywhere:Thing { a: [1, 2] }\n")
    done = fgc("graph", str(path), "--no-import")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "targets:",
        "  main = n1",
        "nodes:",
        "  n1 !singleton:not_installed_anywhere:Thing  (x.fg:1:7)",
        "      a: [1, 2]",
    ]


def test_targets(exp):
    done = fgc("targets", str(exp))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "optimizer  !partial:operator:mul  exp.fg:2",
        "main       !singleton:dict        exp.fg:3",
    ]


def test_compile_errors_and_usage(exp, tmp_path):
    bad = tmp_path / "bad.fg"
    bad.write_text("main: *nope\n")
    done = fgc("compile", str(bad), "-o", str(tmp_path / "out"))
    assert done.returncode == 1 and "undefined alias" in done.stderr
    assert not (tmp_path / "out").exists()
    assert fgc("compile", str(tmp_path / "missing.fg"), "-o", str(tmp_path / "out")).returncode == 2
    assert fgc("compile", str(exp)).returncode == 2  # -o is required
    done = fgc("compile", str(exp), "-o", str(tmp_path / "out"), "-D", "unused=1")
    assert done.returncode == 0 and "wrote" in done.stderr
