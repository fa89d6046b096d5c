"""Launcher: the jobs as local processes, at most `jobs` at once (threads that each wait on one
child process; the work is in the children)."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable

from .job import Job, JobResult, run_job, terminate_all


class LocalLauncher:
    name = "local"

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = max(1, jobs)

    def run(self, jobs: list[Job], started: Callable[[Job], None], done: Callable[[JobResult], None]) -> None:
        """Run every job; `started` and `done` are called in this thread, `done` as each ends."""
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            queue = list(jobs)
            running: dict[Future, Job] = {}
            try:
                while queue or running:
                    while queue and len(running) < self.jobs:
                        job = queue.pop(0)
                        started(job)
                        running[pool.submit(run_job, job)] = job
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        running.pop(future)
                        done(future.result())
            except BaseException:  # Ctrl-C: nothing new starts, the running children are stopped
                for future in running:
                    future.cancel()
                terminate_all()
                raise
