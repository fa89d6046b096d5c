"""Where fgc keeps what it caches on disk (signatures, check results, compiled templates):
`$FGC_CACHE_DIR`, else the user cache directory (`platformdirs.user_cache_dir("fgc")`)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    env = os.environ.get("FGC_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("fgc"))


def read_entry(kind: str, key: str) -> bytes | None:
    """The bytes kept under `<cache dir>/<kind>/<key>`, or None (absent or unreadable)."""
    try:
        return (default_cache_dir() / kind / key).read_bytes()
    except OSError:
        return None


def write_entry(kind: str, key: str, data: bytes, limit: int = 4096) -> None:
    """Keep `data` under `<cache dir>/<kind>/<key>` (written atomically). Past `limit` entries,
    counted at one write in 32 (counting costs more than writing one), the oldest half goes.
    A cache that cannot be written is only slower: errors are ignored."""
    import random

    from forgather_files.atomic import write_bytes

    directory = default_cache_dir() / kind
    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_bytes(directory / key, data)
        if random.random() < 1 / 32:
            trim(directory, limit)
    except OSError:
        pass


def trim(directory: Path, limit: int) -> None:
    """Remove the oldest half of the files in `directory` when there are more than `limit`."""
    entries = list(os.scandir(directory))
    if len(entries) <= limit:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for entry in entries[: len(entries) // 2]:
        try:
            os.remove(entry.path)
        except OSError:
            pass
