"""Run directories of `fgc run`: where a run writes, never into another run.

    <root>/<YYYYmmdd-HHMMSS>[-N]/   one run: the build snapshot, fgc-run.json, checkpoints, logs,
                                    the final model
    <root>/latest                   a symbolic link to the newest run of <root>

<root> is the value of the build's `output_dir` variable (the stdlib's `runs/<config_name>`),
relative to the working directory. A new directory is made with an exclusive mkdir, so two runs
started in the same second get `-2`, `-3`, ... instead of sharing one.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from forgather_files.atomic import copy_replacing

RUN_RECORD = "fgc-run.json"
LATEST = "latest"
# What `fgc compile` writes that documents a run (TrainingScript copies the same entries).
SNAPSHOT_ENTRIES = (
    "config.py",
    "config.yaml",
    "fgc-manifest.json",
    "graph.json",
    "sources",
    "modules",
    "model",
)
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class RunDirError(Exception):
    """A run directory that cannot be used; the message says why and what to do."""


def is_run_dir(path: Path) -> bool:
    return (path / RUN_RECORD).is_file()


def new_run_dir(root: Path) -> Path:
    """Make and return a fresh run directory under `root` and point `root/latest` at it."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        path = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        point_latest(root, path)
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


def explicit_run_dir(path: Path, resume: bool) -> Path:
    """An `--output-dir`: a new or empty directory, or, with --resume, an existing run."""
    if path.exists() and not path.is_dir():
        raise RunDirError(f"--output-dir {path}: exists and is not a directory")
    if path.is_dir() and any(path.iterdir()):
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
    path.mkdir(parents=True, exist_ok=True)
    return path


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The complete `checkpoint-<step>` directory with the highest step (a checkpoint is written
    to a temporary name and renamed, so a listed one is complete)."""
    found = []
    for p in run_dir.iterdir() if run_dir.is_dir() else ():
        m = _CHECKPOINT.match(p.name)
        if m and p.is_dir() and (p / "trainer_state.json").is_file():
            found.append((int(m.group(1)), p))
    return max(found)[1] if found else None


def copy_snapshot(build_dir: Path, run_dir: Path) -> list[str]:
    """Copy the build's files into the run directory (each entry through a temporary name).
    Nothing is copied when the run directory already holds the same build (a resumed run, or a
    re-run of this run directory itself)."""
    if build_dir.resolve() == run_dir.resolve():
        return [n for n in SNAPSHOT_ENTRIES if (run_dir / n).exists()]
    manifest = run_dir / "fgc-manifest.json"
    if manifest.is_file() and manifest.read_bytes() == (build_dir / "fgc-manifest.json").read_bytes():
        return [n for n in SNAPSHOT_ENTRIES if (run_dir / n).exists()]
    copied = []
    for name in SNAPSHOT_ENTRIES:
        source = build_dir / name
        if not source.exists():
            continue
        copy_replacing(source, run_dir / name)
        copied.append(name)
    return copied
