"""The on-disk signature cache: what a spec resolves to, without importing its module.

One JSON file per module file, named by a hash of its path. An entry is valid while the module
file's mtime and size, its distribution's version, and every file the entry depends on (the file
that defines the attribute, when it differs) are unchanged. Located in `<cache dir>/signatures/`
(`fgc.cache_dir`). Files are replaced atomically; past `LIMIT` files (module files seen once, in
directories since deleted, add up) the oldest half goes, as for the other caches.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..cache_dir import default_cache_dir, write_file
from ..version import __version__

LIMIT = 4096  # files kept at most
FORMAT = 4  # 2: parameters carry their annotation's type descriptor; 3: a signature says whether it
# is a wrapper's guess; 4: what a callable declares it does not implement (argument_rules.py)


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


@functools.lru_cache(maxsize=None)
def distribution_version(top_level: str) -> str | None:
    """Version of the distribution named like the top-level package (torch, transformers...)."""
    import importlib.metadata

    try:
        return importlib.metadata.version(top_level)
    except Exception:
        return None


class SignatureCache:
    def __init__(self, directory: Path | None, import_on_miss: bool = True) -> None:
        self.directory = directory
        # False: a miss is answered "not known" instead of importing the module (the language
        # server's `fgc.lsp.import = cached-only`, for folders whose code is not trusted).
        self.import_on_miss = import_on_miss
        self._files: dict[str, dict] = {}
        self._dirty: set[str] = set()

    def _path(self, module_file: str) -> Path:
        assert self.directory is not None
        digest = hashlib.sha1(module_file.encode()).hexdigest()[:20]
        return self.directory / "signatures" / f"{digest}.json"

    def _load(self, module_file: str, version: str | None) -> dict:
        data = self._files.get(module_file)
        if data is not None:
            return data
        data = {}
        if self.directory is not None:
            try:
                data = json.loads(self._path(module_file).read_text())
            except (OSError, ValueError):
                data = {}
        key = {
            "format": FORMAT,
            "fgc": __version__,
            "module_file": module_file,
            "stat": _stat(module_file),
            "version": version,
        }
        if data.get("key") != key:
            data = {"key": key, "entries": {}}
        self._files[module_file] = data
        return data

    def get(self, module_file: str, attr: str, version: str | None) -> dict | None:
        entry = self._load(module_file, version)["entries"].get(attr)
        if entry is None:
            return None
        if any(_stat(path) != stat for path, stat in entry["deps"]):
            return None
        return entry["result"]

    def put(
        self, module_file: str, attr: str, version: str | None, result: dict[str, Any], deps: list[str]
    ) -> None:
        data = self._load(module_file, version)
        data["entries"][attr] = {"deps": [[d, _stat(d)] for d in dict.fromkeys(deps)], "result": result}
        self._dirty.add(module_file)

    def flush(self) -> None:
        """Write the files changed by `put` (`cache_dir.write_file`: atomically, bounded in
        number, errors ignored: it is a cache)."""
        if self.directory is None:
            return
        for module_file in sorted(self._dirty):
            path = self._path(module_file)
            write_file(path.parent, path.name, json.dumps(self._files[module_file]).encode(), LIMIT)
        self._dirty.clear()
