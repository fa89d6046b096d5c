"""The run record, `<run dir>/fgc-run.json`: what `fgc run` did, written before the target is
built and updated when it ends (each write to a temporary file, then renamed over the old one).

    fgc_run        1 (the format)
    run_dir        the run directory (absolute)
    runs_root      the directory whose `latest` link points at this run once it completes (a run
                   made under the build's `output_dir`), else null
    build          the build directory the run was made from, and its config sha256
    command        the exact command line (argv, and cwd)
    sets           every --set: {"name": value} as parsed (YAML scalars); every process of the
                   run, on every node, takes its values from here
    variables      the value of every variable of the build (given, or its default)
    target         the target that was run
    status         running | completed | failed | interrupted | preempted (forgather_files.runs)
    exit_code      the exit status of `fgc run` (null while running)
    error          what failed or stopped it: the rank, and the signal or the error
    stopped        a run stopped on request: {"step", "checkpoint", "reason", "signal", "ranks"}
    failures       a launch whose processes failed: [{"rank", "pid", "host", "exit_code",
                   "signal", "error"}], the first failure first
    resume_command how to continue a preempted or interrupted run (null otherwise)
    start_time, end_time   ISO 8601 with the UTC offset
    host           hostname, platform, Python, pid, user
    packages       every installed distribution: {"name": "version"} (what `pip freeze` lists)
    data_files     local files the run read: {"path": {"bytes", "sha256"}}
    datasets       datasets read through `datasets` with forgather.ml.data:load_dataset (present
                   only then): [{"path", "name", "split", "data_files", "fingerprint", "num_rows"}]
    pretrained_models   pretrained model directories the run loaded (forgather.ml.finetune:
                   load_pretrained; present only then): {"path": {"files": {"name": {"bytes", "sha256"}}}}
    peak_gpu_memory_bytes   torch.cuda.max_memory_allocated of the run's process (the largest
                   over its devices); null when it used no GPU, or ran in several processes
    launch         how its processes were started: {"nproc", "nnodes", "launcher"} (null: one
                   process)
    sessions       one entry per `fgc run` on this directory (the first run, then each --resume):
                   command, sets, start_time, end_time, status, exit_code, resumed_from, host
"""

from __future__ import annotations

import datetime
import getpass
import importlib.metadata
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Any

from forgather_files import run_inputs
from forgather_files.runs import RECORD_FORMAT, RUN_RECORD, read_record, write_json

__all__ = ["finish_record", "note_data_files", "read_record", "start_record", "write_record"]


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def installed_packages() -> dict[str, str]:
    """Every installed distribution and its version, sorted by name (pip freeze's list)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name not in found:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))


def host() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in a container is not an error
        user = None
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "pid": os.getpid(),
        "user": user,
    }


def write_record(run_dir: Path, record: dict[str, Any]) -> None:
    write_json(run_dir / RUN_RECORD, record)


def session(argv: list[str], sets: dict[str, Any], resumed_from: str | None) -> dict[str, Any]:
    return {
        "command": argv,
        "cwd": os.getcwd(),
        "sets": sets,
        "start_time": now(),
        "end_time": None,
        "status": "running",
        "exit_code": None,
        "resumed_from": resumed_from,
        "host": host(),
    }


def start_record(
    run_dir: Path,
    *,
    argv: list[str],
    build_dir: Path,
    manifest: dict[str, Any],
    target: str,
    sets: dict[str, Any],
    variables: dict[str, Any],
    resumed_from: str | None = None,
    runs_root: Path | None = None,
    launch: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the record of a starting run (a resumed run keeps its earlier sessions)."""
    record = read_record(run_dir) if resumed_from else {}
    sessions = list(record.get("sessions", []))
    sessions.append(session(argv, sets, resumed_from))
    record.update(
        {
            "fgc_run": RECORD_FORMAT,
            "run_dir": str(run_dir),
            "runs_root": str(runs_root) if runs_root else record.get("runs_root"),
            "build": {
                "dir": str(build_dir),
                "config_sha256": manifest.get("config_sha256"),
                "input": manifest.get("input"),
            },
            "command": {"argv": argv, "cwd": os.getcwd()},
            "sets": sets,
            "variables": variables,
            "target": target,
            "status": "running",
            "exit_code": None,
            "error": None,
            "stopped": None,
            "failures": None,
            "resume_command": None,
            "start_time": record.get("start_time") or sessions[-1]["start_time"],
            "end_time": None,
            "host": host(),
            "packages": installed_packages(),
            "data_files": record.get("data_files", {}),
            "launch": launch,
            "sessions": sessions,
        }
    )
    write_record(run_dir, record)
    return record


def _add_inputs(record: dict[str, Any]) -> None:
    """Add what this process read to the record (`forgather_files.run_inputs`, which the
    runtime's readers fill): local data files, datasets loaded through `datasets`, pretrained
    model directories."""
    record["data_files"] = {**(record.get("data_files") or {}), **run_inputs.read_files()}
    datasets = list(record.get("datasets") or [])
    datasets += [d for d in run_inputs.read_datasets() if d not in datasets]
    if datasets:
        record["datasets"] = datasets
    models = {**(record.get("pretrained_models") or {}), **run_inputs.read_model_dirs()}
    if models:
        record["pretrained_models"] = models


def note_data_files(run_dir: Path) -> None:
    """Add the files this process read to the record (a launched process of `--nproc`)."""
    record = read_record(run_dir)
    if record:
        _add_inputs(record)
        write_record(run_dir, record)


def peak_gpu_memory() -> int | None:
    """The most GPU memory torch allocated in this process, when the run used a GPU (fgc never
    imports torch itself: only a run that did has it in sys.modules)."""
    torch = sys.modules.get("torch")
    try:
        if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
            return None
        return max(int(torch.cuda.max_memory_allocated(d)) for d in range(torch.cuda.device_count()))
    except Exception:  # a broken CUDA setup must not lose the record
        return None


def finish_record(run_dir: Path, status: str, exit_code: int, error: str | None = None,
                  **more: Any) -> dict[str, Any]:
    """Mark the run (and its latest session) as ended, with the files it read; `more` sets
    other fields (stopped, failures, resume_command)."""
    record = read_record(run_dir)
    end = now()
    record.update({"status": status, "exit_code": exit_code, "error": error, "end_time": end, **more})
    # the largest of every session (a resumed run keeps the peak of the earlier ones)
    record["peak_gpu_memory_bytes"] = max(peak_gpu_memory() or 0, record.get("peak_gpu_memory_bytes") or 0) or None
    _add_inputs(record)
    if record.get("sessions"):
        record["sessions"][-1].update({"end_time": end, "status": status, "exit_code": exit_code})
    write_record(run_dir, record)
    return record
