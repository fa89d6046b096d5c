"""What a run read, for the run record: local files with their sha256, pretrained model
directories (each file's sha256), datasets loaded through `datasets`.

The data readers (`forgather.ml.data`, through `forgather.ml.run_inputs`) call `note_file` for
every local file they read; `fgc run` writes `read_files()` into the run record (fgc-run.json)
when the run ends, so that a run says exactly which bytes it trained on (both layers import this
module, so they share its table in a process). The digest is taken when the file is read, so a file changed
later does not change what the record says was read.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_lock = threading.Lock()
_files: dict[str, dict] = {}
_model_dirs: dict[str, dict] = {}  # pretrained model directories: path -> {file: {bytes, sha256}}
_datasets: list[dict] = []  # datasets read through `datasets` (forgather.ml.data.hf_datasets)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def note_file(path: str | os.PathLike) -> None:
    """Record that this process read the local file `path` (absolute path, size, sha256)."""
    path = Path(path).absolute()
    key = str(path)
    with _lock:
        if key in _files:
            return
    try:
        entry = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    except OSError:
        return  # the reader reports a missing file itself
    with _lock:
        _files.setdefault(key, entry)


def note_model_dir(path: str | os.PathLike) -> None:
    """Record that this process loaded the pretrained model directory `path`: each file's size and
    sha256 (relative names), so that the run says exactly which weights it started from."""
    path = Path(path).absolute()
    key = str(path)
    with _lock:
        if key in _model_dirs:
            return
    files = {}
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        try:
            files[file.relative_to(path).as_posix()] = {"bytes": file.stat().st_size, "sha256": _sha256(file)}
        except OSError:
            continue
    with _lock:
        _model_dirs.setdefault(key, {"files": files})


def note_dataset(entry: dict) -> None:
    """Record a dataset loaded through `datasets` (its path, name, split, local data files and
    fingerprint: forgather.ml.data.hf_datasets); the same entry twice is recorded once."""
    with _lock:
        if entry not in _datasets:
            _datasets.append(dict(entry))


def read_datasets() -> list[dict]:
    """Every dataset noted so far, in loading order."""
    with _lock:
        return [dict(d) for d in _datasets]


def read_model_dirs() -> dict[str, dict]:
    """Every pretrained model directory noted so far: absolute path -> {"files": {name: {...}}}."""
    with _lock:
        return {k: {"files": dict(v["files"])} for k, v in _model_dirs.items()}


def read_files() -> dict[str, dict]:
    """Every file noted so far: absolute path -> {"bytes", "sha256"}, in reading order."""
    with _lock:
        return {k: dict(v) for k, v in _files.items()}


def forget() -> None:
    """Start a new record (tests, or a notebook that runs several experiments)."""
    with _lock:
        _files.clear()
        _model_dirs.clear()
        _datasets.clear()
