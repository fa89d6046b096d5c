"""What one compilation read, recorded so that a cached result can be proved still valid.

`InputRecorder` is a `fgc.recording.Recording` (templates read, search-path probes, what makes
a result volatile, `still_valid()`) that also hands the pipeline a signature cache
(`signature_cache()`) and notes:

* every Python file a signature came from (the module and the file that defines the callable),
  with the sha256 of its bytes;
* where each local module (`.mod:f`, next to a template or in a `submodule_searchpath`) was
  looked for (`note_local_module`): a module created earlier on that path would now be used;
* for an installed module, the stat (mtime, size) of the `sys.path` entries up to the one that
  holds it, and of its directory (`note_installed_module`): a module or package created or
  installed there changes a directory's mtime.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..recording import Recording, Stat, sha256_of, stat_of

if TYPE_CHECKING:  # imported when recording only: checking a hit imports neither
    from ..imports.cache import SignatureCache
    from ..imports.locate import Location
    from ..loader import TemplateSource
    from ..pipeline import Compilation

__all__ = ["InputRecorder", "NotRecording", "Stat", "UNRECORDED_CODES", "sha256_of", "stat_of"]

# Import failures (cannot import, importing failed, no such attribute: the attribute may come
# from a file the recorder never saw): not cached, see `note_compilation`.
UNRECORDED_CODES = frozenset({"FG0601", "FG0602", "FG0603"})


class InputRecorder(Recording):
    def note_python_file(self, path: str) -> None:
        if path not in self.reads:
            try:
                self.reads[path] = sha256_of(Path(path).read_bytes())
            except OSError:
                self.reads[path] = None

    def note_compilation(self, comp: Compilation) -> bool:
        """Note where `comp`'s local modules were looked for; whether the recorder saw every
        input: False after an import failure (it depends on what is absent from sys.path), for
        a callable of a module without a file (a namespace package, a module made at run time:
        nothing to hash) and with a compile-time node (those read model sources and other
        projects themselves)."""
        if comp.imports is not None:
            for loc in comp.imports.locations.values():
                self.note_local_module(loc)
            for r in comp.imports.resolved.values():
                if r.location is not None and r.location.file is not None and not r.location.is_local:
                    self.note_installed_module(r.location.file)
            if any(r.location is not None and r.location.file is None for r in comp.imports.resolved.values()):
                return False
        if any(d.code in UNRECORDED_CODES for d in comp.diagnostics):
            return False
        return comp.compile_time is None or not comp.compile_time.planned

    def note_installed_module(self, file: str) -> None:
        """The directories where a new module would shadow `file`'s: the `sys.path` entries
        before the one that holds it (all of them when none does), that one, and its own."""
        entries = [os.path.abspath(p or ".") for p in sys.path]
        holder = next(
            (i for i, e in enumerate(entries) if file.startswith(e.rstrip(os.sep) + os.sep)), len(entries) - 1
        )
        for directory in [*entries[: holder + 1], os.path.dirname(file)]:
            self.stats.setdefault(directory, stat_of(directory))

    def note_local_module(self, loc: Location) -> None:
        """The files fgc.imports.locate probes for a local module: in its directory, then in
        each search directory, `name.py` and `name/__init__.py`."""
        if loc.local_name is None or loc.directory is None:
            return
        for directory in (loc.directory, *loc.search):
            base = os.path.join(directory, *loc.local_name.split("."))
            for candidate in (base + ".py", os.path.join(base, "__init__.py")):
                self.probes.setdefault(candidate, os.path.isfile(candidate))

    def signature_cache(self, directory: Path | None) -> SignatureCache:
        from .signatures import RecordingSignatureCache

        return RecordingSignatureCache(directory, self.note_python_file)


class NotRecording(InputRecorder):
    """The recorder's interface for a run whose result is not kept (`--no-cache`, FGC_NO_CACHE,
    an input the cache does not record): the disk as the loader reads it and the plain signature
    cache, with no template hashed and no Python file read for it."""

    def source(self) -> TemplateSource:
        from ..loader import DISK

        return DISK

    def signature_cache(self, directory: Path | None) -> SignatureCache:
        from ..imports.cache import SignatureCache

        return SignatureCache(directory)

    def note_compilation(self, comp: Compilation) -> bool:
        return False

