"""Writing so that nothing is half-written: build next to the target, then rename over it.

A rename within one directory is atomic for a file; a directory cannot be renamed over a
non-empty one, so an existing directory is first renamed aside and deleted after the new one is
in place (a crash in between leaves a `.<name>.old-*` sibling, never a partial target).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

StrPath = str | os.PathLike[str]


def _suffix() -> str:
    """Eight random hex digits naming a temporary sibling (what uuid4().hex[:8] gave, without
    importing uuid, which imports platform)."""
    return os.urandom(4).hex()


def remove(path: StrPath) -> None:
    """Delete a file, link or directory tree; nothing if there is none."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def replace(src: StrPath, dst: StrPath) -> None:
    """Rename `src` to `dst` (in the same directory or file system). A file replaces a file in
    one rename; where `dst` is a directory, or `src` is one, an existing `dst` is renamed aside
    first and deleted after."""
    src, dst = Path(src), Path(dst)
    aside = (dst.is_dir() and not dst.is_symlink()) or (src.is_dir() and os.path.lexists(dst))
    if not aside:
        os.replace(src, dst)
        return
    old = dst.with_name(f".{dst.name}.old-{_suffix()}")
    os.replace(dst, old)
    os.replace(src, dst)
    remove(old)


@contextmanager
def new_directory(dest: StrPath) -> Iterator[Path]:
    """A fresh temporary directory next to `dest`, to fill: when the block ends it replaces
    `dest`; when the block raises it is deleted and `dest` left as it was."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # here: its imports (random, ...) are not needed on the paths that write files

    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
        replace(tmp, dest)
    finally:
        remove(tmp)  # gone already when it replaced dest


def write_bytes(path: StrPath, data: bytes) -> None:
    """Write `path` through a temporary sibling renamed over it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{_suffix()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        remove(tmp)  # gone already when it replaced path


def write_text(path: StrPath, text: str) -> None:
    """Write `path` (UTF-8) through a temporary sibling renamed over it."""
    write_bytes(path, text.encode("utf-8"))


def copy_replacing(source: StrPath, target: StrPath) -> None:
    """Copy the file or tree `source` (without `__pycache__`) to `target`, replacing it."""
    source, target = Path(source), Path(target)
    tmp = target.with_name(f".{target.name}.tmp-{_suffix()}")
    try:
        if source.is_dir():
            shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tmp)
        replace(tmp, target)
    finally:
        remove(tmp)
