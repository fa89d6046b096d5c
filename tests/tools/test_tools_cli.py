"""`fgc diff`, `fgc explain` and `--override` through the real command line (subprocesses):
exit codes, JSON, build and run directories, the manifest, the built config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PARENT = """\
main: !singleton:.m:make
    -- block optimizer
    lr: 0.001
    momentum: 0.9
    -- endblock optimizer
    steps: 10
"""
CHILD = """\
-- extends 'parent.fg'
-- block optimizer
    == super()
    lr: 0.003
-- endblock optimizer
"""
MODULE = """\
def make(lr: float = 0.0, momentum: float = 0.0, steps: int = 1):
    return {"lr": lr, "momentum": momentum, "steps": steps}
"""


def fgc(cwd: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fgc", *words], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "parent.fg").write_text(PARENT, encoding="utf-8")
    (tmp_path / "child.fg").write_text(CHILD, encoding="utf-8")
    (tmp_path / "m.py").write_text(MODULE, encoding="utf-8")
    return tmp_path


def test_help_lists_the_tools(tmp_path: Path) -> None:
    out = fgc(tmp_path, "--help").stdout
    assert "explain" in out and "diff" in out
    assert "--override" in fgc(tmp_path, "compile", "--help").stdout


def test_identical_builds_are_equal(project: Path) -> None:
    for out in ("b1", "b2"):
        assert fgc(project, "compile", "child.fg", "-o", out).returncode == 0
    done = fgc(project, "diff", "b1", "b2")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "no differences between b1 and b2\n"
    done = fgc(project, "diff", "b1", "child.fg", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["changes"] == []


def test_inherited_override_between_builds(project: Path) -> None:
    assert fgc(project, "compile", "parent.fg", "-o", "pb").returncode == 0
    assert fgc(project, "compile", "child.fg", "-o", "cb").returncode == 0
    done = fgc(project, "diff", "pb", "cb", "--json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["equal"] is False
    [change] = result["changes"]
    assert (change["change"], change["what"], change["path"]) == ("changed", "value", "main.lr")
    a, b = change["a"], change["b"]
    assert (a["value"], a["where"], a["source"]) == ("0.001", "pb/sources/parent.fg:3", "lr: 0.001")
    assert (b["value"], b["where"], b["source"]) == ("0.003", "cb/sources/child.fg:4", "lr: 0.003")


def test_diff_errors_exit_2(project: Path) -> None:
    (project / "broken.fg").write_text("main: !singleton:dict { a: 1\n", encoding="utf-8")
    done = fgc(project, "diff", "broken.fg", "child.fg")
    assert done.returncode == 2
    assert "broken.fg:1" in done.stderr and "did not compile" in done.stderr
    done = fgc(project, "diff", "nothing.fg", "child.fg")
    assert done.returncode == 2 and "fgc: error: no such experiment file" in done.stderr
    assert "Traceback" not in done.stderr


def test_override_reaches_the_built_config_and_the_manifest(project: Path) -> None:
    done = fgc(project, "compile", "child.fg", "-o", "build", "--override", "main.lr=1e-4", "--override", "main.steps=3")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((project / "build" / "fgc-manifest.json").read_text(encoding="utf-8"))
    assert manifest["overrides"] == ["main.lr=1e-4", "main.steps=3"]
    code = "import fgc, json; print(json.dumps(fgc.load('build').construct('main')))"
    built = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True)
    assert json.loads(built.stdout) == {"lr": 1e-4, "momentum": 0.9, "steps": 3}, built.stderr
    # A recompile applies the recorded overrides, then the new ones.
    assert fgc(project, "compile", "build", "-o", "again", "--override", "main.momentum=0.5").returncode == 0
    again = json.loads((project / "again" / "fgc-manifest.json").read_text(encoding="utf-8"))
    assert again["overrides"] == ["main.lr=1e-4", "main.steps=3", "main.momentum=0.5"]
    # The build's override is what diff reports against the experiment file.
    done = fgc(project, "diff", "child.fg", "build")
    assert done.returncode == 1
    assert "B: 0.0001  at <command line>:1  `--override main.lr=1e-4`" in done.stdout


def test_override_type_mistake_is_located_on_the_command_line(project: Path) -> None:
    done = fgc(project, "check", "child.fg", "--override", "main.steps=abc")
    assert done.returncode == 1
    assert "error[FG0620]: `steps` of `.m:make` expects int, got the string 'abc'" in done.stderr
    assert "--> <command line>:1:12" in done.stderr
    assert "note: `--override main.steps=abc` on the command line" in done.stderr
    done = fgc(project, "compile", "child.fg", "-o", "b", "--override", "main.stepz=3", "--format", "json")
    assert done.returncode == 1
    [diag] = [json.loads(line) for line in done.stdout.splitlines()]
    assert (diag["code"], diag["file"], diag["line"], diag["col"]) == ("FG0611", "<command line>", 1, 1)
    assert not (project / "b").exists()
    done = fgc(project, "compile", "child.fg", "-o", "b", "--override", "main.steps")
    assert done.returncode == 2 and "fgc: error: expected --override KEY.PATH=VALUE" in done.stderr


def test_explain_chain_with_a_command_line_override(project: Path) -> None:
    done = fgc(project, "explain", "child.fg", "main.lr", "--override", "main.lr=5e-4")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "main.lr = 0.0005",
        "  set         <command line>:1  --override main.lr=5e-4",
        "  overridden  child.fg:4        lr: 0.003",
        "  overridden  parent.fg:3       lr: 0.001",
    ]
    done = fgc(project, "explain", "child.fg", "main.lr", "--json")
    chain = json.loads(done.stdout)["chain"]
    assert [(o["role"], o["where"]) for o in chain] == [("set", "child.fg:4"), ("overridden", "parent.fg:3")]


def test_explain_unknown_path_names_the_nearest_keys(project: Path) -> None:
    done = fgc(project, "explain", "child.fg", "main.lrr")
    assert done.returncode == 2
    assert "fgc: error: `main.lrr`:" in done.stderr and "did you mean `lr`?" in done.stderr


def test_run_directory_against_its_experiment(project: Path) -> None:
    """A run directory is read from its snapshot: its sources and the overrides it recorded."""
    assert fgc(project, "compile", "child.fg", "-o", "build", "--override", "main.steps=2").returncode == 0
    done = fgc(project, "run", "build", "--output-dir", "run1")
    assert done.returncode == 0, done.stderr
    (project / "child.fg").write_text(CHILD.replace("0.003", "0.004"), encoding="utf-8")  # edited since
    done = fgc(project, "diff", "run1", "child.fg", "--json")
    assert done.returncode == 1, done.stderr
    changes = {c["path"]: c for c in json.loads(done.stdout)["changes"]}
    assert set(changes) == {"main.lr", "main.steps"}
    assert (changes["main.lr"]["a"]["value"], changes["main.lr"]["a"]["where"]) == ("0.003", "run1/sources/child.fg:4")
    assert (changes["main.steps"]["a"]["where"], changes["main.steps"]["b"]["where"]) == ("<command line>:1", "parent.fg:6")
    done = fgc(project, "explain", "run1", "main.steps")
    lines = [line.split() for line in done.stdout.splitlines()]
    assert lines == [
        ["main.steps", "=", "2"],
        ["set", "<command", "line>:1", "--override", "main.steps=2"],
        ["overridden", "run1/sources/parent.fg:6", "steps:", "10"],
    ]


def test_python_api_takes_overrides(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fgc
    from fgc.imports.locate import forget_local_modules

    monkeypatch.chdir(project)
    forget_local_modules()
    problems = fgc.check("child.fg", overrides=["main.steps=abc"])
    assert [d.code for d in problems] == ["FG0620"]
    build = fgc.compile("child.fg", project / "api-build", overrides=["main.lr=0.25"])
    assert json.loads((build.dir / "fgc-manifest.json").read_text(encoding="utf-8"))["overrides"] == ["main.lr=0.25"]
    with pytest.raises(ValueError, match="KEY.PATH=VALUE"):
        fgc.check("child.fg", overrides=["main.lr"])


def test_graph_and_check_take_overrides(project: Path) -> None:
    done = fgc(project, "graph", "child.fg", "--override", "main.lr=0.5", "--json", "--no-import")
    assert done.returncode == 0, done.stderr
    graph = json.loads(done.stdout)
    assert graph["nodes"]["n1"]["kwargs"]["lr"] == 0.5
    done = fgc(project, "check", ".", "--all", "--override", "main.lr=0.5")
    assert done.returncode == 2 and "cannot go with --all" in done.stderr


def test_the_override_hparam_example(tmp_path: Path) -> None:
    """The example of the seed: the child's block override of `lr` is one change, at the
    stdlib optimizer's line on one side and the child's line on the other."""
    examples = Path(__file__).resolve().parents[2] / "examples" / "override_hparam"
    done = fgc(tmp_path, "diff", str(examples / "base_experiment.fg"), str(examples / "experiment.fg"), "--json")
    assert done.returncode == 1, done.stderr
    changes = {c["path"]: c for c in json.loads(done.stdout)["changes"]}
    lr = changes["optimizer.lr"]
    assert lr["a"]["file"].endswith("stdlib/optimizers/adamw.fg") and lr["a"]["source"].startswith("lr: !var")
    assert lr["b"]["file"] == str(examples / "experiment.fg") and lr["b"]["source"] == "lr: 1.0e-3"
    # The rest is what experiment.fg sets besides: its name and description (and the run
    # directory that follows from the name).
    assert set(changes) == {"optimizer.lr", "main.config_name", "main.description", "output_dir"}
