"""`fgc ctl RUN_DIR save|stop|status`: talk to a running job through its run directory.

A request is a file, `.fgc/control.json` ({"id", "action", "time", "host", "pid"}), written
atomically; rank 0 of the job reads it at the end of a step, the ranks agree on it through a
collective (forgather.ml.trainer.preemption), and every rank acts at the same step: `save` writes
a checkpoint and training goes on, `stop` writes one and ends the run (recorded `preempted`).
Rank 0 answers in `.fgc/control-done.json` with the request's id, the step and the checkpoint.
Files, not signals: the job may run on other machines that share the run directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forgather_files.runs import (
    CONTROL_DONE,
    CONTROL_REQUEST,
    PROGRESS,
    RANKS,
    RUNNING,
    STOP_NOTE,
    process_dir,
    read_json,
    read_record,
    write_json,
)

from .processes import alive


class ControlError(Exception):
    """The run cannot take a request; the message says why."""


def reset(run_dir: Path) -> None:
    """A new session of the run (node 0, before any process starts): no stop note, request,
    progress or worker file of an earlier one is read as this one's (the last answered request
    stays: ids keep growing). The launchers' own files (`node-<n>.json`, `agent-<n>.json`) are each
    launcher's to replace: another node's launcher may have written its file already."""
    d = process_dir(run_dir)
    for name in (STOP_NOTE, CONTROL_REQUEST, PROGRESS):
        (d / name).unlink(missing_ok=True)
    shutil.rmtree(d / RANKS, ignore_errors=True)


def request(run_dir: Path, action: str) -> int:
    """Ask the running job in `run_dir` to `save` or `stop`; returns the request's id."""
    record = read_record(run_dir)
    if not record:
        raise ControlError(f"{run_dir} is not a run directory (no fgc-run.json)")
    if record.get("status") != RUNNING:
        raise ControlError(f"{run_dir} is not running (its record says {record.get('status')!r})")
    if record_is_stale(record):
        raise ControlError(f"{run_dir} is marked running, but its process ({record['host']['pid']}) is gone: "
                           "it was killed without a chance to mark its record")
    d = process_dir(run_dir)
    last = max(int(read_json(d / CONTROL_REQUEST).get("id") or 0), int(read_json(d / CONTROL_DONE).get("id") or 0))
    rid = last + 1
    write_json(d / CONTROL_REQUEST, {"id": rid, "action": action, "time": time.time(),
                                     "host": socket.gethostname(), "pid": os.getpid()})
    return rid


def record_is_stale(record: dict[str, Any]) -> bool:
    """Marked running by a process of this host that is gone."""
    host = record.get("host") or {}
    return (record.get("status") == RUNNING and host.get("hostname") == socket.gethostname()
            and not alive(host.get("pid")))


@dataclass
class Answer:
    done: dict[str, Any] | None  # control-done.json of the request, when the job answered it
    status: str | None  # the run's status when it ended before answering


def wait(run_dir: Path, rid: int, timeout: float | None = None, poll: float = 0.2,
         tick: Callable[[], None] | None = None) -> Answer:
    """Wait until the job answers request `rid`, or the run is no longer running."""
    d = process_dir(run_dir)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        done = read_json(d / CONTROL_DONE)
        if int(done.get("id") or 0) >= rid:
            return Answer(done, None)
        record = read_record(run_dir)
        if record.get("status") != RUNNING or record_is_stale(record):
            return Answer(None, record.get("status") if record.get("status") != RUNNING else "gone")
        if deadline is not None and time.monotonic() > deadline:
            return Answer(None, None)
        if tick is not None:
            tick()
        time.sleep(poll)


def status(run_dir: Path) -> list[str]:
    """What `fgc ctl RUN_DIR status` prints: the record's status, the step reached, the
    processes and whether they are alive, a pending request, how it stopped."""
    record = read_record(run_dir)
    d = process_dir(run_dir)
    submitted = read_json(d / "slurm.json")
    if not record and submitted:  # `fgc run --launcher`: the job has not started yet
        return [f"run      : {run_dir}", f"status   : submitted ({submitted.get('cluster')} job "
                f"{submitted.get('job_id')}), no process started yet"]
    if not record:
        raise ControlError(f"{run_dir} is not a run directory (no fgc-run.json)")
    state = record.get("status")
    if record_is_stale(record):
        state = f"{state} (its process {record['host']['pid']} is gone: killed)"
    lines = [f"run      : {run_dir}", f"status   : {state}"]
    progress = read_json(d / PROGRESS)
    if progress and record.get("status") == RUNNING:
        when = time.strftime("%H:%M:%S", time.localtime(progress.get("time") or 0))
        lines.append(f"step     : {progress.get('step')} of {progress.get('max_steps')} (at {when})")
    host = record.get("host") or {}
    lines.append(f"started  : {record.get('start_time')} on {host.get('hostname')} (pid {host.get('pid')})")
    here = socket.gethostname()
    for entry in sorted((read_json(p) for p in (d / RANKS).glob("rank-*.json")), key=lambda e: e.get("rank", 0)):
        live = ("alive" if alive(entry.get("pid")) else "gone") if entry.get("host") == here else "on another host"
        lines.append(f"rank {entry.get('rank')}   : pid {entry.get('pid')} on {entry.get('host')}, "
                     f"{entry.get('status')} ({live})")
    asked, done = read_json(d / CONTROL_REQUEST), read_json(d / CONTROL_DONE)
    if asked and int(asked.get("id") or 0) > int(done.get("id") or 0) and record.get("status") == RUNNING:
        lines.append(f"request  : {asked.get('action')} (#{asked.get('id')}), waiting for the end of a step")
    if done:
        lines.append(f"last done: {done.get('action')} (#{done.get('id')}) at step {done.get('step')}: "
                     f"{done.get('checkpoint')}")
    if record.get("stopped"):
        s = record["stopped"]
        lines.append(f"stopped  : at step {s.get('step')} ({s.get('reason')}): {s.get('checkpoint')}")
    if record.get("error") and record.get("status") != RUNNING:
        lines.append(f"error    : {record['error']}")
    if record.get("resume_command"):
        lines.append(f"resume   : {record['resume_command']}")
    if submitted:
        lines.append(f"job      : {submitted.get('cluster')} job {submitted.get('job_id')}")
    return lines
