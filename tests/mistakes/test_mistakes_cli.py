"""The silent mistakes of the command line, through the real commands: `fgc check` and `-D` on a
misspelt knob, `fgc explain`'s did-you-mean over variables, `fgc vars` of a file, build and run,
`fgc run --set` of a variable the build lacks, `fgc ls` and the did-you-mean of a missing
template skipping builds and runs, `fgc new --from` a template without `main`, `fgc diff` of two
runs with their `--set` values, the relative-import hint, and every command's --help."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fgc.cli.main import COMMANDS, build_parser, main

REPO = Path(__file__).resolve().parents[2]

# A plain-Python experiment (a dict target: no training, nothing heavy to import): a knob read by a
# key, a variable, and `output_dir` so that `fgc run` makes a run directory with a run record.
BASE = """\
-- set width = width | default(64)
[main]
main: !singleton:dict
    output_dir: !var { name: output_dir, default: runs/demo }
    width: {{ width }}
    steps: !var { name: steps, default: {{ steps | default(10) }} }
"""
CHILD = """\
-- extends 'base.fg'
-- set widht = 32
"""
PINNED = """\
-- extends 'base.fg'
[main]
    == super()
    steps: 5
"""


def fgc(cwd: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fgc", *words], cwd=cwd, capture_output=True, text=True)


def inproc(capsys, *words: str) -> tuple[int, str, str]:
    code = main(list(words))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def exp(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "base.fg").write_text(BASE)
    (tmp_path / "child.fg").write_text(CHILD)
    monkeypatch.chdir(tmp_path)
    for name in ("FGC_BUILD_DIR", "FGC_RUN_DIR", "FGC_RESUME_FROM_CHECKPOINT"):  # `fgc run` in-process sets them
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_misspelt_knob_in_the_quickstart_is_a_warning_with_a_did_you_mean(tmp_path):
    """The issue's cases: a child of the quick start with `hiden_size` and `max_step`, and `-D
    hiden_size=64` on the quick start itself: rc 0, a warning naming each, with the fix."""
    (tmp_path / "child.fg").write_text(
        "-- extends 'experiment.fg'\n-- set hiden_size = 64\n-- set max_step = 10\n-- set lr = 1.0e-4\n"
    )
    quickstart = REPO / "examples" / "quickstart"
    done = fgc(tmp_path, "check", "child.fg", "-I", str(quickstart), "--no-import")
    assert done.returncode == 0, done.stderr
    assert "warning[FG0208]: `hiden_size` is set here, but no template reads it" in done.stderr
    assert "did you mean `hidden_size`?" in done.stderr and "did you mean `max_steps`?" in done.stderr
    assert "FG0522" not in done.stderr  # the quick start reads its `lr` knob (experiment.fg)
    done = fgc(tmp_path, "check", str(quickstart / "experiment.fg"), "-D", "hiden_size=64", "--no-import")
    assert done.returncode == 0 and "`-D hiden_size=64`: no template reads `hiden_size`" in done.stderr


def test_explain_suggests_a_variable(exp, capsys):
    code, out, err = inproc(capsys, "explain", "base.fg", "step")
    assert code == 2 and "did you mean the variable `steps`?" in err


def test_vars_of_a_file_a_build_and_a_run(exp, capsys):
    code, out, err = inproc(capsys, "vars", "child.fg", "-D", "steps=7", "--json")
    assert code == 0, err
    listing = json.loads(out)
    rows = {r["name"]: r for r in listing["variables"] + listing["knobs"]}
    assert rows["steps"]["value"] == "7" and rows["steps"]["where"] == "-D"
    assert rows["width"]["value"] == "64" and rows["width"]["where"] == "base.fg:1"
    assert rows["widht"]["where"] == "child.fg:2"  # the misspelt knob is listed where it was set
    assert {r["name"] for r in listing["variables"]} == {"output_dir", "steps"}
    assert inproc(capsys, "compile", "child.fg", "-o", "build", "-D", "steps=7")[0] == 0
    code, out, _ = inproc(capsys, "vars", "build")
    assert code == 0 and "-D steps=7" in out and "build/sources/base.fg:1" in out
    code, _, err = inproc(capsys, "run", "build", "--set", "steps=3")
    assert code == 0, err
    code, out, _ = inproc(capsys, "vars", "runs/demo/latest", "--json")
    steps = next(r for r in json.loads(out)["variables"] if r["name"] == "steps")
    assert (steps["value"], steps["where"], steps["text"]) == ("3", "--set", "--set steps=3")


def test_run_set_says_why_the_build_lacks_a_variable(exp, capsys):
    (exp / "pinned.fg").write_text(PINNED)
    assert inproc(capsys, "compile", "pinned.fg", "-o", "build")[0] == 0
    code, _, err = inproc(capsys, "run", "build", "--set", "steps=3")
    assert code == 2
    assert "`steps` is a `!var` at build/sources/base.fg:6" in err
    assert "written again at build/sources/pinned.fg:4 (`steps: 5`)" in err
    code, _, err = inproc(capsys, "run", "build", "--set", "width=3")
    assert code == 2 and "`width` is a template variable (a knob)" in err and "-D width=VALUE" in err
    code, _, err = inproc(capsys, "run", "build", "--set", "outpt_dir=x")
    assert code == 2 and "did you mean `output_dir`?" in err and "no template of the build mentions `outpt_dir`" in err


def test_listings_and_suggestions_skip_builds_and_runs(exp, capsys):
    assert inproc(capsys, "compile", "child.fg", "-o", "build")[0] == 0
    assert inproc(capsys, "run", "build")[0] == 0
    code, out, _ = inproc(capsys, "ls", ".", "--format", "json")
    assert code == 0 and sorted(e["path"] for e in json.loads(out)) == ["base.fg", "child.fg"]
    (exp / "base.fg").unlink()  # only the build's and the run's copies are left
    code, _, err = inproc(capsys, "check", "child.fg", "--no-import")
    assert code == 1 and "template `base.fg` not found" in err
    assert "sources" not in err  # no `did you mean build/sources/base.fg`


def test_new_from_a_template_without_main_says_so(exp, capsys):
    code, _, err = inproc(capsys, "new", "mymodel", "--from", "models/llama.fg")
    assert code == 0 and "has no `main` target" in err
    header = (exp / "mymodel.fg").read_text()
    assert "has no `main` target (targets: `model`)" in header and "runs as it is" not in header
    code, _, err = inproc(capsys, "new", "myexp", "--from", "scripts/causal_lm.fg")
    assert code == 0 and "`main`" not in err and "runs as it is" in (exp / "myexp.fg").read_text()


def test_diff_of_two_runs_compares_their_set_values(exp, capsys):
    assert inproc(capsys, "compile", "base.fg", "-o", "build")[0] == 0
    assert inproc(capsys, "run", "build", "--set", "steps=3", "--output-dir", "runs/a")[0] == 0
    assert inproc(capsys, "run", "build", "--output-dir", "runs/b")[0] == 0
    code, out, _ = inproc(capsys, "diff", "runs/a", "runs/b", "--json")
    assert code == 1
    (change,) = [c for c in json.loads(out)["changes"] if c["path"] == "steps"]
    assert change["what"] == "variable" and change["a"]["value"] == "3 (--set steps=3)"
    assert change["b"]["value"] == "10 (default)"
    assert inproc(capsys, "diff", "runs/b", "build")[0] == 0  # no --set: the same experiment


def test_a_sibling_imported_by_its_plain_name_gets_the_relative_import_hint(tmp_path):
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "helpers.py").write_text("def act(x):\n    return x\n")
    (mods / "layer.py").write_text("from helpers import act\n\n\ndef Layer(n: int):\n    return act(n)\n")
    (mods / "exp.fg").write_text("main: !singleton:.layer:Layer\n    n: 3\n")
    done = fgc(tmp_path, "check", "mods/exp.fg", "--no-cache")
    assert done.returncode == 1 and "error[FG0602]" in done.stderr
    assert "`from .helpers import ...`" in done.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_an_example(command):
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    text = sub.format_help()
    assert "examples:" in text and f"  fgc {command}" in text, text
    assert "| jq" not in text.split("examples:")[0]  # the --format help says what json is, not a pipe


def test_text_field_reaches_the_train_path_route(tmp_path):
    """scripts/causal_lm.fg with `train_path` reads data/text_files.fg: its documents take the
    `text_field` knob (a `.jsonl` file's field) like data/jsonl.fg's do."""
    from fgc.graph import Kind
    from fgc.pipeline import compile_file

    (tmp_path / "exp.fg").write_text(
        "-- extends 'scripts/causal_lm.fg'\n-- set train_path = 'train.jsonl'\n-- set eval_path = 'eval.jsonl'\n"
        "-- set text_field = 'body'\n"
    )
    comp = compile_file(tmp_path / "exp.fg", import_modules=False, stop_after="graph")
    assert comp.ok and not [str(d) for d in comp.diagnostics], [str(d) for d in comp.diagnostics]
    readers = [n for n in comp.graph.nodes() if n.callable == "forgather.ml.data:read_documents"]
    assert len(readers) == 2
    for reader in readers:
        field = reader.kwargs["field"]
        assert field.kind == Kind.VAR and field.var == "text_field" and field.default == "body"
