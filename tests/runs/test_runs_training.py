"""Runs of a tiny training project through `fgc run`: each run in a new directory, the same
numbers for the same build and seed, a re-run from a run directory, --resume after an
interruption, recompiling from a run's saved sources, and `fgc compile -o` never replacing a run."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from runs_testlib import (
    TRAIN_SETS,
    compile_tiny,
    fgc,
    losses,
    record,
    run_dirs,
    sha256,
    start_fgc,
    tree_digest,
)


# The tiny project plus a callback that stops the run while checkpoint 20 is being written: its
# files are complete in the temporary directory, not yet renamed into place.
PAUSE_AT = """\
import os
import time
from pathlib import Path

from transformers import TrainerCallback


class PauseInCheckpoint(TrainerCallback):
    def __init__(self, step, marker):
        self.step, self.marker = step, Path(marker)

    def on_checkpoint_written(self, args, state, control, checkpoint_dir, **kwargs):
        if state.global_step == self.step and not self.marker.exists():  # once: not again on --resume
            assert not (checkpoint_dir.parent / f"checkpoint-{self.step}").exists()
            self.marker.write_text(str(os.getpid()))
            time.sleep(3600)  # the test kills the process here
"""
PAUSING_TRAINER = ("[trainer]\n    -- include 'pausing.trainer'\n", """\
#--- pausing.trainer ---
-- extends 'trainers/trainer.fg'
[trainer_callbacks]
    == super()
    pause: !singleton:.pause_at:PauseInCheckpoint { step: 20, marker: !var pause_marker }
""")


def _sets(*items: str) -> list[str]:
    return [a for item in items for a in ("--set", item)]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return compile_tiny(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def first_run(project) -> Path:
    """One 20-step run, from the project's directory: runs/tiny/<timestamp>."""
    root = project.parent
    done = fgc("run", "build", *_sets(*TRAIN_SETS), cwd=root)
    assert done.returncode == 0, done.stderr
    [run_dir] = run_dirs(root / "runs" / "tiny")
    assert f"run directory {run_dir}" in done.stderr and f"run completed: {run_dir}" in done.stderr
    return run_dir


def test_a_run_writes_a_new_run_directory_with_a_latest_pointer(first_run):
    latest = first_run.parent / "latest"
    assert latest.is_symlink() and latest.resolve() == first_run
    for name in (
        "fgc-run.json",
        "fgc-manifest.json",
        "config.py",
        "sources",
        "model.safetensors",
        "checkpoint-20",
    ):
        assert (first_run / name).exists(), name
    assert len(losses(first_run)) == 20


def test_the_record_holds_the_sets_and_the_resolved_variables(first_run):
    rec = record(first_run)
    assert rec["status"] == "completed" and rec["exit_code"] == 0
    assert rec["sets"] == {"max_steps": 20, "logging_steps": 1, "save_steps": 10, "eval_strategy": "no"}
    assert rec["variables"]["max_steps"] == 20 and rec["variables"]["seed"] == 42
    assert rec["variables"]["output_dir"] == str(first_run)
    assert rec["command"]["argv"][-8:] == _sets(*TRAIN_SETS)
    assert rec["start_time"] <= rec["end_time"]


