"""fgc sweep's plan (axes, grid, random search), run names, sweep.json definitions, the summary of
a run's logs, and its command-line errors: no runs, no subprocesses."""

from __future__ import annotations

import json
import sys

import pytest

from fgc.cli.main import main
from fgc.sweep.naming import combination_name
from fgc.sweep.plan import Axis, PlanError, grid, grid_size, nth_combination, parse_axes, parse_axis, random_search, split_choices
from fgc.sweep.store import SweepDirError, differences, open_sweep
from fgc.sweep.summary import markdown, metrics, objective, rows, write_summary


@pytest.mark.parametrize("text, choices", [
    ("1e-3,3e-4", ["1e-3", "3e-4"]),
    ("64", ["64"]),
    (" 64 , 128 ", ["64", "128"]),
    ("[1,2],[3,4]", ["[1,2]", "[3,4]"]),
    ("{a: 1, b: 2},{}", ["{a: 1, b: 2}", "{}"]),
    ("'a,b',c", ["'a,b'", "c"]),
    ('"x,y"', ['"x,y"']),
    ("!call:f(1,2),3", ["!call:f(1,2)", "3"]),
])
def test_split_choices(text, choices):
    assert split_choices(text) == choices


@pytest.mark.parametrize("kind, item, message", [
    ("define", "hidden_size", "expects NAME=VALUE"),
    ("define", "=1,2", "expects NAME=VALUE"),
    ("define", "a.b=1", "NAME must be an identifier"),
    ("set", "lr=1,,2", "an empty choice"),
    ("set", "lr=1,", "an empty choice"),
    ("override", "optimizer.lr=1,1", "listed twice"),
])
def test_bad_axes(kind, item, message):
    with pytest.raises(PlanError, match=message):
        parse_axis(kind, item)


def test_axes_order_and_one_name_twice():
    axes = parse_axes(["hidden_size=64,128"], ["optimizer.lr=1e-3,3e-4"], ["seed=1"])
    assert [(a.kind, a.name, a.values) for a in axes] == [
        ("override", "optimizer.lr", ("1e-3", "3e-4")), ("define", "hidden_size", ("64", "128")), ("set", "seed", ("1",))]
    with pytest.raises(PlanError, match="given twice"):
        parse_axes(["seed=1"], [], ["seed=2"])


AXES = [Axis("define", "a", ("1", "2", "3")), Axis("set", "b", ("x", "y")), Axis("set", "c", ("k",))]


def test_grid_is_the_cartesian_product_last_axis_fastest():
    combos = grid(AXES)
    assert grid_size(AXES) == len(combos) == 6
    assert [(c["a"], c["b"]) for c in combos] == [("1", "x"), ("1", "y"), ("2", "x"), ("2", "y"), ("3", "x"), ("3", "y")]
    assert all(c["c"] == "k" for c in combos)
    assert [nth_combination(AXES, i) for i in range(6)] == combos


def test_random_search_is_seeded_distinct_and_grows_by_prefix():
    four = random_search(AXES, 4, seed=7)
    assert four == random_search(AXES, 4, seed=7)
    assert len({json.dumps(c, sort_keys=True) for c in four}) == 4
    assert all(c in grid(AXES) for c in four)
    assert random_search(AXES, 5, seed=7)[:4] == four  # a larger --trials keeps the earlier draws
    assert random_search(AXES, 99, seed=7) != grid(AXES) and len(random_search(AXES, 99, seed=7)) == 6
    assert any(random_search(AXES, 4, seed=s) != four for s in range(1, 5))


@pytest.mark.parametrize("values, named, name", [
    ({"lr": "1e-3", "hidden_size": "64"}, ["lr", "hidden_size"], "lr=1e-3,hidden_size=64"),
    ({"lr": "1e-3", "seed": "1"}, ["lr"], "lr=1e-3"),
    ({"seed": "1"}, [], "run"),
    ({"optimizer.lr": "0.1"}, ["optimizer.lr"], "optimizer.lr=0.1"),
])
def test_plain_names(values, named, name):
    assert combination_name(values, named) == name


