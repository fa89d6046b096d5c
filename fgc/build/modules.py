"""Local Python modules of a build: the files referenced by path or relative specs, plus the
modules they import relatively (transitively), copied under `modules/` so that the build runs
after its source tree is gone.

A local module lives in a directory D (the template's, or the `.py` file's) searched together
with its `submodule_searchpath` directories; `from .x import y` inside it resolves among those
roots, exactly as the private package that imports it at compile time and at run time does.
A module that is a package (`pkg/__init__.py`) is copied whole.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from ..imports.locate import Location
from ..pyast import parse_python


def _find(roots: list[str], dotted: str) -> tuple[str, str] | None:
    """(root, file) of module `dotted` (relative to the package roots)."""
    parts = dotted.split(".")
    for root in roots:
        base = os.path.join(root, *parts)
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return root, candidate
    return None


def _relative_imports(file: str, dotted: str) -> list[str]:
    """Dotted names (inside the package) of the modules `file` imports relatively."""
    try:
        tree = parse_python(Path(file).read_text(encoding="utf-8"), file)
    except (OSError, SyntaxError, ValueError):
        return []
    is_package = os.path.basename(file) == "__init__.py"
    here = dotted.split(".") if is_package else dotted.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
        if node.level - 1 > len(here):
            continue  # leaves the package: not ours to copy
        prefix = ".".join(base)
        if node.module:
            out.append(f"{prefix}.{node.module}" if prefix else node.module)
        for alias in node.names:  # `from . import x` (x may be a module)
            name = f"{prefix}.{node.module}" if node.module else prefix
            out.append(f"{name}.{alias.name}" if name else alias.name)
    return out


def local_module_files(locations: list[Location]) -> dict[str, str]:
    """Source file -> directory it belongs to (one of the package roots), for every file to copy."""
    files: dict[str, str] = {}
    for loc in locations:
        assert loc.directory is not None and loc.local_name is not None
        roots = [loc.directory, *loc.search]
        pending = [loc.local_name]
        seen: set[str] = set()
        while pending:
            dotted = pending.pop()
            if dotted in seen:
                continue
            seen.add(dotted)
            found = _find(roots, dotted)
            if found is None:
                continue  # an attribute imported from a package, or not ours
            root, file = found
            # Parent packages' __init__.py files, when they exist.
            parts = dotted.split(".")
            for i in range(1, len(parts)):
                init = os.path.join(root, *parts[:i], "__init__.py")
                if os.path.isfile(init):
                    files[init] = root
            if os.path.basename(file) == "__init__.py":
                for dirpath, dirnames, filenames in os.walk(os.path.dirname(file)):
                    dirnames[:] = [d for d in dirnames if d != "__pycache__"]
                    for f in filenames:
                        if f.endswith(".py"):
                            files[os.path.join(dirpath, f)] = root
            else:
                files[file] = root
            pending.extend(_relative_imports(file, dotted))
    return files
