"""Names of files inside a build: `sources/` (templates) and `modules/` (local Python modules).

A template or module directory gets a name relative to the input file's directory when it lies
below it, `stdlib/...` for the template library, `include-N/...` for the N-th `-I` directory,
and `external/<absolute path>` otherwise. Names are unique by construction (two files with the
same basename in different directories never collide) and are also what messages show
(`experiment.fg:12:5`), so a build's messages read like the user's tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..loader import SearchPath


def _below(path: str, root: str) -> str | None:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return None
    if rel == ".":
        return "."
    return None if rel.startswith("..") else rel


@dataclass
class Layout:
    """Where a build directory puts the files of its inputs."""
    search: SearchPath  # the compilation's, as rendering computed it
    _names: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def input_dir(self) -> str:
        return str(self.search.input_dir)

    @property
    def include_dirs(self) -> list[str]:
        return [str(d) for d in self.search.include_dirs]

    def name(self, path: str) -> str:
        """The build-relative name of a file or directory (POSIX separators)."""
        if path not in self._names:
            self._names[path] = self._name(path)
        return self._names[path]

    def _name(self, path: str) -> str:
        path = os.path.abspath(path)
        rel = _below(path, self.input_dir)
        if rel is None:
            rel = _below(path, str(self.search.stdlib.resolve()))
            if rel is not None:
                rel = "stdlib" if rel == "." else f"stdlib/{rel}"
        if rel is None:
            for i, d in enumerate(self.include_dirs, 1):
                r = _below(path, d)
                if r is not None:
                    rel = f"include-{i}" if r == "." else f"include-{i}/{r}"
                    break
        if rel is None:
            rel = "external/" + path.lstrip(os.sep)
        return rel.replace(os.sep, "/")

    def source_name(self, path: str) -> str:
        return self.name(path)

    def module_dir_name(self, directory: str) -> str:
        return self.name(directory)
