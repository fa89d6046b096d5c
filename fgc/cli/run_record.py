"""The run record, `<run dir>/fgc-run.json`: what `fgc run` did, written before the target is
built and updated when it ends (each write to a temporary file, then renamed over the old one).

    fgc_run        1 (the format)
    run_dir        the run directory (absolute)
    build          the build directory the run was made from, and its config sha256
    command        the exact command line (argv, and cwd)
    sets           every --set: {"name": value} as parsed (YAML scalars)
    variables      the value of every variable of the build (given, or its default)
    target         the target that was run
    status         running | completed | failed | interrupted
    exit_code      the exit status of `fgc run` (null while running)
    error          what failed (failed and interrupted runs)
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
    sessions       one entry per `fgc run` on this directory (the first run, then each --resume):
                   command, sets, start_time, end_time, status, exit_code, resumed_from, host
"""

from __future__ import annotations

import datetime
import getpass
import importlib.metadata
import json
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Any

from forgather_files.atomic import write_text

from .run_dirs import RUN_RECORD

FORMAT = 1


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


def read_record(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_record(run_dir: Path, record: dict) -> None:
    write_text(run_dir / RUN_RECORD, json.dumps(record, indent=1, ensure_ascii=False, default=str) + "\n")


def session(argv: list[str], sets: dict, resumed_from: str | None) -> dict:
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
    manifest: dict,
    target: str,
    sets: dict,
    variables: dict,
    resumed_from: str | None = None,
) -> dict:
    """Write the record of a starting run (a resumed run keeps its earlier sessions)."""
    record = read_record(run_dir) if resumed_from else {}
    sessions = list(record.get("sessions", []))
    sessions.append(session(argv, sets, resumed_from))
    record.update(
        {
            "fgc_run": FORMAT,
            "run_dir": str(run_dir),
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
            "start_time": record.get("start_time") or sessions[-1]["start_time"],
            "end_time": None,
            "host": host(),
            "packages": installed_packages(),
            "data_files": record.get("data_files", {}),
            "sessions": sessions,
        }
    )
    write_record(run_dir, record)
    return record


def _add_inputs(record: dict) -> None:
    """Add what this process read (runtime's run_inputs) to the record: local data files, datasets
    loaded through `datasets`, pretrained model directories."""
    inputs = sys.modules.get("forgather.ml.run_inputs")  # only when the run used the runtime
    if inputs is None:
        return
    record["data_files"] = {**(record.get("data_files") or {}), **inputs.read_files()}
    datasets = list(record.get("datasets") or [])
    datasets += [d for d in inputs.read_datasets() if d not in datasets]
    if datasets:
        record["datasets"] = datasets
    models = {**(record.get("pretrained_models") or {}), **inputs.read_model_dirs()}
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


def finish_record(run_dir: Path, status: str, exit_code: int, error: str | None = None) -> dict:
    """Mark the run (and its latest session) as ended, with the files it read."""
    record = read_record(run_dir)
    end = now()
    record.update({"status": status, "exit_code": exit_code, "error": error, "end_time": end})
    # the largest of every session (a resumed run keeps the peak of the earlier ones)
    record["peak_gpu_memory_bytes"] = max(peak_gpu_memory() or 0, record.get("peak_gpu_memory_bytes") or 0) or None
    _add_inputs(record)
    if record.get("sessions"):
        record["sessions"][-1].update({"end_time": end, "status": status, "exit_code": exit_code})
    write_record(run_dir, record)
    return record
