"""The on-disk store of whole-command results, and the key that names one.

An entry is one JSON file, `<cache>/results/<sha256 of the key>.json`, holding the key itself
(compared on load, so a hash collision is only a miss), the inputs the compilation read
(fgc/result_cache/inputs.py), and what the command printed (each stream's exact text) with its
exit code. The key is the command and its options, plus everything about the process a result
could depend on and that the inputs do not record: fgc's version and the stat of each of its
source files (an edited checkout of fgc is another compiler), the Python version, interpreter
and `sys.path`, the working directory and the environment variables the template globals read
(`HOME`, `USER`, `XDG_*`...).

Written atomically (a temporary file renamed over the entry); at most MAX_ENTRIES entries and
MAX_BYTES bytes, the least recently used evicted first (a hit refreshes an entry's mtime).
Every error is ignored: it is a cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable

from ..version import __version__
from ..recording import environment_key
from .inputs import InputRecorder, stat_of

FORMAT = 1
MAX_ENTRIES = 256
MAX_BYTES = 64 * 1024 * 1024


def cache_dir() -> Path | None:
    """Where results are kept: `$FGC_CACHE_DIR/results`, else the user cache directory
    (`$XDG_CACHE_HOME/fgc`, `~/.cache/fgc` on Linux); None when `FGC_NO_CACHE` is set."""
    if os.environ.get("FGC_NO_CACHE", "") not in ("", "0"):
        return None
    from ..cache_dir import default_cache_dir

    return default_cache_dir() / "results"


@functools.lru_cache(maxsize=1)
def fgc_fingerprint() -> str:
    """A hash of the stat of every file of the fgc package: an edit of fgc is another compiler."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(_files_under(str(root))):
        h.update(f"{path}\0{stat_of(path)}\n".encode())
    return h.hexdigest()


def _files_under(root: str) -> Iterable[str]:
    with os.scandir(root) as entries:
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if e.name != "__pycache__":
                    yield from _files_under(e.path)
            elif e.name.endswith((".py", ".fg", ".yaml", ".json")):
                yield e.path


def process_key() -> dict[str, Any]:
    """What a result may depend on besides its command line and the inputs it recorded."""
    return {
        "format": FORMAT,
        "fgc": __version__,
        "fgc_files": fgc_fingerprint(),
        "python": sys.version,
        "executable": sys.executable,
        "sys_path": sys.path,  # where each module used was found: fgc/result_cache/inputs.py
        **environment_key(),
    }


class ResultCache:
    """One command's entry: `replay()` it when valid, else run and `store()`."""

    def __init__(self, directory: Path, command: str, options: dict[str, Any]) -> None:
        self.directory = directory
        self.key = {"command": command, "options": options, "process": process_key()}
        digest = hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:32]
        self.path = directory / f"{digest}.json"

    def replay(self) -> int | None:
        """Print the stored outputs and return the exit code; None on a miss (no entry, another
        key, or an input that changed)."""
        try:
            entry = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != json.loads(json.dumps(self.key)):
            return None
        try:
            if not InputRecorder.still_valid(entry["inputs"]):
                return None
            outputs, code = entry["outputs"], int(entry["exit"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        for stream_name, text in outputs:
            stream = sys.stdout if stream_name == "stdout" else sys.stderr
            stream.write(text)
            stream.flush()
        try:
            os.utime(self.path)  # recently used: evicted last
        except OSError:
            pass
        return code

    def store(self, recorder: InputRecorder, outputs: list[tuple[str, str]], code: int) -> None:
        """Keep this run's result, unless it read something that cannot be recorded."""
        if recorder.volatile:
            return
        from forgather_files.atomic import write_text

        entry = {"key": self.key, "inputs": recorder.to_json(), "outputs": outputs, "exit": code}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_text(self.path, json.dumps(entry))
            evict(self.directory)
        except OSError:
            pass


def evict(directory: Path, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
    """Delete the least recently used entries beyond `max_entries` or `max_bytes` in total."""
    entries = []
    for p in directory.glob("*.json"):
        st = stat_of(str(p))
        if st is not None:
            entries.append((st[0], st[1], p))
    entries.sort(reverse=True)  # newest first
    total = 0
    for n, (_, size, p) in enumerate(entries):
        total += size
        if n >= max_entries or total > max_bytes:
            try:
                p.unlink()
            except OSError:
                pass
