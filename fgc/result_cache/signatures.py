"""The signature cache of a recorded compilation (fgc/result_cache/inputs.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..imports.cache import SignatureCache


class RecordingSignatureCache(SignatureCache):
    """The on-disk signature cache, noting the Python files each answer depends on (`note`: the
    recorder's `note_python_file`, passed in so that this module does not depend on it)."""

    def __init__(self, directory: Path | None, note: Callable[[str], None]) -> None:
        super().__init__(directory)
        self.note = note

    def get(self, module_file: str, attr: str, version: str | None) -> dict | None:
        self.note(module_file)
        result = super().get(module_file, attr, version)
        if result is not None:
            for dep, _ in self._files[module_file]["entries"][attr]["deps"]:
                self.note(dep)
        return result

    def put(
        self, module_file: str, attr: str, version: str | None, result: dict[str, Any], deps: list[str]
    ) -> None:
        super().put(module_file, attr, version, result, deps)
        for dep in [module_file, *deps]:
            self.note(dep)
