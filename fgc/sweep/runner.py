"""The runs of a sweep directory: what each combination needs (nothing, a resume, or a fresh
compile and run), and the record kept up to date as the launcher starts and finishes them.

    SWEEP_DIR/<name>/build/       the combination's build (`fgc compile -o`)
    SWEEP_DIR/<name>/run/         its run directory (`fgc run --output-dir`)
    SWEEP_DIR/<name>/output.log   the output of its commands, every attempt appended
    SWEEP_DIR/<name>/attempt-N/   an earlier attempt that had no checkpoint to resume from
"""

from __future__ import annotations

import os
from pathlib import Path

from forgather_files.runs import COMPLETED, FAILED, INTERRUPTED, PREEMPTED, RUN_RECORD, read_record

from ..runs.dirs import is_run_dir, latest_checkpoint
from .job import Job, JobResult, fgc_command
from .naming import combination_name
from .plan import Axis, varying
from .store import find_run, now, write_sweep


def _run_record(run_dir: Path) -> dict:
    return read_record(run_dir)


def _run_status(run_dir: Path) -> str | None:
    return _run_record(run_dir).get("status")


class Runner:
    def __init__(self, sweep_dir: Path, record: dict, axes: list[Axis], file: Path,
                 include_dirs: list[str], target: str, env: dict[str, str] | None = None) -> None:
        self.dir = sweep_dir
        self.record = record
        self.axes = axes
        self.named = [a.name for a in varying(axes)]
        self.file = file
        self.include_dirs = include_dirs
        self.target = target
        self.env = env or {}
        # Runs start where `fgc sweep` was started, as `fgc run` would: a relative path in the
        # config (a data file) means the same in both.
        self.cwd = os.getcwd()

    def name(self, values: dict[str, str]) -> str:
        return combination_name(values, self.named)

    def entry(self, values: dict[str, str]) -> dict:
        """The record's entry of a combination (added, pending, the first time it is planned)."""
        name = self.name(values)
        run = find_run(self.record, name)
        if run is None:
            run = {"name": name, "values": values, "status": "pending", "exit_code": None, "error": None,
                   "attempts": 0, "seconds": None, "peak_rss_kib": None, "host": None,
                   "start_time": None, "end_time": None}
            self.record["runs"].append(run)
        return run

    def run_dir(self, name: str) -> Path:
        return self.dir / name / "run"

    def finished(self, run: dict) -> bool:
        """Completed by its own record (sweep.json alone is not trusted: the run may be gone)."""
        done = _run_status(self.run_dir(run["name"])) == COMPLETED
        if done and run["status"] != "completed":
            run["status"] = "completed"  # finished while the sweep that started it was not watching
        return done

    def job(self, run: dict) -> Job:
        """What runs the combination now: `fgc run --resume` of its run when that has a
        checkpoint, else compile and run (an earlier attempt is first moved aside)."""
        name, values = run["name"], run["values"]
        home = self.dir / name
        run_dir = home / "run"
        log = str(home / "output.log")
        if is_run_dir(run_dir) and latest_checkpoint(run_dir) is not None:
            return Job(name, [fgc_command("run", str(run_dir), "--resume")], log, self.cwd, self.env)
        if run_dir.exists():
            n = 1
            while (home / f"attempt-{n}").exists():
                n += 1
            os.replace(run_dir, home / f"attempt-{n}")
        run["seconds"] = run["peak_rss_kib"] = None  # a fresh run: its time and memory start again
        compile_args = ["compile", str(self.file), "-o", str(home / "build")]
        for d in self.include_dirs:
            compile_args += ["-I", d]
        run_args = ["run", str(home / "build"), "--target", self.target, "--output-dir", str(run_dir)]
        for axis in self.axes:
            pair = f"{axis.name}={values[axis.name]}"
            if axis.kind == "set":
                run_args += ["--set", pair]
            else:
                compile_args += [axis.flag(), pair]
        return Job(name, [fgc_command(*compile_args), fgc_command(*run_args)], log, self.cwd, self.env)

    def _entry(self, name: str) -> dict:
        run = find_run(self.record, name)
        assert run is not None, name  # every job is made from an entry
        return run

    def save(self) -> None:
        write_sweep(self.dir, self.record)

    def started(self, job: Job) -> None:
        run = self._entry(job.name)
        run.update({"status": "running", "attempts": run["attempts"] + 1, "start_time": now(),
                    "end_time": None, "exit_code": None, "error": None})
        self.save()

    def done(self, result: JobResult) -> dict:
        run = self._entry(result.name)
        own = _run_record(self.run_dir(result.name))
        ok = result.exit_code == 0 and own.get("status") == COMPLETED
        # what `fgc run` recorded as the failure when it got that far, else the job's log
        error = own.get("error") if own.get("status") in (FAILED, INTERRUPTED, PREEMPTED) and own.get("error") else result.error
        if result.exit_code == 0 and not ok:
            error = f"the run ended without a completed run record ({RUN_RECORD})"
        seconds = (run.get("seconds") or 0.0) + result.seconds  # a resumed run adds its attempts
        peak = max(p for p in (run.get("peak_rss_kib"), result.peak_rss_kib, 0) if p is not None) or None
        run.update({"status": "completed" if ok else "failed", "exit_code": result.exit_code,
                    "error": None if ok else error, "seconds": round(seconds, 3), "peak_rss_kib": peak,
                    "host": result.host or None, "end_time": now()})
        if result.warnings or "warnings" in run:  # what `fgc compile` warned about (a resume compiles nothing)
            run["warnings"] = result.warnings or run.get("warnings", [])
        self.save()
        return run
