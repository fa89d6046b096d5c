"""Stopping a one-process `fgc run` on request, for real: `fgc ctl save` and `fgc ctl stop` from
another shell, Ctrl-C; each writes a checkpoint at the step it reached (save_strategy='no'),
the record says how the run ended, and `--resume` continues it bit-identically. Each job pauses
at a known step until the request or the signal has reached it (jobs_testlib.PauseAt): nothing
depends on timing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from forgather_files.checkpoints import is_checkpoint
from jobs_testlib import JOB_SETS, Job, assert_no_process_left, assert_same_weights, compile_job, env, record, sets, wait_for

EVAL = ["eval_strategy=steps", "eval_steps=4"]


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return compile_job(tmp_path_factory.mktemp("stop"), "trainers/trainer.fg")


@pytest.fixture(scope="module")
def reference(build):
    run_dir = build.parent / "reference"
    job = Job(build.parent / "reference.log", "fgc", "run", build, "--output-dir", run_dir, *sets(*JOB_SETS, *EVAL))
    assert job.wait() == 0, job.output()
    return run_dir


def ctl(run_dir, action):
    return subprocess.run([sys.executable, "-m", "fgc", "ctl", str(run_dir), action], capture_output=True, text=True,
                          env=env(), timeout=600)


def test_the_loop_and_the_script_evaluate_once_at_the_end(reference):
    logs = [json.loads(line) for p in reference.glob("runs/*/trainer_logs.jsonl") for line in p.read_text().splitlines()]
    assert [r["global_step"] for r in logs if "eval_loss" in r] == [4, 8]


def test_ctl_save_then_ctl_stop_then_resume(build, reference, tmp_path):
    run_dir, markers = tmp_path / "run", tmp_path / "markers"
    markers.mkdir()
    job = Job(tmp_path / "job.log", "fgc", "run", build, "--output-dir", run_dir,
              *sets(*JOB_SETS, *EVAL, "pauses=2:request,5:request", f"marker_dir={markers}"))
    wait_for(markers / "step-2", job)
    saved = ctl(run_dir, "save")
    assert saved.returncode == 0 and f"saved at step 2: {run_dir / 'checkpoint-2'}" in saved.stdout, saved.stderr
    wait_for(markers / "step-5", job)
    status = ctl(run_dir, "status")
    assert status.returncode == 0 and "status   : running" in status.stdout
    assert "last done: save (#1) at step 2" in status.stdout
    stopped = ctl(run_dir, "stop")
    assert stopped.returncode == 0 and f"saved and stopped at step 5: {run_dir / 'checkpoint-5'}" in stopped.stdout
    assert job.wait() == 75, job.output()
    assert_no_process_left({"fgc run": job.pid})
    rec = record(run_dir)
    assert (rec["status"], rec["exit_code"]) == ("preempted", 75)
    assert rec["stopped"]["step"] == 5 and rec["stopped"]["reason"] == "fgc ctl stop"
    assert rec["resume_command"] == f"fgc run {run_dir} --resume"
    assert is_checkpoint(run_dir / "checkpoint-2") and is_checkpoint(run_dir / "checkpoint-5")
    assert not (run_dir / "model.safetensors").exists()  # stopped: no final model yet
    refused = ctl(run_dir, "save")
    assert refused.returncode == 1 and "is not running (its record says 'preempted')" in refused.stderr

    resumed = Job(tmp_path / "resume.log", "fgc", "run", run_dir, "--resume")
    assert resumed.wait() == 0, resumed.output()
    assert f"continuing {run_dir} from checkpoint-5" in resumed.output()
    assert [(s["status"], s["exit_code"]) for s in record(run_dir)["sessions"]] == [("preempted", 75), ("completed", 0)]
    assert_same_weights(run_dir, reference)


def test_ctrl_c_writes_a_checkpoint_and_prints_the_resume_command(build, tmp_path):
    run_dir, markers = tmp_path / "run", tmp_path / "markers"
    markers.mkdir()
    job = Job(tmp_path / "job.log", "fgc", "run", build, "--output-dir", run_dir,
              *sets(*JOB_SETS, "pauses=3:signal", f"marker_dir={markers}"))
    wait_for(markers / "step-3", job)
    job.signal(signal.SIGINT)
    assert job.wait() == 130, job.output()
    out = job.output()
    assert "SIGINT: finishing the step, then a checkpoint and stop (Ctrl-C again aborts)" in out
    assert f"continue it with: fgc run {run_dir} --resume" in out
    rec = record(run_dir)
    assert (rec["status"], rec["exit_code"], rec["stopped"]["step"], rec["stopped"]["reason"]) == (
        "preempted", 130, 3, "SIGINT")
    assert is_checkpoint(run_dir / "checkpoint-3")
