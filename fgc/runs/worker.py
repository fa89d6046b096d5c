"""A worker of an fgc launch: its file in the launch directory, and the values it runs with.

Each worker registers `ranks/rank-<r>.json` in the launch directory (`<run dir>/.fgc`) before it
imports anything heavy: its pid and host (the launcher signals its own node's workers by pid,
`fgc ctl status` shows them), the restart it belongs to, then how it ended (completed, stopped,
interrupted, failed with the error text the launcher prints once for the whole job).

Every worker, on every node and after every restart, takes the run's values from the run record
that node 0 wrote before the processes started (a node's own `--set` values that differ from it
are a warning, FG0731, and change nothing),
and resumes from the newest complete checkpoint of the run directory: the one `--resume` chose,
or a newer one written before a worker failed and torchrun restarted the group.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from forgather_files.checkpoints import latest_checkpoint
from forgather_files.runs import read_json, read_record, rank_file, write_json

from .plan import Plan
from .roles import NODE_RANK_ENV, NODE_SETS_ENV, process_rank

RUNNING, COMPLETED, STOPPED, INTERRUPTED, FAILED = "running", "completed", "stopped", "interrupted", "failed"


def register(launch_dir: Path, environ: Mapping[str, str]) -> Path:
    """Write this worker's file; the file of the process it replaces (torchrun restarted the
    group; the launcher of node 0 cleared the directory before the launch) goes to `previous`."""
    rank, local_rank, world_size = process_rank(environ)
    path = rank_file(launch_dir, rank)
    before = read_json(path)
    previous = list(before.pop("previous", None) or [])
    if before:
        previous.append(before)
    write_json(path, {
        "rank": rank, "local_rank": local_rank, "world_size": world_size,
        "node": int(environ.get(NODE_RANK_ENV, "0")), "host": socket.gethostname(), "pid": os.getpid(),
        "restart": int(environ.get("TORCHELASTIC_RESTART_COUNT", "0")), "start_time": time.time(),
        "status": RUNNING, "previous": previous,
    })
    return path


def finish(path: Path, status: str, **more: Any) -> None:
    """Record how this worker ended (`error`: the diagnostics as printed; `signal`)."""
    entry = read_json(path)
    entry.update({"status": status, "end_time": time.time(), **more})
    write_json(path, entry)


def ranks(launch_dir: Path) -> list[dict[str, Any]]:
    """The registered workers of a launch, by rank."""
    found = [read_json(p) for p in sorted((launch_dir / "ranks").glob("rank-*.json"))]
    return sorted((f for f in found if "rank" in f), key=lambda f: f["rank"])


def worker_plan(run_dir: Path | None, environ: Mapping[str, str]) -> tuple[Plan, str | None]:
    """The values (node 0's record) and the resume checkpoint (the newest) of a launched worker,
    and a warning when this node was given `--set` values that differ from the run's."""
    node_sets = json.loads(environ.get(NODE_SETS_ENV) or "{}")
    plan = Plan(run_dir=run_dir, sets=node_sets)
    if run_dir is None:
        return plan, None
    warning = None
    record = read_record(run_dir)
    plan.runs_root = Path(record["runs_root"]) if record.get("runs_root") else None
    recorded = record.get("sets")
    if isinstance(recorded, dict):
        node = environ.get(NODE_RANK_ENV, "0")
        differs = {k: v for k, v in node_sets.items() if recorded.get(k, object()) != v}
        if differs:
            shown = ", ".join(f"--set {k}={v!r} (the run's: {recorded[k]!r})" if k in recorded
                              else f"--set {k}={v!r} (the run's: not set)" for k, v in differs.items())
            warning = (f"node {node} was given {shown}: every node runs with the run's values, from its "
                       f"record (written by node 0); give the values to node 0, or the same to every node")
        plan.sets = dict(recorded)
    plan.resume_from = latest_checkpoint(run_dir)
    return plan, warning
