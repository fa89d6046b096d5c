"""Real sweeps of the quick start at a tiny size (3 steps of a one-layer, 32-wide model on 8
files of the standard library), through `python -m fgc sweep` as a user runs it: the local
launcher and a re-run that skips every run, submitit's local executor, Optuna, a failed run."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "experiment.fg"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
# One value each: the same in every run of the sweep (so not part of the run names).
TINY = ("max_steps=3", "logging_steps=1", "corpus_files=8", "vocab_size=300", "block_size=32",
        "num_hidden_layers=1", "num_attention_heads=2", "num_key_value_heads=1", "intermediate_size=64",
        "batch_size=4", "eval_batch_size=4", "sample_tokens=4")
GRID = ("--override", "optimizer.lr=1e-3,3e-3", "-D", "hidden_size=32,48")  # the example
CUDA = torch.cuda.is_available()
NAMES = {"optimizer.lr=1e-3,hidden_size=32", "optimizer.lr=1e-3,hidden_size=48",
         "optimizer.lr=3e-3,hidden_size=32", "optimizer.lr=3e-3,hidden_size=48"}


def sweep(sweep_dir: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    tiny = [x for s in TINY for x in ("--set", s)]
    done = subprocess.run([sys.executable, "-m", "fgc", "sweep", str(QUICKSTART), *args, *tiny, "-o", str(sweep_dir)],
                          capture_output=True, text=True, env=ENV, cwd=sweep_dir.parent)
    assert done.returncode == expect, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def table(sweep_dir: Path) -> dict[str, dict]:
    with open(sweep_dir / "summary.csv", newline="") as f:
        return {row["run"]: row for row in csv.DictReader(f)}


def files_of(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(directory)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in directory.rglob("*") if p.is_file()}


def check_completed_runs(sweep_dir: Path, names: set[str]) -> dict[str, dict]:
    record = json.loads((sweep_dir / "sweep.json").read_text())
    assert {r["name"] for r in record["runs"]} == names
    assert {r["status"] for r in record["runs"]} == {"completed"}
    rows = table(sweep_dir)
    assert set(rows) == names
    for name, row in rows.items():
        run = json.loads((sweep_dir / name / "run" / "fgc-run.json").read_text())
        assert run["status"] == "completed" and row["steps"] == "3"
        if CUDA:  # the run trained on the GPU: its peak is recorded
            assert run["peak_gpu_memory_bytes"] > 0 and int(row["peak_gpu_memory_bytes"]) == run["peak_gpu_memory_bytes"]
        else:
            assert run["peak_gpu_memory_bytes"] is None and row["peak_gpu_memory_bytes"] == ""
        assert all(math.isfinite(float(row[k])) for k in ("final_eval_loss", "best_eval_loss", "final_train_loss"))
        assert float(row["best_eval_loss"]) <= float(row["final_eval_loss"])
        assert float(row["wall_seconds"]) > 0 and int(row["peak_rss_kib"]) > 50 * 1024  # torch alone is more
        log = (sweep_dir / name / "output.log").read_text()
        assert " -m fgc compile " in log and " -m fgc run " in log and "=== done" in log
    assert (sweep_dir / "loss.png").read_bytes().startswith(b"\x89PNG")
    return rows


def test_grid_sweep_writes_summary_and_plot_and_a_rerun_skips_every_run(tmp_path):
    out = sweep(tmp_path / "s", *GRID, "--jobs", "2")
    rows = check_completed_runs(tmp_path / "s", NAMES)
    record = json.loads((tmp_path / "s" / "sweep.json").read_text())
    values = {r["name"]: r["values"] for r in record["runs"]}
    assert {n: {k: v[k] for k in ("optimizer.lr", "hidden_size")} for n, v in values.items()} == {
        n: dict(p.split("=") for p in n.split(",")) for n in NAMES}
    # --override and -D reached the compile, the one-value --set the run: the builds and records say so
    for name, v in values.items():
        run = json.loads((tmp_path / "s" / name / "run" / "fgc-run.json").read_text())
        manifest = json.loads((tmp_path / "s" / name / "build" / "fgc-manifest.json").read_text())
        assert manifest["overrides"] == [f"optimizer.lr={v['optimizer.lr']}"]
        assert manifest["template_variables"]["hidden_size"] == int(v["hidden_size"])
        lr_line = next(line for line in (tmp_path / "s" / name / "run" / "config.yaml").read_text().splitlines()
                       if line.strip().startswith("lr:"))
        assert float(lr_line.split()[1]) == float(v["optimizer.lr"]) and "<command line>" in lr_line
        assert run["sets"]["max_steps"] == 3 and "optimizer.lr" not in run["sets"]
    assert len({rows[n]["final_train_loss"] for n in NAMES}) == 4  # four different runs
    assert "| optimizer.lr=1e-3,hidden_size=32 | completed |" in out.stdout
    assert (tmp_path / "s" / "summary.md").read_text().count("| completed |") == 4

    before = {name: files_of(tmp_path / "s" / name) for name in NAMES}
    again = sweep(tmp_path / "s", *GRID, "--jobs", "2")
    assert "4 of 4 runs already completed: skipped" in again.stderr
    assert {name: files_of(tmp_path / "s" / name) for name in NAMES} == before
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["runs"] == record["runs"]
    assert table(tmp_path / "s") == rows

    changed = sweep(tmp_path / "s", "--override", "optimizer.lr=1e-3,3e-3", "-D", "hidden_size=32,64", expect=2)
    assert "holds another sweep (-D hidden_size was 32,48, now 32,64)" in changed.stderr


def test_the_same_sweep_through_submitits_local_executor(tmp_path):
    sweep(tmp_path / "s", *GRID, "--launcher", "submitit-local", "--jobs", "2")
    check_completed_runs(tmp_path / "s", NAMES)
    record = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert all(r["attempts"] == 1 and r["host"] for r in record["runs"])
    # submitit's own job folders: the pickled job and its result, one per run
    assert len(list((tmp_path / "s" / "submitit").glob("*_result.pkl"))) == 4


def test_optuna_sweep_of_two_trials_resumes_its_study(tmp_path):
    pytest.importorskip("optuna")
    import optuna

    axes = ("-D", "hidden_size=32,48", "--set", "seed=1,2")
    sweep(tmp_path / "s", *axes, "--search", "optuna", "--trials", "2", "--seed", "3", "--jobs", "2")
    study = optuna.load_study(study_name="fgc-sweep", storage=f"sqlite:///{tmp_path / 's' / 'optuna.db'}")
    trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trials) == 2
    rows = table(tmp_path / "s")
    record = json.loads((tmp_path / "s" / "sweep.json").read_text())
    for trial in trials:
        (run,) = [r for r in record["runs"] if trial.number in r["trials"]]
        assert run["values"] == trial.params
        sets = json.loads((tmp_path / "s" / run["name"] / "run" / "fgc-run.json").read_text())["sets"]
        assert sets["seed"] == int(trial.params["seed"])
        assert trial.value == pytest.approx(float(rows[run["name"]]["final_eval_loss"]), rel=1e-9)
    assert record["optuna_best"]["value"] == pytest.approx(min(t.value for t in trials))
    again = sweep(tmp_path / "s", *axes, "--search", "optuna", "--trials", "2", "--seed", "3", "--jobs", "2")
    assert "runs to do" not in again.stderr and len(optuna.load_study(
        study_name="fgc-sweep", storage=f"sqlite:///{tmp_path / 's' / 'optuna.db'}").trials) == 2


def test_a_failed_run_is_reported_and_the_sweep_exits_1(tmp_path):
    out = subprocess.run([sys.executable, "-m", "fgc", "sweep", str(QUICKSTART), "--set", "max_steps=many",
                          "-o", str(tmp_path / "s")], capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    record = json.loads((tmp_path / "s" / "sweep.json").read_text())
    (bad,) = record["runs"]  # one combination: named `run` (no axis has two choices)
    assert (bad["name"], bad["status"], bad["exit_code"]) == ("run", "failed", 2)
    assert "variable `max_steps` takes an integer" in bad["error"]
    assert "| run | failed: fgc: error: --set max_steps=many:" in out.stdout
    assert "did not complete: run" in out.stderr
    assert "exit status 2" in (tmp_path / "s" / "run" / "output.log").read_text()


# The quick start with a callback that pauses its run at the end of step 10 (checkpoint-5 written)
# until the run's stop signal arrives: the test interrupts it there, never by timing. The marker
# it writes makes the pause happen once, not again in the resumed run.
PAUSING = """\
-- extends 'experiment.fg'
[trainer]
    -- include 'pausing.trainer'

