"""Recompile a build (or a run directory, which holds a snapshot of its build) from the templates
and modules it saved: `fgc compile BUILD_OR_RUN_DIR -o NEW`.

The saved `sources/` and `modules/` are merged into one temporary tree laid out as the build
names them (layout.py): the input's directory at the top, `include-N/` for the N-th `-I`
directory, `stdlib/` for the template library. Compiling the saved input with `-I include-1 ...
-I stdlib` (in that order, before the installed template library) and the recorded `-D`
variables finds exactly the saved files under the same names, so the new build equals the old
one as long as the compiler is the same. Files that were outside all of those directories
(`external/...`) cannot be found again by relative names; they are reported.
"""

from __future__ import annotations

import platform
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..diagnostics import error
from . import BuildError, read_manifest


@dataclass
class SavedInput:
    path: Path  # the saved input template inside the tree
    include_dirs: list[Path] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    external: list[str] = field(default_factory=list)  # saved files outside the known directories
    globals: dict[str, Any] = field(default_factory=dict)  # the environment globals it rendered with
    overrides: list[str] = field(default_factory=list)  # the `--override`s it applied, as written
    manifest: dict[str, Any] = field(default_factory=dict)  # the saved build's manifest


def _include_number(name: str) -> int:
    m = re.match(r"include-(\d+)", name)
    assert m is not None, name  # called on the names that match
    return int(m.group(1))


def _restored_globals(saved: dict[str, Any]) -> dict[str, Any]:
    """The manifest's `template_globals` as they were: `uname` back to platform.uname_result."""
    out = dict(saved)
    if isinstance(out.get("uname"), dict):
        fields = ("system", "node", "release", "version", "machine")  # `processor` is computed
        out["uname"] = platform.uname_result(*(out["uname"].get(f, "") for f in fields))
    return out


@contextmanager
def saved_input(build_dir: str | Path) -> Iterator[SavedInput]:
    """The saved sources of `build_dir` as a temporary tree (removed on exit)."""
    build_dir = Path(build_dir)
    manifest = read_manifest(build_dir)
    sources = build_dir / "sources"
    if not sources.is_dir() or not manifest.get("input"):
        raise BuildError(error("FG0703", f"`{build_dir}` has no saved sources to recompile (no sources/)"))
    tree = Path(tempfile.mkdtemp(prefix="fgc-saved-sources-"))
    try:
        shutil.copytree(sources, tree, dirs_exist_ok=True)
        if (build_dir / "modules").is_dir():
            shutil.copytree(
                build_dir / "modules", tree, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        tops = [p.name for p in tree.iterdir() if p.is_dir()]
        includes = sorted((n for n in tops if re.fullmatch(r"include-\d+", n)), key=_include_number)
        include_dirs = [tree / n for n in includes]
        if (tree / "stdlib").is_dir():
            include_dirs.append(tree / "stdlib")
        external = [
            name
            for name in [*manifest.get("sources", {}), *manifest.get("modules", {})]
            if name.startswith("external/")
        ]
        yield SavedInput(
            tree / manifest["input"],
            include_dirs,
            dict(manifest.get("template_variables") or {}),
            external,
            _restored_globals(manifest.get("template_globals") or {}),
            [str(o) for o in manifest.get("overrides") or []],
            manifest,
        )
    finally:
        shutil.rmtree(tree, ignore_errors=True)
