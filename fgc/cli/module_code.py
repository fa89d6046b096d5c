"""The compiled code of fgc's own modules, kept in one file per command between runs of `fgc`.

Python imports each of fgc's ~90 modules on its own: it looks the name up in its package's
directory, checks the source's time and size, then opens and reads its `__pycache__` file. A
command's modules are the same every run, so their code is kept together in the cache directory
(one marshal file per command, Python and optimization level) and a module is found and loaded
from there: one read for all of them, one `stat` of each source to check that it is unchanged.

A kept module is used only where Python's own import would find the very same file: a submodule
(its package already imported) whose package's first directory holds its source, which has the
kept time and size, in a directory whose listing has not changed since (a new file beside it
could shadow it). Anything else goes Python's way, and the file is written again at the end of
the command. The modules get `SourceFileLoader`s (source, resources and tracebacks as usual).

Used like `fgc/cli/dataclass_code.py`: by the `fgc` process of a compiler command, around the
whole command (fgc/cli/main.py).
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.machinery import ModuleSpec, SourceFileLoader
from types import CodeType
from typing import Any

KIND = "module-code"
OURS = ("fgc.", "forgather_files.")

# name -> (source path, is a package, source mtime_ns, source size, code)
Entry = tuple


def _home(origin: str, is_package: bool) -> str:
    """The directory in which a module's package finds it (a package's parent directory)."""
    where = os.path.dirname(origin)
    return os.path.dirname(where) if is_package else where


class _KeptLoader(SourceFileLoader):
    """A source file's loader whose code is the kept code (the same file's, unchanged)."""

    def __init__(self, fullname: str, path: str, code: CodeType, stamp: tuple[int, int]) -> None:
        super().__init__(fullname, path)
        self.code = code
        self.stamp = stamp  # the source's (mtime_ns, size) that the code is of

    def get_code(self, fullname: str) -> CodeType:
        return self.code


class _Finder:
    """Finds the kept modules; notes a module of ours that it could not serve."""

    def __init__(self, kept: dict[str, Entry], dirs: dict[str, int]) -> None:
        self.kept = kept
        self.dirs = dirs  # directory -> mtime_ns when the file was written
        self.seen: dict[str, int | None] = {}  # directory -> mtime_ns when first looked in
        self.missed: set[str] = set()  # names of ours that Python's import looked for

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if not name.startswith(OURS):
            return None
        package = sys.modules.get(name.rpartition(".")[0])
        search = getattr(package, "__path__", None)
        spec = self._spec(name, search[0]) if search else None
        if spec is None:
            self.missed.add(name)
        return spec

    def _spec(self, name: str, home: str) -> ModuleSpec | None:
        """The kept module `name` if it is the file that its package's directory `home` gives."""
        listed = self.dir_stamp(home)
        entry = self.kept.get(name)
        if entry is None or listed is None or listed != self.dirs.get(home):
            return None
        origin, is_package, mtime_ns, size, code = entry
        if _home(origin, is_package) != home:
            return None
        try:
            st = os.stat(origin)
        except OSError:
            return None
        if (st.st_mtime_ns, st.st_size) != (mtime_ns, size):
            return None
        loader = _KeptLoader(name, origin, code, (mtime_ns, size))
        spec = ModuleSpec(name, loader, origin=origin, is_package=is_package)
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [os.path.dirname(origin)]
        return spec

    def dir_stamp(self, directory: str) -> int | None:
        """The directory's mtime_ns when first looked in by this process (a listing that
        changes later is noticed by the next run)."""
        if directory not in self.seen:
            try:
                self.seen[directory] = os.stat(directory).st_mtime_ns
            except OSError:
                self.seen[directory] = None
        return self.seen[directory]


def _key() -> str | None:
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    command = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1].isidentifier() else "other"
    return f"{tag}-O{sys.flags.optimize}-{command}"


def _load(key: str) -> tuple[dict[str, Entry], dict[str, int]]:
    from ..cache_dir import read_marshalled

    kept = read_marshalled(KIND, key)
    if not (isinstance(kept, tuple) and len(kept) == 2 and all(isinstance(x, dict) for x in kept)):
        return {}, {}  # none, or damaged
    modules, dirs = kept
    ok = {k: v for k, v in modules.items() if isinstance(v, tuple) and len(v) == 5 and isinstance(v[4], CodeType)}
    return ok, dirs


def _entries(finder: _Finder) -> tuple[dict[str, Entry], dict[str, int]]:
    """Every submodule of ours imported from a source file, as kept entries: each with the
    source's stamp that its code is of, and its directory's stamp from when it was looked in."""
    modules: dict[str, Entry] = {}
    dirs: dict[str, int] = {}
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        if not name.startswith(OURS) or not isinstance(spec, ModuleSpec):
            continue
        loader, origin, is_package = spec.loader, spec.origin, spec.submodule_search_locations is not None
        if not isinstance(loader, SourceFileLoader) or not origin:
            continue
        home = _home(origin, is_package)
        listed = finder.dir_stamp(home)
        if listed is None:
            continue
        try:
            st = os.stat(origin)
            stamp = (st.st_mtime_ns, st.st_size)
            if isinstance(loader, _KeptLoader) and loader.stamp == stamp:
                code = loader.code
            else:  # Python's own reading of the file as it is now
                read = SourceFileLoader.get_code(loader, name)
                st = os.stat(origin)
                if read is None or (st.st_mtime_ns, st.st_size) != stamp:
                    continue  # changed while read
                code = read
        except (OSError, ImportError, SyntaxError, ValueError):
            continue
        dirs[home] = listed
        modules[name] = (origin, is_package, *stamp, code)
    # What earlier runs kept and this one did not import (`check --all` and `check -t` import
    # different modules): kept while its directory is as it was, so the two do not take turns.
    for name, entry in finder.kept.items():
        home = _home(entry[0], entry[1])
        recorded = finder.dirs.get(home)
        if name in modules or recorded is None or finder.dir_stamp(home) != recorded:
            continue
        dirs[home] = recorded  # (this run's stamp of it, where it has one, is the same)
        modules[name] = entry
    return modules, dirs


@contextmanager
def kept_module_code() -> Iterator[None]:
    """Within the block, fgc's modules are loaded from the command's kept file where it holds
    them unchanged; when one was not, the file is written anew at the end."""
    key = _key()
    if key is None:
        yield
        return
    finder = _Finder(*_load(key))
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        if any(name in sys.modules for name in finder.missed):  # (not a probe of an absent one)
            from ..cache_dir import write_entry

            write_entry(KIND, key, marshal.dumps(_entries(finder)))
