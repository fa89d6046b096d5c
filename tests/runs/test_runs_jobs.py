"""Jobs of several processes that survive the cluster, for real (2 gloo processes of AccelTrainer,
a tiny model, 8 steps): `fgc ctl save` checkpoints a running job; a worker SIGKILLed under
`--max-restarts=1` is restarted and resumes by itself; SIGTERM to the launcher, and to node 1 of
a 2-node job on one machine, stops every process after the same step with a checkpoint and
leaves none running; each resumed job ends with the weights of the uninterrupted run, bit for
bit. Plain `torchrun -m fgc run` makes one run directory (it is the uninterrupted run); an error
under --nproc is printed once. Each job pauses at a known step until the signal or the request
has reached it (jobs_testlib.PauseAt): nothing depends on timing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from forgather_files.checkpoints import is_checkpoint
from runs_testlib import fgc, write
from jobs_testlib import (
    JOB_SETS,
    STEPS,
    Job,
    assert_no_process_left,
    assert_same_weights,
    compile_job,
    env,
    job_pids,
    record,
    sets,
    wait_for,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "distributed"))
from launcher import free_port  # noqa: E402


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return compile_job(tmp_path_factory.mktemp("jobs"))


@pytest.fixture(scope="module")
def reference(build):
    """The uninterrupted job, through plain torchrun (as the docs show it without fgc's launcher)."""
    root = build.parent / "reference"
    job = Job(build.parent / "reference.log", "torch.distributed.run", "--nproc-per-node=2", "-m", "fgc", "run",
              build, *sets(*JOB_SETS, f"output_dir={root}"), cwd=build.parent)
    assert job.wait() == 0, job.output()
    return root


def test_plain_torchrun_makes_one_run_directory(reference):
    made = sorted(p.name for p in reference.iterdir())
    assert len(made) == 2 and "latest" in made, made
    run = reference / "latest"
    rec = record(run)
    assert rec["status"] == "completed" and rec["sets"]["max_steps"] == STEPS
    [log] = run.glob("runs/*/trainer_logs.jsonl")
    begin = json.loads(log.read_text().splitlines()[0])
    assert begin["world_size"] == 2


def test_a_job_survives_a_killed_worker_and_a_sigterm(build, reference, tmp_path):
    """One job of `fgc run --nproc 2 --torchrun-arg=--max-restarts=1` (save_strategy='no'):
    `fgc ctl status` and `save` at step 2 (checkpoint-2); rank 1 SIGKILLed during step 4, so
    torchrun restarts both processes, which resume from checkpoint-2 by themselves; SIGTERM to the
    launcher at step 6: both ranks stop after step 6 with checkpoint-6 and no process of the job is
    left. `--resume` then ends with the uninterrupted weights, bit for bit."""
    run_dir, markers = tmp_path / "run", tmp_path / "markers"
    markers.mkdir()
    job = Job(tmp_path / "job.log", "fgc", "run", build, "--nproc", "2", "--torchrun-arg=--max-restarts=1",
              "--output-dir", run_dir, *sets(*JOB_SETS, "pauses=2:request,4:signal,6:signal", f"marker_dir={markers}"))
    wait_for(markers / "step-2", job)
    status = subprocess.run([sys.executable, "-m", "fgc", "ctl", str(run_dir), "status"], capture_output=True,
                            text=True, env=env(), timeout=600)
    assert "status   : running" in status.stdout and "rank 1   : pid" in status.stdout, status.stderr
    saved = subprocess.run([sys.executable, "-m", "fgc", "ctl", str(run_dir), "save"], capture_output=True,
                           text=True, env=env(), timeout=600)
    assert saved.returncode == 0 and f"saved at step 2: {run_dir / 'checkpoint-2'}" in saved.stdout, saved.stderr
    assert is_checkpoint(run_dir / "checkpoint-2")  # save_strategy='no': the request's

    wait_for(markers / "step-4", job)  # rank 0 waits there; rank 1 is in step 4's agreement
    first = job_pids(run_dir)
    os.kill(first["rank 1"], signal.SIGKILL)

    wait_for(markers / "step-6", job)  # the restarted processes, resumed from checkpoint-2
    pids = job_pids(run_dir)
    assert set(pids) == {"launcher 0", "agent 0", "rank 0", "rank 1"} and pids["rank 1"] != first["rank 1"]
    job.signal(signal.SIGTERM)
    assert job.wait() == 143, job.output()
    assert_no_process_left(pids)
    rec = record(run_dir)
    assert (rec["status"], rec["exit_code"], rec["stopped"]["step"], rec["stopped"]["signal"]) == (
        "preempted", 143, 6, signal.SIGTERM)
    assert rec["stopped"]["reason"].startswith("SIGTERM on rank ")
    assert rec["resume_command"] == f"fgc run {run_dir} --resume --nproc 2"
    assert rec["restarts"] == 1
    killed = [f for f in rec["failures"] if f["rank"] == 1]
    assert killed and killed[0]["recovered"] and "killed" in killed[0]["error"]
    assert is_checkpoint(run_dir / "checkpoint-6") and not (run_dir / "checkpoint-7").exists()

    resumed = Job(tmp_path / "resume.log", "fgc", "run", run_dir, "--resume", "--nproc", "2")
    assert resumed.wait() == 0, resumed.output()
    assert record(run_dir)["status"] == "completed"
    assert_same_weights(run_dir, reference / "latest")


def test_sigterm_to_node_1_of_two(build, reference, tmp_path):
    """Two launchers on one machine (`--nnodes 2 --nproc 1`): node 1 is given no --set at all and
    runs with node 0's recorded values. SIGTERM to node 1's launcher at step 4: both nodes stop
    after step 4 with checkpoint-4 and leave no process. Resumed on both nodes (node 1 given a value
    that differs from the run's: a warning, nothing changes), it ends with the uninterrupted weights."""
    run_dir, markers = tmp_path / "run", tmp_path / "markers"
    markers.mkdir()

    def node(rank: int, *more: str, log: str) -> Job:
        common = ["--nproc", "1", "--nnodes", "2", "--node-rank", str(rank), "--master-addr", "127.0.0.1",
                  "--master-port", str(port), "--output-dir", run_dir]
        source = run_dir if "--resume" in more else build
        return Job(tmp_path / log, "fgc", "run", source, *common, *more)

    port = free_port()
    node0 = node(0, *sets(*JOB_SETS, "pauses=4:signal", f"marker_dir={markers}", "pause_node=1"), log="n0.log")
    node1 = node(1, log="n1.log")
    wait_for(markers / "step-4", node0, node1)
    pids = job_pids(run_dir)
    assert len(pids) == 6, pids  # two launchers, two agents, two workers
    node1.signal(signal.SIGTERM)
    assert node1.wait() == 143, node1.output()
    assert node0.wait() == 143, node0.output()
    assert_no_process_left(pids)
    rec = record(run_dir)
    assert (rec["status"], rec["stopped"]["step"], rec["stopped"]["signal"]) == ("preempted", 4, signal.SIGTERM)
    checkpoint = run_dir / "checkpoint-4"  # one for the job: each node's process wrote its RNG state
    assert is_checkpoint(checkpoint) and (checkpoint / "rng_state_0.pt").is_file() and (checkpoint / "rng_state_1.pt").is_file()
    assert not list(run_dir.glob(".tmp-*")) and len(list(run_dir.glob("runs/*/trainer_logs.jsonl"))) == 1
    assert "node 1: the job ended preempted" in node1.output()

    port = free_port()
    node0 = node(0, "--resume", log="n0r.log")
    node1 = node(1, "--resume", *sets("logging_steps=2"), log="n1r.log")
    assert node1.wait() == 0, node1.output()
    assert node0.wait() == 0, node0.output()
    assert "warning[FG0731]: node 1 was given --set logging_steps=2 (the run's: 1)" in node1.output()
    assert record(run_dir)["status"] == "completed"
    assert_same_weights(run_dir, reference / "latest")


def test_an_error_under_nproc_is_printed_once(tmp_path):
    """Both processes raise while building the target (a plain-Python target: no training)."""
    write(tmp_path, {"exp.fg": "main: !singleton:operator:truediv\n    - 1\n    - !var { name: d, default: 0 }\n"})
    assert fgc("compile", tmp_path / "exp.fg", "-o", tmp_path / "build").returncode == 0
    job = Job(tmp_path / "job.log", "fgc", "run", tmp_path / "build", "--nproc", "2", "--output-dir", tmp_path / "run")
    assert job.wait() == 1
    out = job.output()
    # once: rank 1 failed the same way, or torchrun stopped it first
    assert out.count("error[FG0710]") == 1 and "ZeroDivisionError: division by zero" in out, out
    assert "ChildFailedError" not in out and "Root Cause" not in out and "Traceback" not in out
    rec = record(tmp_path / "run")
    assert rec["status"] == "failed" and rec["error"].startswith("rank ") and " (pid " in rec["error"]
    assert rec["error"].endswith("building target `main` failed: ZeroDivisionError: division by zero")
    assert sorted(f["rank"] for f in rec["failures"]) == [0, 1] and rec["failures"][0]["status"] == "failed"
