"""The signature cache of a recorded compilation (fgc/result_cache/inputs.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..imports.cache import SignatureCache
from .inputs import InputRecorder


class RecordingSignatureCache(SignatureCache):
    """The on-disk signature cache, noting the Python files each answer depends on."""

    def __init__(self, directory: Path | None, recorder: InputRecorder) -> None:
        super().__init__(directory)
        self.recorder = recorder

    def get(self, module_file: str, attr: str, version: str | None) -> dict | None:
        self.recorder.note_python_file(module_file)
        result = super().get(module_file, attr, version)
        if result is not None:
            for dep, _ in self._files[module_file]["entries"][attr]["deps"]:
                self.recorder.note_python_file(dep)
        return result

    def put(
        self, module_file: str, attr: str, version: str | None, result: dict[str, Any], deps: list[str]
    ) -> None:
        super().put(module_file, attr, version, result, deps)
        for dep in [module_file, *deps]:
            self.recorder.note_python_file(dep)