#--- pausing.trainer ---
-- extends 'trainers/trainer.fg'
[trainer_callbacks]
    == super()
    pause: !singleton:.pause_at:PauseAt
        pauses: '10:signal'
        marker_dir: !var { name: marker_dir, default: '' }
"""


def as_from_a_terminal() -> None:
    """In the child before exec: SIGINT handled and not blocked, as for a command typed in a
    terminal. A test worker's process may have inherited SIGINT ignored or blocked (a background
    job's, or a library's mask around its own spawn), and the child would inherit that too: the
    sweep then never sees the test's Ctrl-C (it failed so in a full parallel run)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def test_an_interrupted_sweep_continues_its_run_from_the_checkpoint(tmp_path):
    """Ctrl-C (SIGINT to the sweep) while the run is paused at step 10, after its first
    checkpoint: the sweep stops its run (SIGTERM), which writes a checkpoint at the step it reached
    and is recorded as preempted; the same command again resumes it (`fgc run --resume`), in the
    same run dir."""
    (tmp_path / "pausing.fg").write_text(PAUSING)
    (tmp_path / "pause_at.py").write_text((REPO / "tests" / "pause_at.py").read_text())
    markers = tmp_path / "markers"
    markers.mkdir()
    args = ["-I", str(QUICKSTART.parent), "-D", "hidden_size=32", "--set", "save_strategy=steps",
            "--set", "save_steps=5", "--set", "logging_steps=10", "--set", f"marker_dir={markers}"]
    tiny = [x for s in TINY if not s.startswith(("max_steps", "logging_steps")) for x in ("--set", s)]
    command = [sys.executable, "-m", "fgc", "sweep", str(tmp_path / "pausing.fg"), *args, *tiny,
               "--set", "max_steps=30", "-o", str(tmp_path / "s")]
    run_dir = tmp_path / "s" / "run" / "run"
    proc = subprocess.Popen(command, env=ENV, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)
    while proc.poll() is None and not (markers / "step-10").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate()
    assert proc.returncode == 130, err[-3000:]
    first = json.loads((run_dir / "fgc-run.json").read_text())
    assert first["status"] == "preempted" and first["stopped"]["reason"] == "SIGTERM", first["status"]
    assert first["stopped"]["step"] == 10, first["stopped"]
    (entry,) = json.loads((tmp_path / "s" / "sweep.json").read_text())["runs"]
    assert entry["status"] == "interrupted" and entry["attempts"] == 1

    again = subprocess.run(command, env=ENV, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    record = json.loads((run_dir / "fgc-run.json").read_text())
    assert record["status"] == "completed" and len(record["sessions"]) == 2
    assert Path(record["sessions"][1]["resumed_from"]).name.startswith("checkpoint-")
    (entry,) = json.loads((tmp_path / "s" / "sweep.json").read_text())["runs"]
    assert entry["status"] == "completed" and entry["attempts"] == 2
    assert table(tmp_path / "s")["run"]["steps"] == "30"
    assert " --resume" in (tmp_path / "s" / "run" / "output.log").read_text()
