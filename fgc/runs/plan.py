"""Where a run writes and with which values, decided before anything is imported.

`plan_run` reads the command line's intent (a build or a run directory, `--output-dir`,
`--resume`, the `--set` values) and returns a `Plan`, or raises `RunDirError` when the command
would write into another run or lose a file. A re-run of a run directory takes its recorded
`--set` values (new ones win); `--resume` continues the run in place from its newest complete
checkpoint; a resumed run that completed and is given no new value has nothing to do.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forgather_files.checkpoints import latest_checkpoint
from forgather_files.runs import COMPLETED, MANIFEST, RUNNING, is_run_dir, read_record

from .dirs import RunDirError, explicit_run_dir, new_run_dir

OUTPUT_DIR_VARIABLE = "output_dir"


@dataclass
class Plan:
    run_dir: Path | None = None  # None: the build writes no output (`output_dir: ~`)
    sets: dict[str, Any] = field(default_factory=dict)  # the values the target is built with
    resume_from: Path | None = None
    runs_root: Path | None = None  # whose `latest` points here once the run completes
    nothing_to_do: str | None = None  # why a --resume has nothing left to run


@dataclass
class Request:
    """What the command line asks for."""

    build_dir: Path  # a build or a run directory (absolute)
    variables: dict[str, Any]  # the manifest's variables
    given: dict[str, Any]  # the --set values
    output_dir: Path | None = None
    resume: bool = False


def plan_run(req: Request) -> Plan:
    plan = Plan()
    source_is_run = is_run_dir(req.build_dir)
    recorded = dict(read_record(req.build_dir).get("sets") or {}) if source_is_run else {}
    if not req.resume:
        recorded.pop(OUTPUT_DIR_VARIABLE, None)  # a re-run goes to a new directory of its own
    if req.output_dir is not None:
        plan.run_dir = explicit_run_dir(req.output_dir.absolute(), req.resume)
        if req.resume:
            theirs = plan.run_dir / MANIFEST
            if not theirs.is_file() or theirs.read_bytes() != (req.build_dir / MANIFEST).read_bytes():
                raise RunDirError(
                    f"--resume: {plan.run_dir} was made by another build; continue it with "
                    f"`fgc run {plan.run_dir} --resume`"
                )
            recorded = dict(read_record(plan.run_dir).get("sets") or {})
    elif req.resume:
        if not source_is_run:
            raise RunDirError(
                f"--resume: {req.build_dir} is a build, not a run directory; pass the run to continue "
                "(`fgc run RUN_DIR --resume`, or --output-dir RUN_DIR --resume)"
            )
        plan.run_dir = req.build_dir
    elif source_is_run:  # a re-run goes next to the run it repeats
        given_root = req.given.get(OUTPUT_DIR_VARIABLE)
        plan.runs_root = (Path(str(given_root)) if given_root is not None else req.build_dir.parent).absolute()
        plan.run_dir = new_run_dir(plan.runs_root)
    elif OUTPUT_DIR_VARIABLE in req.variables:
        entry = req.variables[OUTPUT_DIR_VARIABLE]
        root = req.given.get(OUTPUT_DIR_VARIABLE, entry.get("default"))
        if root is None and (OUTPUT_DIR_VARIABLE in req.given or "default" in entry):
            pass  # `output_dir: ~`: the config writes no output, so there is no run directory
        elif not isinstance(root, str) or not root:
            raise RunDirError(
                f"the build's `{OUTPUT_DIR_VARIABLE}` variable has no directory as its value; "
                f"pass --set {OUTPUT_DIR_VARIABLE}=DIR or --output-dir RUN_DIR"
            )
        else:
            plan.runs_root = Path(root).absolute()
            plan.run_dir = new_run_dir(plan.runs_root)
    plan.sets = {**recorded, **req.given}
    if req.resume:
        _plan_resume(plan, req, recorded)
    return plan


def _plan_resume(plan: Plan, req: Request, recorded: dict[str, Any]) -> None:
    if plan.run_dir is None:  # `output_dir: ~`
        raise RunDirError(f"--resume: the build's `{OUTPUT_DIR_VARIABLE}` is null, so there is no run to continue")
    record = read_record(plan.run_dir)
    refuse_a_live_run(plan.run_dir, record)
    plan.runs_root = Path(record["runs_root"]) if record.get("runs_root") else None
    plan.resume_from = latest_checkpoint(plan.run_dir)
    changed = {k: v for k, v in req.given.items() if recorded.get(k, object()) != v}
    if record.get("status") == COMPLETED and not changed:
        plan.nothing_to_do = (
            f"{plan.run_dir} completed"
            + (f" (its last checkpoint: {plan.resume_from.name})" if plan.resume_from else "")
            + "; nothing to resume (to train further, give the new values: "
            "--resume --set max_steps=N; to run it again: fgc run RUN_DIR)"
        )
        return
    if plan.resume_from is None:
        raise RunDirError(f"--resume: {plan.run_dir} has no checkpoint to continue from"
                          + no_checkpoint_reason(record))


def no_checkpoint_reason(record: dict[str, Any]) -> str:
    """Why a run may have no checkpoint, from its recorded variables: a trainer with
    `save_strategy: no` saves none unless the run is stopped (Ctrl-C, SIGTERM, `fgc ctl stop`)."""
    variables = record.get("variables") or {}
    if variables.get("save_strategy") == "no":
        return (
            ": its trainer saves none (save_strategy='no'), and it was not stopped by Ctrl-C, SIGTERM "
            "or `fgc ctl stop`, which write one; run it again with `fgc run RUN_DIR` (add --set "
            "save_strategy=steps --set save_steps=N to make it resumable)"
        )
    return ": it was stopped before its first checkpoint; run it again with `fgc run RUN_DIR`"


def refuse_a_live_run(run_dir: Path, record: dict[str, Any] | None = None) -> None:
    """Two processes never write one run: a run still marked running by a live process of this
    host is refused."""
    rec = read_record(run_dir) if record is None else record
    host = rec.get("host") or {}
    pid = host.get("pid")
    if rec.get("status") != RUNNING or host.get("hostname") != socket.gethostname() or not pid:
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return  # killed without a chance to mark the record: safe to continue
    except PermissionError:
        pass
    raise RunDirError(f"--resume: {run_dir} is still running (pid {pid})")


def resolved_variables(declared: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The value each variable gets: the one given, else its default, else how it is made."""
    out = {}
    for name, entry in declared.items():
        if name in values:
            out[name] = values[name]
        elif "default" in entry:
            out[name] = entry["default"]
        else:
            out[name] = "<required>" if entry.get("required") else "<built from the config>"
    return out


def target_values(variables: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """The keyword arguments of `construct`: the --set values, and the run directory as
    `output_dir` when the build has that variable."""
    values = dict(plan.sets)
    if plan.run_dir is not None and OUTPUT_DIR_VARIABLE in variables:
        values[OUTPUT_DIR_VARIABLE] = str(plan.run_dir)
    return values
