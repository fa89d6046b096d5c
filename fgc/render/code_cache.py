"""Compiled templates on disk: jinja2's Python code for a lowered template, kept between
processes so that a command-line run does not generate and compile it again (about a tenth of a
cold `fgc render`).

The key is everything the code depends on: the lowered text (the template's whole content with
its origin markers), its jinja2 name and file name, the environment's settings, jinja2's and
Python's versions (marshal's format). Entries are marshalled code objects in
`<cache dir>/templates/`, written atomically; past `LIMIT` files (counted at one write in 32)
the oldest half is removed. A damaged or unreadable entry is a miss. The language server's `Reuse` keeps code in memory
instead and never reads here.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import random
import sys
import types
from pathlib import Path

import jinja2
from forgather_files.atomic import write_bytes

from ..cache_dir import default_cache_dir
from ..syntax.jinja_env import SETTINGS

LIMIT = 4096
_SALT = repr(("sandboxed", jinja2.__version__, sys.version_info[:3], sorted(SETTINGS.items(), key=lambda kv: kv[0]))).encode()


def _directory() -> Path:
    return default_cache_dir() / "templates"


def _path(filename: str, name: str, lowered: str) -> Path:
    h = hashlib.sha256(_SALT)
    for part in (filename, name, lowered):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return _directory() / f"{h.hexdigest()}.code"


def load(filename: str, name: str, lowered: str) -> types.CodeType | None:
    try:
        code = marshal.loads(_path(filename, name, lowered).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


def store(filename: str, name: str, lowered: str, code: types.CodeType) -> None:
    path = _path(filename, name, lowered)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, marshal.dumps(code))
        if random.random() < 1 / 32:  # counting the entries costs more than writing one
            _trim(path.parent)
    except OSError:
        pass  # a cache that cannot be written is only slower


def _trim(directory: Path) -> None:
    entries = list(os.scandir(directory))
    if len(entries) <= LIMIT:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for entry in entries[: len(entries) // 2]:
        try:
            os.remove(entry.path)
        except OSError:
            pass
