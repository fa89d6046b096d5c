"""A corpus that exists on every machine: the Python standard library's own ``.py`` files.

Selection and split are deterministic: files are ordered by a hash of their path relative to the
stdlib root (seeded), so the same Python version gives the same documents everywhere, and a file's
split does not depend on the file system's listing order.
"""

from __future__ import annotations

import hashlib
import math
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from ..run_inputs import note_file
from .text import DataError

# Directories whose files are not the stdlib's own source (or are huge generated tables).
_EXCLUDED_DIRS = {"site-packages", "dist-packages", "test", "tests", "__pycache__", "idle_test"}


@dataclass(frozen=True)
class CorpusSplit:
    """Train and eval documents, with the relative paths they came from."""

    train: list[str]
    eval: list[str]
    train_files: list[str] = field(default_factory=list)
    eval_files: list[str] = field(default_factory=list)


def stdlib_root() -> Path:
    """The directory of the running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path | None = None) -> list[Path]:
    """Every stdlib ``.py`` file outside test and third-party directories, sorted by relative path."""
    root = Path(root) if root is not None else stdlib_root()
    if not root.is_dir():
        raise DataError(f"{root}: the Python standard library directory does not exist")
    files = [
        path
        for path in root.rglob("*.py")
        if not _EXCLUDED_DIRS.intersection(path.relative_to(root).parts[:-1])
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _order_key(relpath: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{relpath}".encode()).hexdigest()


def stdlib_corpus(
    max_files: int | None = 200,
    *,
    eval_fraction: float = 0.1,
    seed: int = 0,
    min_bytes: int = 1_000,
    max_bytes: int = 60_000,
    root: Path | None = None,
) -> CorpusSplit:
    """Select up to ``max_files`` stdlib source files and split them into train and eval documents.

    Files between ``min_bytes`` and ``max_bytes`` are candidates; they are taken in a seeded hash
    order; the first ``ceil(n * eval_fraction)`` of the selection are the eval documents.
    """
    if not 0.0 <= eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be in [0, 1), got {eval_fraction}")
    root = Path(root) if root is not None else stdlib_root()
    candidates = []
    for path in stdlib_files(root):
        size = path.stat().st_size
        if min_bytes <= size <= max_bytes:
            candidates.append((_order_key(path.relative_to(root).as_posix(), seed), path))
    candidates.sort()
    texts: list[tuple[str, str]] = []
    for _, path in candidates:
        if max_files is not None and len(texts) >= max_files:
            break
        try:
            texts.append((path.relative_to(root).as_posix(), path.read_text(encoding="utf-8")))
            note_file(path)  # for the run record: what the run read
        except UnicodeDecodeError:
            continue  # a handful of stdlib files are latin-1 encoded test fixtures
    if not texts:
        raise DataError(f"{root}: no stdlib source files between {min_bytes} and {max_bytes} bytes")
    n_eval = math.ceil(len(texts) * eval_fraction) if eval_fraction > 0 else 0
    if n_eval >= len(texts):
        raise DataError(
            f"only {len(texts)} files selected: too few for an eval fraction of {eval_fraction}"
        )
    eval_part, train_part = texts[:n_eval], texts[n_eval:]
    return CorpusSplit(
        train=[text for _, text in train_part],
        eval=[text for _, text in eval_part],
        train_files=[name for name, _ in train_part],
        eval_files=[name for name, _ in eval_part],
    )
