"""The files of a portable model package (docs/runtime.md, "Models").

A model package is a flat directory of Python files that import each other with single-dot
relative imports (`from .causal_lm import CausalLM`) and otherwise only the standard library,
torch and transformers: `__init__.py`, the generated `modeling.py`, and a copy of every module
in the closure of its relative imports. `fgc compile` writes one as `build/model/`;
`forgather.ml.models.export` copies one next to the weights. Which files belong to it is decided
here, for both; where the runtime's blocks are is the caller's to say.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from .atomic import StrPath

ALWAYS = ("hf_causal",)  # the wrapper base every modeling.py builds on
# How Python text is parsed: the compiler passes its own `ast.parse`, serialised across threads
# (fgc/pyast.py says why).
Parse = Callable[[str, str], ast.AST]


class PackageError(Exception):
    """A model package cannot be assembled; the message says which file and why."""


def relative_imports(source: str, filename: str, parse: Parse = ast.parse) -> list[str]:
    """The sibling modules `source` imports (`from .x import y`, `from . import x`)."""
    try:
        tree = parse(source, filename)
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


def import_closure(
    source: str,
    filename: str,
    *,
    blocks: Path,
    directory: Path | None = None,
    user_modules: Iterable[StrPath] = (),
    always: Iterable[str] = (),
    parse: Parse = ast.parse,
) -> dict[str, Path]:
    """Module name -> file of every module `source` imports relatively, transitively, plus
    `always` and every one of `user_modules` (named by the config: copied even if nothing
    imports it yet). A module `x` is looked for next to the file that imports it (`directory`
    for `source` itself), then among `user_modules` (paths), then among the `blocks`."""
    user: dict[str, Path] = {}
    for given in map(Path, user_modules):
        if not given.is_file():
            raise PackageError(f"module file not found: {given}")
        user[given.stem] = given.resolve()
    found: dict[str, Path] = {}
    todo: list[tuple[str, str, Path | None]] = [
        (name, filename, directory) for name in [*relative_imports(source, filename, parse), *always]
    ]
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
        text = path.read_text(encoding="utf-8")
        todo += [(sub, str(path), path.parent) for sub in relative_imports(text, str(path), parse)]
    for name, path in user.items():
        found.setdefault(name, path)
    return found


def package_files(
    modeling: str, *, blocks: Path, user_modules: Iterable[StrPath] = (), parse: Parse = ast.parse
) -> dict[str, Path]:
    """Module name -> file for everything a generated `modeling.py` needs, `hf_causal` included."""
    files = import_closure(
        modeling, "modeling.py", blocks=blocks, user_modules=user_modules, always=ALWAYS, parse=parse
    )
    if "modeling" in files:
        raise PackageError("a module named modeling.py would clash with the generated modeling.py; rename it")
    return files


def write_package(out_dir: Path, modeling: str, files: dict[str, Path]) -> None:
    """Write `__init__.py`, `modeling.py` and a copy of each of `files` into `out_dir`, a new
    directory (the caller makes the write atomic)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "__init__.py").write_text("", encoding="utf-8")
    (out_dir / "modeling.py").write_text(modeling, encoding="utf-8")
    for name, path in files.items():
        shutil.copyfile(path, out_dir / f"{name}.py")
