"""Run directories of `fgc run`: where a run writes, never into another run.

    <root>/<YYYYmmdd-HHMMSS>[-N]/   one run: the build snapshot, fgc-run.json, checkpoints, logs,
                                    the final model
    <root>/latest                   a symbolic link to the newest run of <root> that completed

<root> is the value of the build's `output_dir` variable (the stdlib's `runs/<config_name>`),
relative to the working directory. A new directory is made with an exclusive mkdir, so two runs
started in the same second get `-2`, `-3`, ... instead of sharing one. A directory that cannot be
made or written (a path under a file, no permission, a read-only file system) is a `RunDirError`
with the operating system's reason, never an exception out of `fgc run`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from forgather_files.checkpoints import latest_checkpoint
from forgather_files.runs import PROCESS_DIR, is_run_dir

from ..build import unwritable_reason

LATEST = "latest"

__all__ = ["LATEST", "RunDirError", "explicit_run_dir", "is_run_dir", "latest_checkpoint", "new_run_dir",
           "point_latest", "unwritable"]


class RunDirError(Exception):
    """A run directory that cannot be used; the message says why and what to do. `code` is the
    diagnostic: FG0706 for a directory the run may not use, FG0730 for one that cannot be made
    or written."""

    def __init__(self, message: str, code: str = "FG0706") -> None:
        super().__init__(message)
        self.code = code


def unwritable(path: Path, what: str, e: OSError) -> RunDirError:
    """The error for a directory that the operating system refuses to make or write."""
    return RunDirError(f"{what} `{path}` cannot be made: {unwritable_reason(path, e)}", code="FG0730")


def _mkdir(path: Path, what: str, *, exist_ok: bool) -> None:
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        raise
    except OSError as e:
        raise unwritable(path, what, e) from None


def new_run_dir(root: Path) -> Path:
    """Make and return a fresh run directory under `root` (`latest` moves when it completes)."""
    if root.exists() and not root.is_dir():
        raise RunDirError(f"the runs directory `{root}` is a file, not a directory", code="FG0730")
    _mkdir(root, "the runs directory", exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        path = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            _mkdir(path, "the run directory", exist_ok=False)
        except FileExistsError:
            continue
        return path
    raise RunDirError(f"{root}: cannot make a new run directory for {stamp}")


def point_latest(root: Path, run_dir: Path) -> None:
    """Replace `root/latest` by a relative symbolic link to `run_dir` (atomically: a new link,
    then a rename over the old one). Skipped where symbolic links cannot be made."""
    latest = root / LATEST
    if latest.exists() and not latest.is_symlink():
        return  # a user's own file or directory called `latest`: never replaced
    tmp = root / f".{LATEST}-{os.getpid()}"
    try:
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(run_dir.name, target_is_directory=True)
        os.replace(tmp, latest)
    except OSError:
        pass


def newest_run(root: Path) -> Path | None:
    """The most recently changed run directory under a runs root (None if there is none): what
    to point at when `root/latest` does not exist yet (no run completed)."""
    try:
        runs = [p for p in root.iterdir() if p.is_dir() and is_run_dir(p)]
    except OSError:
        return None
    return max(runs, key=lambda p: p.stat().st_mtime, default=None)


def _holds_files(path: Path) -> bool:
    """Anything but the process files a job left before it started (a queued SLURM job's)."""
    return any(p.name != PROCESS_DIR for p in path.iterdir())


def explicit_run_dir(path: Path, resume: bool) -> Path:
    """An `--output-dir`: a new or empty directory, or, with --resume, an existing run."""
    if path.exists() and not path.is_dir():
        raise RunDirError(f"--output-dir {path}: exists and is not a directory", code="FG0730")
    if path.is_dir() and _holds_files(path):
        if not is_run_dir(path):
            raise RunDirError(
                f"--output-dir {path}: the directory holds files and is not a run directory; "
                "refusing to write into it (choose a new or empty directory)"
            )
        if not resume:
            raise RunDirError(
                f"--output-dir {path}: the directory holds a run; refusing to write over it "
                "(choose a new directory, or pass --resume to continue that run)"
            )
    elif resume:
        raise RunDirError(f"--resume: {path} holds no run to continue")
    _mkdir(path, "--output-dir", exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise RunDirError(f"--output-dir `{path}` cannot be written: permission denied", code="FG0730")
    return path
