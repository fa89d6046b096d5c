"""Helpers of the job tests: a tiny training project whose trainer can pause at chosen steps
(so that a test signals a job at a step it knows, never by timing), jobs started in their own
session with their output in a file, and checks that no process of a job survives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from runs_testlib import compile_tiny

HANG_GUARD_S = 600  # a hang guard, not a speed assertion

# PauseAt: at the end of a chosen step, one process (local rank 0 of node `node`) writes a marker
# and waits until something the test does has reached it: a stop signal, or an `fgc ctl` request.
PAUSE_AT = (Path(__file__).resolve().parents[1] / "pause_at.py").read_text()

JOB_TRAINER = """\
#--- job.trainer ---
-- extends '{trainer}'
[trainer_callbacks]
    == super()
    pause: !singleton:.pause_at:PauseAt
        pauses: !var { name: pauses, default: '' }
        marker_dir: !var { name: marker_dir, default: '' }
        node: !var { name: pause_node, default: 0 }
"""

# Every job test trains this long, one loss logged per step, no evaluation during training.
STEPS = 8
JOB_SETS = [f"max_steps={STEPS}", "logging_steps=1", "eval_strategy=no", "save_strategy=no", "batch_size=2"]


def compile_job(root: Path, trainer: str = "trainers/accel_trainer.fg") -> Path:
    """The tiny project on `trainer` with the PauseAt callback, compiled into root/build."""
    blocks = "[trainer]\n    -- include 'job.trainer'\n"
    return compile_tiny(root, blocks, JOB_TRAINER.replace("{trainer}", trainer), files={"pause_at.py": PAUSE_AT})


def sets(*items: str) -> list[str]:
    return [a for item in items for a in ("--set", item)]


def env() -> dict[str, str]:
    out = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    for name in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "TORCHELASTIC_RUN_ID", "FGC_LAUNCH_DIR"):
        out.pop(name, None)
    return out


class Job:
    """`python -m fgc ARGS` in its own session (its process group is its own), output in a file."""

    def __init__(self, log: Path, *args: str, cwd: Path | None = None) -> None:
        self.log = log
        self.args = [sys.executable, "-m", *map(str, args)]
        self._out = open(log, "w")
        self.proc = subprocess.Popen(self.args, cwd=cwd, env=env(), stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self) -> int:
        try:
            code = self.proc.wait(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError(f"{' '.join(self.args)} hung for {HANG_GUARD_S} s\n{self.output()}") from None
        finally:
            self._out.close()
        return code

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)


def wait_for(path: Path, *jobs: Job) -> None:
    """Until `path` exists; fails when a job ends first, or after the hang guard."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not path.exists():
        for job in jobs:
            if job.proc.poll() is not None:
                raise AssertionError(f"the job ended ({job.proc.returncode}) before {path.name}:\n{job.output()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {path} after {HANG_GUARD_S} s")
        time.sleep(0.05)


def job_pids(run_dir: Path) -> dict[str, int]:
    """Every process the job registered: the launchers, torchrun agents and workers."""
    found = {}
    for path in (run_dir / ".fgc").glob("node-*.json"):
        node = json.loads(path.read_text())
        found[f"launcher {node['node']}"] = node["pid"]
        found[f"agent {node['node']}"] = node["agent_pid"]
    for path in (run_dir / ".fgc" / "ranks").glob("rank-*.json"):
        entry = json.loads(path.read_text())
        found[f"rank {entry['rank']}"] = entry["pid"]
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_no_process_left(pids: dict[str, int]) -> None:
    """No process of the job, by pid and by process group (each launcher, agent and worker
    leads its own group: torchrun starts every worker in a session of its own)."""
    deadline = time.monotonic() + 30  # the kernel reaps exited children in its own time
    while time.monotonic() < deadline:
        left = {name: pid for name, pid in pids.items() if alive(pid) or group_alive(pid)}
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes of the job survived: {left}")


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(run_dir / "model.safetensors")


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


def record(run_dir: Path) -> dict:
    return json.loads((run_dir / "fgc-run.json").read_text())
