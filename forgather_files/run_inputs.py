"""The local files a run read, with their sha256, for the run record.

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


def read_files() -> dict[str, dict]:
    """Every file noted so far: absolute path -> {"bytes", "sha256"}, in reading order."""
    with _lock:
        return {k: dict(v) for k, v in _files.items()}


def forget() -> None:
    """Start a new record (tests, or a notebook that runs several experiments)."""
    with _lock:
        _files.clear()
