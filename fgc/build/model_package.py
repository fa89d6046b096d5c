"""`build/model/`: the generated `modeling.py` and every module it imports relatively.

The runtime's portable blocks (`forgather/ml/models/*.py`) are copied as files: they are found
through the installed package's location (`importlib.util.find_spec` of the top-level package
finds it without running it), or next to this source tree, and never imported, because the
compiler never imports the runtime. The package format is the runtime's (docs/runtime.md,
"Models"): a flat directory whose modules import each other with single-dot relative imports.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
from pathlib import Path
from typing import Iterable

from ..pyast import parse_python

ALWAYS = ("hf_causal",)  # the wrapper base every modeling.py builds on
_SOURCE_BLOCKS = Path(__file__).resolve().parents[2] / "runtime" / "forgather" / "ml" / "models"


class PackageError(Exception):
    """The model package cannot be assembled; the message says which file and why."""


def blocks_dir() -> Path:
    """The directory of the runtime's block modules."""
    spec = importlib.util.find_spec("forgather")
    for root in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(root) / "ml" / "models"
        if candidate.is_dir():
            return candidate
    if _SOURCE_BLOCKS.is_dir():
        return _SOURCE_BLOCKS
    raise PackageError("the runtime package `forgather` is not installed: its block modules cannot be copied")


def sibling_imports(source: str, filename: str) -> list[str]:
    """The sibling modules `source` imports (`from .x import y`, `from . import x`)."""
    try:
        tree = parse_python(source, filename)
    except SyntaxError as err:
        raise PackageError(f"{filename}:{err.lineno}: syntax error: {err.msg}") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.level):
            continue
        if node.level > 1 or (node.module and "." in node.module):
            raise PackageError(
                f"{filename}:{node.lineno}: 'from {'.' * node.level}{node.module or ''} import ...' leaves the "
                "flat model package; only single-dot imports of sibling modules are portable"
            )
        names.extend([node.module] if node.module else [a.name for a in node.names])
    return names


def package_files(modeling: str, user_modules: Iterable[str]) -> dict[str, Path]:
    """Module name -> file for everything `modeling` needs: each sibling import is looked for next
    to the file that imports it, then among `user_modules`, then among the runtime's blocks."""
    user: dict[str, Path] = {}
    for given in map(Path, user_modules):
        if not given.is_file():
            raise PackageError(f"module file not found: {given}")
        user[given.stem] = given.resolve()
    blocks = blocks_dir()
    found: dict[str, Path] = {}
    todo: list[tuple[str, str, Path | None]] = [(name, "modeling.py", None) for name in [*sibling_imports(modeling, "modeling.py"), *ALWAYS]]
    while todo:
        name, importer, here = todo.pop()
        candidates = ([here / f"{name}.py"] if here else []) + ([user[name]] if name in user else [])
        path = next((p.resolve() for p in [*candidates, blocks / f"{name}.py"] if p.is_file()), None)
        if path is None:
            raise PackageError(
                f"{importer}: imports .{name}, but there is no {name}.py next to it, among the given modules, "
                f"or among the blocks in {blocks}"
            )
        if name in found:
            if found[name] != path:
                raise PackageError(f"two different modules named {name}.py: {found[name]} and {path}; rename one")
            continue
        found[name] = path
        todo += [(sub, str(path), path.parent) for sub in sibling_imports(path.read_text(encoding="utf-8"), str(path))]
    for name, path in user.items():
        found.setdefault(name, path)  # named by the config: copied even if nothing imports it yet
    return found


def write_model_package(out_dir: Path, modeling: str, user_modules: Iterable[str] = ()) -> None:
    """Write `out_dir/` (inside the build's temporary directory, so no atomic dance of its own):
    `__init__.py`, `modeling.py` and a copy of every module it needs."""
    files = package_files(modeling, user_modules)
    if "modeling" in files:
        raise PackageError("a module named modeling.py would clash with the generated modeling.py; rename it")
    out_dir.mkdir(parents=True)
    (out_dir / "__init__.py").write_text("", encoding="utf-8")
    (out_dir / "modeling.py").write_text(modeling, encoding="utf-8")
    for name, path in files.items():
        shutil.copyfile(path, out_dir / f"{name}.py")