def test_two_fresh_runs_give_the_same_losses_and_weights(project, first_run, tmp_path):
    """The seed is applied before anything is built: another working directory, the same
    numbers, bit for bit."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = fgc("run", project, *_sets(*TRAIN_SETS), "--output-dir", tmp_path / "second", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert losses(tmp_path / "second") == losses(first_run)
    assert sha256(tmp_path / "second" / "model.safetensors") == sha256(first_run / "model.safetensors")


def test_a_rerun_from_a_run_directory_reproduces_it_in_a_new_one(first_run):
    before = tree_digest(first_run)
    done = fgc("run", first_run)  # the recorded --set values, no others
    assert done.returncode == 0, done.stderr
    assert tree_digest(first_run) == before  # every file of the original left as it was
    new = [d for d in run_dirs(first_run.parent) if d != first_run]
    assert len(new) == 1 and (first_run.parent / "latest").resolve() == new[0]
    rec = record(new[0])
    assert rec["sets"]["max_steps"] == 20 and rec["build"]["dir"] == str(first_run)
    assert losses(new[0])[:20] == losses(first_run)[:20]
    assert sha256(new[0] / "model.safetensors") == sha256(first_run / "model.safetensors")


def test_a_run_killed_inside_a_checkpoint_write_resumes_from_the_one_before(project, first_run, tmp_path):
    """SIGKILL while checkpoint 20 is being written (no chance to mark the record): checkpoint 10
    is intact, no partial checkpoint-20; --resume continues from it and ends with the weights of
    the uninterrupted run."""
    run_dir, marker = tmp_path / "killed", tmp_path / "paused"
    pausing = compile_tiny(tmp_path / "pausing", *PAUSING_TRAINER, files={"pause_at.py": PAUSE_AT})
    proc = start_fgc("run", pausing, *_sets(*TRAIN_SETS, f"pause_marker='{marker}'"), "--output-dir", run_dir)
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert record(run_dir)["status"] == "running"  # killed: nobody marked it
    assert not (run_dir / "checkpoint-20").exists() and (run_dir / "checkpoint-10").is_dir()

    refused = fgc("run", project, "--output-dir", run_dir)  # never into a run without --resume
    assert refused.returncode == 2 and "holds a run" in refused.stderr and "--resume" in refused.stderr

    done = fgc("run", run_dir, "--resume")
    assert done.returncode == 0, done.stderr
    assert f"continuing {run_dir} from checkpoint-10" in done.stderr
    rec = record(run_dir)
    assert rec["status"] == "completed"
    assert [(s["status"], s["resumed_from"]) for s in rec["sessions"]] == [
        ("running", None),
        ("completed", str(run_dir / "checkpoint-10")),
    ]
    assert sha256(run_dir / "model.safetensors") == sha256(first_run / "model.safetensors")


def test_compile_refuses_a_run_directory_and_leaves_every_file(project, first_run):
    before = tree_digest(first_run)
    done = fgc("compile", project.parent / "exp.fg", "-o", first_run)
    assert done.returncode == 1
    assert "error[FG0701]" in done.stderr and "is a run directory" in done.stderr
    assert tree_digest(first_run) == before


def test_recompiling_from_a_runs_saved_sources(project, first_run, tmp_path):
    done = fgc("compile", first_run, "-o", tmp_path / "rebuilt")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rebuilt" / "config.py").read_text() == (project / "config.py").read_text()
    assert tree_digest(tmp_path / "rebuilt" / "model") == tree_digest(project / "model")


def test_nproc_refuses_a_single_process_trainer(tmp_path):
    # Forgather's Trainer runs on any number of processes (its parallel plan decides how);
    # a trainer class that does not declare it, like the bare BaseTrainer, is refused.
    (tmp_path / "exp.fg").write_text("main: !partial:forgather.ml.trainer:BaseTrainer\n")
    assert fgc("compile", tmp_path / "exp.fg", "-o", tmp_path / "build").returncode == 0
    work = tmp_path / "work"
    work.mkdir()
    done = fgc("run", tmp_path / "build", "--nproc", "2", cwd=work)
    assert done.returncode == 2
    assert "error[FG0708]" in done.stderr and "forgather.ml.trainer.base.BaseTrainer" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(work.iterdir()) == []  # refused before any run directory was made


def test_the_record_hashes_the_data_files_read(first_run):
    data = record(first_run)["data_files"]
    assert len(data) == 8  # corpus_files = 8 stdlib files
    for path, entry in data.items():
        assert entry == {"bytes": Path(path).stat().st_size, "sha256": sha256(Path(path))}
