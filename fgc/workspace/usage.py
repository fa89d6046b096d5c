"""Which experiments use a library template, found by reading the folders of the workspace.

A library template (one of fgc's stdlib, of an include directory, of a project's template
directories) is no experiment: checked alone it reports what only its users define (an alias of
theirs, a block they fill). The language server checks it through the experiments that use it,
which the editor may not have open: this module finds them. Every template file under the given
roots is read once (again when its modification time changes) and its `extends`, `include`,
`import` and `from` names resolved on its search path; the users of a template are the files
that reach it through those references, nearest first, and the experiments among them are the
users that are not library templates themselves.

The names are read with a pattern, not parsed: a reference built at render time (`extends
parent_name`) is not seen, so a user reached only that way is missed (the template is then
checked for its syntax alone, with a note that says so).
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

TEMPLATE_SUFFIXES = (".fg", ".yaml")
_REFERENCE = re.compile(r"""(?:\bextends|\binclude|\bimport|\bfrom)\s+['"]([^'"\n]+)['"]""")
_SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"})
# A build or run directory holds copies of the templates it compiled: not users.
_SAVED_MARKERS = ("fgc-manifest.json", "fgc-run.json", "pyvenv.cfg")
MAX_FILES = 5000
MAX_BYTES = 1 << 20


@dataclass
class _Read:
    mtime_ns: int
    names: list[str]


def template_files(roots: Iterable[Path]) -> Iterator[str]:
    """Every template file under `roots` (absolute), skipping hidden directories, build and run
    directories and virtual environments; at most MAX_FILES."""
    count = 0
    seen: set[str] = set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if any(m in filenames for m in _SAVED_MARKERS):
                dirnames[:] = []
                continue
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
            for f in sorted(filenames):
                if f.endswith(TEMPLATE_SUFFIXES):
                    path = os.path.abspath(os.path.join(dirpath, f))
                    if path in seen:
                        continue
                    seen.add(path)
                    yield path
                    count += 1
                    if count >= MAX_FILES:
                        return


class UsageIndex:
    """Template file -> the template names it references, kept across lookups."""

    def __init__(self) -> None:
        self._read: dict[str, _Read] = {}

    def names_in(self, path: str, read_text: Callable[[str], str]) -> list[str]:
        try:
            st = os.stat(path)
        except OSError:
            return []
        known = self._read.get(path)
        if known is not None and known.mtime_ns == st.st_mtime_ns:
            return known.names
        names: list[str] = []
        if st.st_size <= MAX_BYTES:
            try:
                names = list(dict.fromkeys(_REFERENCE.findall(read_text(path))))
            except (OSError, UnicodeDecodeError):
                names = []
        self._read[path] = _Read(st.st_mtime_ns, names)
        return names

    def forget(self) -> None:
        self._read.clear()

    def users(
        self,
        target: str,
        roots: Sequence[Path],
        search_roots: Callable[[str], Sequence[Path]],
        is_library: Callable[[str], bool],
        read_text: Callable[[str], str],
        limit: int = 3,
    ) -> list[str]:
        """Up to `limit` experiments that reach `target` (absolute), nearest first.
        `search_roots(file)` is where `file`'s template names are looked up."""
        target = os.path.abspath(target)
        used_by: dict[str, list[str]] = {}  # file -> the files that reference it
        for file in template_files(roots):
            for name in self.names_in(file, read_text):
                found = _resolve(name, search_roots(file))
                if found is not None and found != file:
                    used_by.setdefault(found, []).append(file)
        out: list[str] = []
        queue, seen = deque([target]), {target}
        while queue and len(out) < limit:
            for user in used_by.get(queue.popleft(), []):
                if user in seen:
                    continue
                seen.add(user)
                if is_library(user):
                    queue.append(user)
                else:
                    out.append(user)
                    if len(out) == limit:
                        break
        return out


def _resolve(name: str, roots: Sequence[Path]) -> str | None:
    if name.startswith("/") or ".." in name.split("/"):
        return None
    for root in roots:
        candidate = os.path.join(root, name)
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return None
