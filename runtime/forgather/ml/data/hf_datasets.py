"""`load_dataset`: Hugging Face `datasets.load_dataset`, recorded for the run record.

The same call (same arguments, same result) that also notes what was read: every local data file
(path, size, sha256: the run record's `data_files`) and the dataset itself (the builder or path,
its config name, the split, the data files, and the fingerprint `datasets` gives the loaded
table: the run record's `datasets`). A config that reads its data this way can say which bytes a
run trained on; `datasets.load_dataset` called directly records nothing of its sources.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from ..run_inputs import note_dataset, note_file


def _local_files(data_files: Any) -> list[Path]:
    """The existing local files that `data_files` (a path or glob, a list, a dict of split ->
    those) names, sorted and unique."""
    if data_files is None:
        return []
    if isinstance(data_files, (str, os.PathLike)):
        patterns = [str(data_files)]
    elif isinstance(data_files, dict):
        patterns = [str(p) for v in data_files.values() for p in ([v] if isinstance(v, (str, os.PathLike)) else v)]
    else:
        patterns = [str(p) for p in data_files]
    found: dict[str, Path] = {}
    for pattern in patterns:
        matches = glob.glob(pattern, recursive=True) if glob.has_magic(pattern) else [pattern]
        for match in matches:
            path = Path(match)
            if path.is_file():
                found.setdefault(str(path.absolute()), path.absolute())
    return [found[k] for k in sorted(found)]


def _fingerprints(dataset: Any) -> Any:
    if hasattr(dataset, "_fingerprint"):
        return dataset._fingerprint
    if isinstance(dataset, dict):  # a DatasetDict: one fingerprint per split
        return {name: getattr(part, "_fingerprint", None) for name, part in dataset.items()}
    return None


def load_dataset(path: str, name: str | None = None, *, data_files: Any = None, split: str | None = None,
                 **kwargs: Any) -> Any:
    """``datasets.load_dataset(path, name, data_files=..., split=..., **kwargs)``, recorded (see
    the module docstring). A local data file is hashed when the dataset is loaded."""
    import datasets

    dataset = datasets.load_dataset(path, name, data_files=data_files, split=split, **kwargs)
    files = _local_files(data_files)
    for file in files:
        note_file(file)
    note_dataset({
        "path": str(path),
        "name": name,
        "split": split,
        "data_files": [str(f) for f in files],
        "fingerprint": _fingerprints(dataset),
        "num_rows": getattr(dataset, "num_rows", None),
    })
    return dataset
