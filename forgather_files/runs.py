"""The run contract: what `fgc run` and the runtime agree on about a run, in one place.

The environment of a run's processes (set by `fgc run`, read by the runtime):

    FGC_BUILD_DIR               the build being run (TrainingScript snapshots it)
    FGC_RUN_DIR                 the run directory (the target also gets it as `output_dir`)
    FGC_RESUME_FROM_CHECKPOINT  the checkpoint to continue from (`--resume`, a restarted worker)

The run directory:

    fgc-run.json                the run record (fgc writes it; RECORD_KEYS, STATUSES)
    config.py, config.yaml, fgc-manifest.json, graph.json, sources/, modules/, model/
                                the build snapshot (SNAPSHOT_ENTRIES, copy_snapshot)
    checkpoint-<step>/          checkpoints (forgather_files.checkpoints)
    .fgc/                       the files of the run's live processes (PROCESS_DIR):
        control.json            a request of `fgc ctl` (fgc writes): {"id", "action", "time"}
        control-done.json       the last request handled (rank 0 writes): {"id", "action",
                                "step", "checkpoint", "time"}
        stop.json               why the job stopped before its end (rank 0 writes, with the
                                checkpoint it saved): STOP_NOTE_KEYS
        progress.json           the step reached (rank 0 writes, at most every few seconds)
        ranks/rank-<r>.json     one per process of a launch (fgc writes): pid, host, status

A run stopped on request (a signal, `fgc ctl stop`) ends with `RunStopped` raised by the
runtime's TrainingScript; `fgc run` catches it and records the run as `preempted`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .atomic import copy_replacing, write_text

BUILD_DIR_ENV = "FGC_BUILD_DIR"
RUN_DIR_ENV = "FGC_RUN_DIR"
RESUME_ENV = "FGC_RESUME_FROM_CHECKPOINT"

# ------------------------------------------------------------------------------ the run record

RUN_RECORD = "fgc-run.json"
RECORD_FORMAT = 1
RUNNING, COMPLETED, FAILED, INTERRUPTED, PREEMPTED = "running", "completed", "failed", "interrupted", "preempted"
# running; completed; failed (an error); interrupted (stopped with no checkpoint written: before
# or after training, or by a second Ctrl-C); preempted (stopped with a checkpoint: resumable)
STATUSES = (RUNNING, COMPLETED, FAILED, INTERRUPTED, PREEMPTED)
RECORD_KEYS = (
    "fgc_run", "run_dir", "runs_root", "build", "command", "sets", "variables", "target", "status",
    "exit_code", "error", "stopped", "failures", "resume_command", "start_time", "end_time", "host",
    "packages", "data_files", "peak_gpu_memory_bytes", "launch", "sessions",
)


def is_run_dir(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / RUN_RECORD).is_file()


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A JSON object from `path`; {} when it is missing, unreadable or not an object."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def write_json(path: str | os.PathLike[str], value: dict[str, Any]) -> None:
    """Write a JSON object atomically (a reader sees the old or the new one)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(value, indent=1, ensure_ascii=False, default=str) + "\n")


def read_record(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    return read_json(Path(run_dir) / RUN_RECORD)


# ---------------------------------------------------------------------------- the build snapshot

# What `fgc compile` writes that documents a run: the module, the resolved config, the manifest,
# the graph, the templates, local modules and generated model code.
SNAPSHOT_ENTRIES = ("config.py", "config.yaml", "fgc-manifest.json", "graph.json", "sources", "modules", "model")
MANIFEST = "fgc-manifest.json"


def holds_build(run_dir: str | os.PathLike[str], build_dir: str | os.PathLike[str]) -> bool:
    """`run_dir` is `build_dir`, or holds its snapshot: the manifests (which hash every file of the
    build, sources included) are the same bytes."""
    run_dir, build_dir = Path(run_dir), Path(build_dir)
    try:
        return run_dir.resolve() == build_dir.resolve() or (
            (run_dir / MANIFEST).read_bytes() == (build_dir / MANIFEST).read_bytes()
        )
    except OSError:
        return False


def copy_snapshot(build_dir: str | os.PathLike[str], run_dir: str | os.PathLike[str]) -> list[str]:
    """Copy the build's snapshot entries into the run directory, each through a temporary name;
    nothing when the run directory holds this build already (a resumed run, or `fgc run` copied
    it). Returns the entries the run directory holds."""
    build_dir, run_dir = Path(build_dir), Path(run_dir)
    if holds_build(run_dir, build_dir):
        return [name for name in SNAPSHOT_ENTRIES if (run_dir / name).exists()]
    copied = []
    for name in SNAPSHOT_ENTRIES:
        if (build_dir / name).exists():
            copy_replacing(build_dir / name, run_dir / name)
            copied.append(name)
    return copied


# ------------------------------------------------------------------ the files of live processes

PROCESS_DIR = ".fgc"
CONTROL_REQUEST = "control.json"
CONTROL_DONE = "control-done.json"
STOP_NOTE = "stop.json"
PROGRESS = "progress.json"
RANKS = "ranks"
ACTIONS = ("save", "stop")  # what `fgc ctl` may ask of a running job
STOP_NOTE_KEYS = ("step", "checkpoint", "reason", "signal", "ranks", "time")


def process_dir(run_dir: str | os.PathLike[str]) -> Path:
    return Path(run_dir) / PROCESS_DIR


def rank_file(directory: str | os.PathLike[str], rank: int) -> Path:
    """A process's own file in a launch's process directory."""
    return Path(directory) / RANKS / f"rank-{rank}.json"


# --------------------------------------------------------------------- a run that stops early

EXIT_STOPPED = 75  # `fgc ctl stop` (sysexits' EX_TEMPFAIL: stopped, try again: resumable)


def stop_exit_code(signal_number: int | None) -> int:
    """How `fgc run` exits after a stop on request: 128 + the signal (the shell's convention:
    143 for SIGTERM, 130 for Ctrl-C), EXIT_STOPPED for `fgc ctl stop`."""
    return 128 + signal_number if signal_number else EXIT_STOPPED


class RunStopped(BaseException):
    """The run stopped before its end on request (a signal, `fgc ctl stop`), after writing the
    checkpoint `checkpoint` at `step` (None when none could be written). A BaseException, as
    KeyboardInterrupt is: an `except Exception` in user code does not swallow it."""

    def __init__(self, step: int, checkpoint: str | None, reason: str, signal: int | None = None,
                 ranks: list[int] | None = None) -> None:
        super().__init__(f"stopped at step {step} ({reason})")
        self.step = step
        self.checkpoint = checkpoint
        self.reason = reason
        self.signal = signal
        self.ranks = list(ranks or [])

    def note(self) -> dict[str, Any]:
        """The stop note (`.fgc/stop.json`) of this stop, without its time."""
        return {"step": self.step, "checkpoint": self.checkpoint, "reason": self.reason,
                "signal": self.signal, "ranks": self.ranks}

    @classmethod
    def from_note(cls, note: dict[str, Any]) -> "RunStopped":
        return cls(int(note.get("step") or 0), note.get("checkpoint"), str(note.get("reason") or "stopped"),
                   note.get("signal"), note.get("ranks"))
