"""`fgc run BUILD --launcher slurm`: a training job submitted through submitit (the launcher the
sweeps use; `--launcher submitit-local` runs the same job on this machine, which is how it is
tested without a cluster).

The submitting command makes the run directory (so that it can print it) and copies the build
into it (`.fgc/build`: the nodes need no other path, and a temporary build may go), then submits
one task per node. Each task runs `fgc run` for its node: `--nproc N --nnodes M --node-rank <its node>
--master-addr <the job's first host> --output-dir RUN_DIR`, or plain `fgc run BUILD --output-dir
RUN_DIR` for one node and no --nproc. SLURM warns a job before its time limit or a preemption
with a signal (submitit asks for USR2, `signal_delay_s` seconds before): every process of the
job gets it, fgc's processes finish their step and write a checkpoint, and submitit requeues the
job, which continues with `fgc run ... --resume` (NodeJob.checkpoint).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forgather_files.checkpoints import latest_checkpoint
from forgather_files.runs import copy_snapshot, is_run_dir, process_dir, read_record, write_json

from .dirs import point_latest

CLUSTERS = {"slurm": "slurm", "submitit-local": "local"}
PORT_BASE = 15000  # the rendezvous port: PORT_BASE + job id mod 20000 (the same on every node)


class SubmitError(Exception):
    """The job cannot be submitted; the message says why."""


@dataclass
class SlurmOptions:
    launcher: str  # a key of CLUSTERS
    nnodes: int = 1
    nproc: int | None = None
    partition: str | None = None
    time_min: int = 24 * 60
    gpus_per_node: int | None = None
    cpus_per_task: int | None = None
    mem_gb: float | None = None
    signal_delay_s: int = 120  # SLURM's warning before the time limit, for the final checkpoint
    extra: list[str] = field(default_factory=list)  # `fgc run` options every node gets (--set, --target)


def node_command(build: str, run_dir: str, opts: SlurmOptions, node: int, master: str, job_id: str,
                 resume: bool) -> list[str]:
    """The `fgc run` command of one node of the job."""
    cmd = [sys.executable, "-m", "fgc", "run", build, "--output-dir", run_dir, *opts.extra]
    if opts.nproc is not None or opts.nnodes > 1:
        port = PORT_BASE + int("".join(c for c in job_id if c.isdigit()) or "0") % 20000
        cmd += ["--nproc", str(opts.nproc or 1), "--nnodes", str(opts.nnodes), "--node-rank", str(node),
                "--master-addr", master, "--master-port", str(port)]
    if resume:
        cmd.append("--resume")
    return cmd


class NodeJob:
    """What submitit runs on each node (pickled): `fgc run` for this node; on SLURM's warning
    signal, waits for it to save and stop, then asks to be requeued with --resume."""

    def __init__(self, build: str, run_dir: str, opts: SlurmOptions, resume: bool = False,
                 runs_root: str | None = None) -> None:
        self.build, self.run_dir, self.opts, self.resume, self.runs_root = build, run_dir, opts, resume, runs_root
        self._proc: subprocess.Popen[bytes] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_proc"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._proc = None

    def __call__(self) -> int:
        import submitit

        env = submitit.JobEnvironment()
        resume = self.resume or is_run_dir(self.run_dir)
        if resume and latest_checkpoint(self.run_dir) is None:
            raise SubmitError(f"the job was requeued, but {self.run_dir} has no checkpoint to continue from")
        cmd = node_command(self.build, self.run_dir, self.opts, env.global_rank, env.hostnames[0], str(env.job_id),
                           resume)
        print("$ " + " ".join(cmd), flush=True)
        self._proc = subprocess.Popen(cmd)
        code = self._proc.wait()
        if code != 0:
            record = read_record(self.run_dir)
            raise SubmitError(f"fgc run exited with status {code}"
                              + (f": {record['status']}: {record.get('error')}" if record.get("status") else ""))
        if env.global_rank == 0 and self.runs_root:
            point_latest(Path(self.runs_root), Path(self.run_dir))
        return code

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        import submitit

        if self._proc is not None and self._proc.poll() is None:  # it got the signal too
            self._proc.wait()
        return submitit.helpers.DelayedSubmission(NodeJob(self.build, self.run_dir, self.opts, True, self.runs_root))


@dataclass
class Submitted:
    job_id: str
    folder: Path
    stdout: Path | None


def check_available(opts: SlurmOptions) -> None:
    """SubmitError when the job cannot be submitted here (checked before anything is written)."""
    try:
        import submitit  # noqa: F401
    except ImportError:
        raise SubmitError("--launcher needs submitit: pip install 'forgather[slurm]' (or pip install submitit)") from None
    cluster = CLUSTERS[opts.launcher]
    if cluster == "slurm" and shutil.which("srun") is None:
        raise SubmitError("--launcher slurm: no `srun` on PATH: this is not a SLURM cluster "
                          "(--launcher submitit-local runs the same job on this machine)")
    if cluster == "local" and opts.nnodes > 1:
        raise SubmitError("--launcher submitit-local runs on this machine: one node (--nnodes 1)")


def submit(build: Path, run_dir: Path, opts: SlurmOptions, runs_root: Path | None = None) -> tuple[Submitted, Any]:
    """Submit the job; (what was submitted, submitit's job handle)."""
    check_available(opts)
    import submitit

    cluster = CLUSTERS[opts.launcher]
    folder = process_dir(run_dir) / "submitit"
    executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    params: dict[str, Any] = {"timeout_min": opts.time_min, "name": f"fgc-{run_dir.name}", "tasks_per_node": 1}
    if cluster == "slurm":
        params.update(nodes=opts.nnodes, slurm_signal_delay_s=opts.signal_delay_s)
        if opts.partition:
            params["slurm_partition"] = opts.partition
    if opts.cpus_per_task:
        params["cpus_per_task"] = opts.cpus_per_task
    if opts.gpus_per_node:
        params["gpus_per_node"] = opts.gpus_per_node
    if opts.mem_gb:
        params["mem_gb"] = opts.mem_gb
    executor.update_parameters(**params)
    job_build = process_dir(run_dir) / "build"
    job_build.mkdir(parents=True, exist_ok=True)
    copy_snapshot(build, job_build)
    try:
        job = executor.submit(NodeJob(str(job_build), str(run_dir), opts, runs_root=str(runs_root) if runs_root else None))
    except Exception as e:  # sbatch refused it: its message says why
        raise SubmitError(f"submitting the job failed: {e}") from None
    stdout = getattr(getattr(job, "paths", None), "stdout", None)
    write_json(process_dir(run_dir) / "slurm.json", {"job_id": str(job.job_id), "cluster": cluster,
                                                    "folder": str(folder), "submitted": time.time()})
    return Submitted(str(job.job_id), folder, Path(stdout) if stdout else None), job


def wait(job: Any) -> str | None:
    """Wait for the job; None when it succeeded, else why it did not."""
    try:
        job.result()
    except Exception as e:
        lines = [line for line in str(e).splitlines() if line.strip()]
        return lines[-1].strip() if lines else type(e).__name__
    return None
