"""The reverse index: for a template file, the experiments whose last check read it.

Each check records every file its compilation loaded (the input, its parents, included and
imported templates, stdlib templates). Editing a parent then re-checks exactly the experiments
that reach it, as a change to a file in rust-analyzer's database invalidates what depends on it.
"""

from __future__ import annotations

import os
from typing import Iterable


class ReverseIndex:
    def __init__(self) -> None:
        self._files_of: dict[str, frozenset[str]] = {}  # experiment -> files its check read

    def record(self, experiment: str, files: Iterable[str]) -> None:
        key = os.path.abspath(experiment)
        self._files_of[key] = frozenset(os.path.abspath(f) for f in files) | {key}

    def forget(self, experiment: str) -> None:
        self._files_of.pop(os.path.abspath(experiment), None)

    def files_of(self, experiment: str) -> frozenset[str]:
        return self._files_of.get(os.path.abspath(experiment), frozenset())

    def experiments_reaching(self, file: str) -> list[str]:
        """Every recorded experiment whose check read `file` (itself included), sorted."""
        key = os.path.abspath(file)
        return sorted(e for e, files in self._files_of.items() if key in files)
