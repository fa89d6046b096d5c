"""sweep.json, the record of a sweep directory (written to a temporary file, then renamed):

    fgc_sweep     1 (the format)
    definition    what makes the sweep: the experiment FILE, -I, the target, the search, its
                  seed and the axes (kind, name, choices); a re-run must give the same one
    trials        --trials (random and optuna; may grow between invocations)
    created, updated
    runs          one entry per combination, in the order they were planned:
                  name (its directory), values {axis: choice}, status (pending | running |
                  completed | failed | interrupted), exit_code, error (the last error line of its log),
                  attempts, seconds, peak_rss_kib, host, start_time, end_time, trials (optuna:
                  the numbers of the trials this run answered)

A run's own record (<name>/run/fgc-run.json, written by `fgc run`) decides whether it finished:
sweep.json says what the sweep last saw.
"""

from __future__ import annotations

import datetime
import json
from contextlib import contextmanager
from pathlib import Path

from forgather_files import atomic

SWEEP_FILE = "sweep.json"
FORMAT = 1


class SweepDirError(Exception):
    """A sweep directory that cannot be used for this command; the message says why."""


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def read_sweep(directory: Path) -> dict | None:
    path = directory / SWEEP_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SweepDirError(f"{path}: not a readable sweep record ({e})") from None


def write_sweep(directory: Path, record: dict) -> None:
    record["updated"] = now()
    atomic.write_text(directory / SWEEP_FILE, json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def differences(old: dict, new: dict) -> list[str]:
    """What differs between two definitions, in words (`axes`: the choices too)."""
    out = []
    for key in sorted(set(old) | set(new)):
        if key != "axes" and old.get(key) != new.get(key):
            out.append(f"{key}: {json.dumps(old.get(key))} -> {json.dumps(new.get(key))}")
    before = {(a["kind"], a["name"]): a["values"] for a in old.get("axes") or []}
    after = {(a["kind"], a["name"]): a["values"] for a in new.get("axes") or []}
    flags = {"define": "-D", "override": "--override", "set": "--set"}
    for key in [*before, *(k for k in after if k not in before)]:
        what = f"{flags.get(key[0], key[0])} {key[1]}"
        if key not in after:
            out.append(f"{what} was {','.join(before[key])}, now not given")
        elif key not in before:
            out.append(f"{what}={','.join(after[key])} is new")
        elif before[key] != after[key]:
            out.append(f"{what} was {','.join(before[key])}, now {','.join(after[key])}")
    if not out and [a["name"] for a in old.get("axes") or []] != [a["name"] for a in new.get("axes") or []]:
        out.append("the axes are given in another order")
    return out


def open_sweep(directory: Path, definition: dict, trials: int | None) -> dict:
    """The record of `directory` for this definition: a new one, or the existing one when the
    definition is the same (a re-run). A different definition is refused: the runs already there
    would not belong to it."""
    if directory.exists() and not directory.is_dir():
        raise SweepDirError(f"{directory}: exists and is not a directory")
    record = read_sweep(directory) if directory.is_dir() else None
    if record is None:
        if directory.is_dir() and any(p.name != ".sweep.lock" for p in directory.iterdir()):
            raise SweepDirError(f"{directory}: holds files and no {SWEEP_FILE}; refusing to write into it "
                                "(choose a new or empty directory with -o)")
        directory.mkdir(parents=True, exist_ok=True)
        return {"fgc_sweep": FORMAT, "definition": definition, "trials": trials, "created": now(),
                "updated": now(), "runs": []}
    changed = differences(record.get("definition") or {}, definition)
    if changed:
        raise SweepDirError(
            f"{directory} holds another sweep ({'; '.join(changed)}); a sweep directory keeps one "
            "definition: give a new -o SWEEP_DIR, or repeat the original command to continue it"
        )
    record["trials"] = trials
    return record


def find_run(record: dict, name: str) -> dict | None:
    return next((r for r in record["runs"] if r["name"] == name), None)


@contextmanager
def locked(directory: Path):
    """Hold the sweep directory: a second `fgc sweep` on it at the same time is refused."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(directory / ".sweep.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SweepDirError(f"{directory}: another `fgc sweep` is running on this directory") from None
        yield