def test_unsafe_and_long_names_are_sanitised_with_a_hash():
    a = combination_name({"p": "a/b"}, ["p"])
    b = combination_name({"p": "a_b"}, ["p"])
    assert a.startswith("p=a_b-") and b == "p=a_b" and a != b and "/" not in a
    long = combination_name({"p": "x" * 200}, ["p"])
    assert len(long) <= 90 and long == combination_name({"p": "x" * 200}, ["p"])
    assert combination_name({"p": "x" * 199 + "y"}, ["p"]) != long
    assert not combination_name({".p": "1"}, [".p"]).startswith(".")


DEFINITION = {"file": "/x/exp.fg", "include_dirs": [], "target": "main", "search": "grid", "seed": None,
              "axes": [{"kind": "define", "name": "h", "values": ["64", "128"]}]}


def test_definition_differences_in_words():
    changed = {**DEFINITION, "axes": [{"kind": "define", "name": "h", "values": ["64", "256"]},
                                      {"kind": "set", "name": "seed", "values": ["1"]}], "target": "other"}
    assert differences(DEFINITION, changed) == [
        'target: "main" -> "other"', "-D h was 64,128, now 64,256", "--set seed=1 is new"]
    assert differences(DEFINITION, DEFINITION) == []


def test_a_sweep_dir_keeps_one_definition(tmp_path):
    record = open_sweep(tmp_path / "s", DEFINITION, None)
    (tmp_path / "s" / "sweep.json").write_text(json.dumps(record))
    assert open_sweep(tmp_path / "s", DEFINITION, None)["definition"] == DEFINITION
    with pytest.raises(SweepDirError, match="holds another sweep .*-D h was 64,128, now 64"):
        open_sweep(tmp_path / "s", {**DEFINITION, "axes": [{"kind": "define", "name": "h", "values": ["64"]}]}, None)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(SweepDirError, match="holds files and no sweep.json"):
        open_sweep(tmp_path / "other", DEFINITION, None)


def _logs(run_dir, records):
    (run_dir / "runs" / "x").mkdir(parents=True)
    (run_dir / "runs" / "x" / "trainer_logs.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\n{truncated")


def test_metrics_of_a_run(tmp_path):
    _logs(tmp_path, [{"event": "train_begin", "global_step": 0},
                     {"event": "log", "global_step": 1, "loss": 5.0},
                     {"event": "log", "global_step": 2, "loss": 4.0, "eval_loss": 4.5},
                     {"event": "log", "global_step": 3, "loss": 3.5, "eval_loss": 4.25},
                     {"event": "log", "global_step": 4, "loss": 3.0},
                     {"event": "log", "global_step": 4, "train_loss": 3.9},
                     {"event": "train_end", "global_step": 4},
                     {"event": "log", "global_step": 4, "eval_loss": 4.375}])
    m = metrics(tmp_path)
    assert (m["final_eval_loss"], m["best_eval_loss"], m["final_train_loss"], m["steps"]) == (4.375, 4.25, 3.0, 4)
    assert m["train_curve"] == [(1, 5.0), (2, 4.0), (3, 3.5), (4, 3.0)] and objective(m) == 4.375


def test_a_run_without_eval_loss_shows_a_dash_and_is_judged_by_train_loss(tmp_path):
    run_dir = tmp_path / "r=1" / "run"
    _logs(run_dir, [{"event": "log", "global_step": 1, "loss": 2.5}])
    assert objective(metrics(run_dir)) == 2.5
    record = {"runs": [{"name": "r=1", "values": {"r": "1"}, "status": "completed", "seconds": 3.25,
                        "peak_rss_kib": 204800}]}
    table = markdown(rows(record, tmp_path, ["r"]), ["r"])
    assert [c.strip() for c in table.splitlines()[2].split("|")[1:-1]] == [
        "r=1", "completed", "1", "-", "-", "2.5000", "1", "3.2 s", "200 MiB", "-"]
    (run_dir / "fgc-run.json").write_text(json.dumps({"status": "completed", "peak_gpu_memory_bytes": 3 << 30}))
    table = markdown(rows(record, tmp_path, ["r"]), ["r"])
    assert [c.strip() for c in table.splitlines()[2].split("|")[1:-1]][-1] == "3072 MiB"


