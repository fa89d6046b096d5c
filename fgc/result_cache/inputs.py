"""What one compilation read, recorded so that a cached result can be proved still valid.

`InputRecorder` hands the pipeline a template source (`source()`) and a signature cache
(`signature_cache()`) that note, as the compilation runs:

* every template file read, and every Python file a signature came from (the module and the
  file that defines the callable), with the sha256 of its bytes (None when it cannot be read);
* every search-path probe (`root/name` is a file or not), so that a template created earlier on
  the search path, which would now shadow the one read, makes the entry stale;
* where each local module (`.mod:f`, next to a template or in a `submodule_searchpath`) was
  looked for (`note_local_module`): a module created earlier on that path would now be used;
* for an installed module, the stat (mtime, size) of the `sys.path` entries up to the one that
  holds it, and of its directory (`note_installed_module`): a module or package created or
  installed there changes a directory's mtime.

Some inputs cannot be recorded this way, and make the result uncacheable (`volatile`): a
template that may read the clock (`now()`, `isotime()`...: its text calls or passes one), or a
directory listing (the did-you-mean of a template that is not found).

`still_valid()` re-checks everything recorded: stat, probe, read and hash; no parsing, no
import.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when recording only: checking a hit imports neither
    from ..imports.cache import SignatureCache
    from ..imports.locate import Location
    from ..pipeline import Compilation
    from ..loader import TemplateSource

# The template globals whose value changes from one run to the next (fgc/render/environment.py),
# called (`now()`) or passed on (`set t = now`, `f(now)`).
_CLOCK = re.compile(r"\b(?:now|utcnow|isotime|utcisotime|filetime|utcfiletime)\b\s*[()|,]|[=(,]\s*(?:now|utcnow|isotime|utcisotime|filetime|utcfiletime)\b")

# Import failures (cannot import, importing failed, no such attribute: the attribute may come
# from a file the recorder never saw): not cached, see `note_compilation`.
UNRECORDED_CODES = frozenset({"FG0601", "FG0602", "FG0603"})

Stat = list[int] | None  # [mtime_ns, size], None when the path does not exist


def stat_of(path: str) -> Stat:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class InputRecorder:
    def __init__(self) -> None:
        self.reads: dict[str, str | None] = {}  # template or Python file -> sha256 of its bytes
        self.probes: dict[str, bool] = {}  # search-path candidate -> is a file
        self.stats: dict[str, Stat] = {}  # directories where a new module would be found first
        self.volatile: list[str] = []  # why the result must not be cached

    # -- recording ----------------------------------------------------------------------------

    def source(self) -> TemplateSource:
        from ..loader import TemplateSource, parse_kept

        return TemplateSource(
            read_text=self._read_text, parse=parse_kept, is_file=self._is_file, list_files=self._list_files
        )

    def _read_text(self, path: str) -> str:
        try:
            data = Path(path).read_bytes()
        except OSError:
            self.reads[path] = None
            raise
        self.reads[path] = sha256_of(data)
        text = data.decode("utf-8")  # UnicodeDecodeError: the loader reports it, as the disk's
        if _CLOCK.search(text):
            self.volatile.append(f"{path} may read the clock")
        return text

    def _is_file(self, path: str) -> bool:
        found = os.path.isfile(path)
        self.probes[path] = found
        return found

    def _list_files(self, root: Path) -> list[str]:
        from ..loader import list_template_files

        self.volatile.append(f"listed {root}")
        return list_template_files(root)

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

    # -- checking -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"reads": self.reads, "probes": self.probes, "stats": self.stats}

    @staticmethod
    def still_valid(data: dict[str, Any]) -> bool:
        """Whether every input recorded in `data` (`to_json()`) is as it was."""
        for path, stat in data["stats"].items():
            if stat_of(path) != stat:
                return False
        for path, found in data["probes"].items():
            if os.path.isfile(path) != found:
                return False
        for path, digest in data["reads"].items():
            try:
                now: str | None = sha256_of(Path(path).read_bytes())
            except OSError:
                now = None
            if now != digest:
                return False
        return True
