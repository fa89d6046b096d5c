"""Helpers of the run tests: the `fgc` command in a subprocess, run directories and their files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from stdlib_testlib import tiny_project  # conftest.py puts tests/stdlib on the path

# A tiny training project, 20 steps with a loss logged at each, checkpoints at 10 and 20.
TRAIN_SETS = ["max_steps=20", "logging_steps=1", "save_steps=10", "eval_strategy=no"]


def fgc(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fgc", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
    )


def start_fgc(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fgc", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def compile_tiny(root: Path, blocks: str = "", subtemplates: str = "", files: dict[str, str] | None = None) -> Path:
    """The tiny project (plus `blocks`, `subtemplates`, and `files` next to it) compiled into
    root/build."""
    write(root, {"exp.fg": tiny_project(blocks, subtemplates), **(files or {})})
    done = fgc("compile", root / "exp.fg", "-o", root / "build")
    assert done.returncode == 0, done.stderr
    return root / "build"


def run_dirs(root: Path) -> list[Path]:
    """The run directories under a runs root, oldest first (names are timestamps)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())


def record(run_dir: Path) -> dict:
    return json.loads((run_dir / "fgc-run.json").read_text())


def losses(run_dir: Path) -> list[float]:
    """Every training loss logged in the run directory's trainer_logs.jsonl files (sessions in
    order)."""
    out = []
    for path in sorted(run_dir.glob("runs/*/trainer_logs.jsonl")):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if "loss" in entry:
                out.append(entry["loss"])
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` (a file added, removed or changed changes it)."""
    return {p.relative_to(root).as_posix(): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}