def test_without_matplotlib_the_plot_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # import fails
    table, plotted = write_summary({"runs": []}, tmp_path, [], "t")
    assert not plotted and not (tmp_path / "loss.png").exists()
    assert (tmp_path / "summary.md").read_text().startswith("# t\n") and (tmp_path / "summary.csv").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--search", "random"], "--search random needs --trials N"),
    (["--trials", "3"], "--trials is for --search random or optuna"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["-D", "h"], "-D expects NAME=VALUE"),
    (["-D", "h=1", "--set", "h=2"], "h is given twice"),
    (["--slurm-partition", "gpu"], "--slurm-partition is for --launcher slurm"),
    (["-D", "a=" + ",".join(map(str, range(200))), "-D", "b=" + ",".join(map(str, range(51)))],
     "the grid has 10200 combinations (more than 10000); sample it with --search random"),
])
def test_usage_errors(argv, message, tmp_path, capsys):
    exp = tmp_path / "exp.fg"
    exp.write_text("main: 1\n")
    assert main(["sweep", str(exp), "-o", str(tmp_path / "s"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fgc: error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s" / "sweep.json").exists()


def test_missing_file_and_a_file_as_sweep_dir(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nope.fg")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path)]) == 2
    assert "a directory; fgc sweep takes an experiment file" in capsys.readouterr().err
    exp = tmp_path / "exp.fg"
    exp.write_text("main: 1\n")
    assert main(["sweep", str(exp), "-o", str(exp)]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("log, line", [
    ("$ fgc run b\nerror[FG0710]: running target `main` failed: ValueError: no\n  --> x.py:1:1\n1 error\n",
     "error[FG0710]: running target `main` failed: ValueError: no"),
    ("$ fgc run b\nusage: fgc run ...\nfgc: error: --set x=a: variable `x` takes an integer\n",
     "fgc: error: --set x=a: variable `x` takes an integer"),
    ("Traceback (most recent call last):\n  File \"x\", line 1\nRuntimeError: CUDA out of memory\n",
     "RuntimeError: CUDA out of memory"),
    ("some output\nthe error was here\n2 errors\n", "the error was here"),
    ("some output\nKilled\n", "Killed"),
    ("", None),
])
def test_last_error_line(log, line, tmp_path):
    from fgc.sweep.job import last_error_line

    path = tmp_path / "output.log"
    path.write_text("error: of an earlier attempt\n" + log)
    assert last_error_line(path, len("error: of an earlier attempt\n")) == line


def test_the_slurm_launcher_off_a_cluster_says_so(tmp_path, capsys):
    import shutil

    pytest.importorskip("submitit")
    if shutil.which("srun"):
        pytest.skip("a SLURM cluster: --launcher slurm would submit")
    exp = tmp_path / "exp.fg"
    exp.write_text("main: 1\n")
    assert main(["sweep", str(exp), "-o", str(tmp_path / "s"), "--launcher", "slurm"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fgc: error: --launcher slurm: no `srun` on PATH: this is not a SLURM cluster")
    assert not (tmp_path / "s").exists()


def test_help_explains_axes_layout_resuming_and_launchers(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for words in ("--override KEY.PATH=v1,v2", "SWEEP_DIR/sweep.json", "Resuming:", "only --trials may grow",
                  "--launcher submitit-local", "exit codes: 0 every run completed, 1 a run failed"):
        assert words in out, words
    assert "compile and run every combination of a few values" in subprocess_help()


def subprocess_help() -> str:
    import subprocess

    return subprocess.run([sys.executable, "-m", "fgc", "--help"], capture_output=True, text=True).stdout
