"""Where fgc keeps what it caches on disk (signatures, check results, compiled templates):
`$FGC_CACHE_DIR`, else the user cache directory (`platformdirs.user_cache_dir("fgc")`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")

# platformdirs' rule on Linux (the XDG base directories): variable, default.
_XDG = {"cache": ("XDG_CACHE_HOME", "~/.cache"), "config": ("XDG_CONFIG_HOME", "~/.config")}


def default_cache_dir() -> Path:
    env = os.environ.get("FGC_CACHE_DIR")
    if env:
        return Path(env)
    return user_dir("cache", "fgc")


def user_dir(kind: str, app: str, author: str | None = None) -> Path:
    """`platformdirs.user_<kind>_dir(app, author)`. On Linux the XDG rule that platformdirs
    follows, without importing it (with what it imports, about 7 ms of a 170 ms `fgc check`)."""
    if sys.platform.startswith("linux") and kind in _XDG and "ANDROID_DATA" not in os.environ:
        variable, default = _XDG[kind]
        base = os.environ.get(variable, "").strip() or os.path.expanduser(default)
        return Path(base) / app
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(app, author))


def kept(
    kind: str,
    key: str,
    compute: Callable[[], T],
    accept: Callable[[object], bool],
    keep: Callable[[T], bool] = lambda _: True,
    limit: int = 4096,
) -> T:
    """`compute()`, kept pickled under `<cache dir>/<kind>/<key>` between processes: a kept value
    that unpickles and that `accept`s is returned instead (a damaged entry, or one written by
    another Python, is a miss); a computed value is kept when `keep` says so and it pickles (at
    most `limit` entries of the kind, `write_entry`)."""
    import pickle

    data = read_entry(kind, key)
    if data is not None:
        try:
            value = pickle.loads(data)
            if accept(value):
                return value
        except Exception:
            pass
    value = compute()
    if keep(value):
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # what does not pickle is only not kept
            return value
        write_entry(kind, key, data, limit)
    return value


def read_marshalled(kind: str, key: str) -> object | None:
    """The value kept marshalled under `<cache dir>/<kind>/<key>`; None when there is none or it
    does not load (damaged, or another Python's)."""
    import marshal

    data = read_entry(kind, key)
    if data is None:
        return None
    try:
        return marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None


def read_entry(kind: str, key: str) -> bytes | None:
    """The bytes kept under `<cache dir>/<kind>/<key>`, or None (absent or unreadable)."""
    try:
        return (default_cache_dir() / kind / key).read_bytes()
    except OSError:
        return None


def write_entry(kind: str, key: str, data: bytes, limit: int = 4096) -> None:
    """Keep `data` under `<cache dir>/<kind>/<key>` (`write_file`)."""
    write_file(default_cache_dir() / kind, key, data, limit)


def write_file(directory: Path, key: str, data: bytes, limit: int = 4096) -> None:
    """Keep `data` in `directory/key` (written atomically). Past `limit` files in the directory,
    counted at one write in 32 (counting costs more than writing one), the oldest half goes.
    A cache that cannot be written is only slower: errors are ignored."""
    import random

    from forgather_files.atomic import write_bytes

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
