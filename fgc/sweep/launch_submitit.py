"""Launcher: the jobs through submitit, on SLURM (`--launcher slurm`) or on this machine with
submitit's local executor (`--launcher submitit-local`: the same pickled jobs, job folders and
logs, which is how the cluster path is tested without a cluster). At most `jobs` are queued or
running at once. submitit is optional (the `slurm` extra)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable

from .job import Job, JobResult, run_job

POLL_SECONDS = {"local": 0.5, "slurm": 10.0}


class LauncherUnavailable(Exception):
    pass


class SubmititLauncher:
    def __init__(self, folder: Path, cluster: str, jobs: int = 1, partition: str | None = None,
                 timeout_min: int = 24 * 60, cpus_per_task: int | None = None, gpus_per_node: int | None = None,
                 mem_gb: float | None = None) -> None:
        try:
            import submitit
        except ImportError:
            raise LauncherUnavailable(
                "the SLURM launcher needs submitit: pip install 'forgather[slurm]' (or pip install submitit)"
            ) from None
        self.name = "slurm" if cluster == "slurm" else "submitit-local"
        self.cluster = cluster
        self.jobs = max(1, jobs)
        if cluster == "slurm" and shutil.which("srun") is None:  # what submitit looks for
            raise LauncherUnavailable("--launcher slurm: no `srun` on PATH: this is not a SLURM cluster "
                                      "(--launcher submitit-local runs the same jobs on this machine)")
        self.submitit = submitit
        self.folder = folder
        self.executor: Any = None  # made when the first job is submitted: nothing is written before
        params: dict = {"timeout_min": timeout_min, "name": "fgc-sweep"}
        if partition:
            params["slurm_partition"] = partition
        if cpus_per_task:
            params["cpus_per_task"] = cpus_per_task
        if gpus_per_node:
            params["gpus_per_node"] = gpus_per_node
        if mem_gb:
            params["mem_gb"] = mem_gb
        self.params = params

    def _executor(self):
        if self.executor is None:
            self.executor = self.submitit.AutoExecutor(folder=str(self.folder), cluster=self.cluster)
            self.executor.update_parameters(**self.params)
        return self.executor

    def run(self, jobs: list[Job], started: Callable[[Job], None], done: Callable[[JobResult], None]) -> None:
        queue = list(jobs)
        running: dict = {}  # submitit job -> our Job
        try:
            while queue or running:
                while queue and len(running) < self.jobs:
                    job = queue.pop(0)
                    started(job)
                    running[self._executor().submit(run_job, job)] = job
                for handle in [h for h in running if h.done()]:
                    job = running.pop(handle)
                    done(self._result(handle, job))
                if running:
                    time.sleep(POLL_SECONDS.get(self.cluster, 10.0))
        except BaseException:
            for handle in running:
                handle.cancel(check=False)
            raise

    @staticmethod
    def _result(handle, job: Job) -> JobResult:
        """The job's JobResult, or a failed one when submitit lost the job (killed, timed out)."""
        try:
            return handle.result()
        except Exception as exc:
            lines = [line for line in str(exc).splitlines() if line.strip()]
            message = lines[-1].strip() if lines else type(exc).__name__
            return JobResult(job.name, 1, 0.0, None, f"submitit job {handle.job_id}: {message}"[:300])
