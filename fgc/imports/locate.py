"""Find the source file of a module WITHOUT importing it (so a warm signature cache can answer
without importing torch), and import local modules under private package names.

`importlib.util.find_spec("a.b")` imports package `a` to read its `__path__`; instead we look
up the top-level package with `find_spec` and walk its submodules with
`importlib.machinery.PathFinder`, which only searches directories.

Local modules (files next to a template) are imported as submodules of a package made for
their directory (`_fgc_local_<hash>`), so relative imports between them work and two files
with the same name in different directories never collide.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types
from dataclasses import dataclass
from typing import Iterable

from .specs import Form, Spec


@dataclass(frozen=True)
class Location:
    """Where a spec's module lives.

    `import_name` is the name to import at compile time. For local modules `directory` is the
    directory that holds them (with `search`, extra directories of the same package) and
    `local_name` their dotted name inside it.
    """

    import_name: str
    file: str | None
    directory: str | None = None
    local_name: str | None = None
    search: tuple[str, ...] = ()

    @property
    def is_local(self) -> bool:
        return self.directory is not None


class NotFound(Exception):
    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


def local_package(directory: str, search: tuple[str, ...] = ()) -> str:
    """The private package name under which modules of `directory` are imported."""
    key = "\0".join((os.path.realpath(directory),) + tuple(os.path.realpath(s) for s in search))
    return "_fgc_local_" + hashlib.sha1(key.encode()).hexdigest()[:12]


def locate(spec: Spec, template_dir: str, search: tuple[str, ...] = ()) -> Location | None:
    """The module of a MODULE, RELATIVE or FILE spec; None for builtins and helpers.

    Raises NotFound (with did-you-mean candidates) when the module does not exist.
    """
    if spec.form in (Form.BUILTIN, Form.HELPER):
        return None
    if spec.form == Form.FILE:
        assert spec.path is not None
        directory = os.path.dirname(spec.path)
        if not os.path.isfile(spec.path):
            raise NotFound(f"no file `{spec.path}`", _py_names(directory, suffix=True))
        return _local(directory, spec.module or "", spec.path, search)
    if spec.form == Form.RELATIVE:
        assert spec.module
        # Next to the template, else in the node's `submodule_searchpath` (the reference's
        # `.causal_lm:CausalLM` with `submodule_searchpath: [model_src]`): the private package's
        # path is the template's directory and the search directories together.
        for directory in (template_dir, *search):
            file = _local_file(directory, spec.module)
            if file is not None:
                return _local(template_dir, spec.module, file, search)
        where = f"no module `{spec.module}` next to the template (in {template_dir})"
        if search:
            where += f" or in its submodule_searchpath ({', '.join(search)})"
        raise NotFound(where, sorted({n for d in (template_dir, *search) for n in _py_names(d)}))
    assert spec.module
    top = spec.module.split(".")[0]
    found = _find_top(top)
    if found is None:
        file = _local_file(template_dir, spec.module)
        if file is not None:
            return _local(template_dir, spec.module, file, search)
        raise NotFound(f"no module named `{top}`", _top_level_names())
    file, locations = found
    name = top
    for part in spec.module.split(".")[1:]:
        name = f"{name}.{part}"
        if locations is None:
            # `top` is a plain module: `a.b` can only exist if `a` makes it at import time.
            return Location(spec.module, None)
        sub = importlib.machinery.PathFinder.find_spec(name, list(locations))
        if sub is None:
            raise NotFound(
                f"no module named `{name}`",
                [f"{name.rsplit('.', 1)[0]}.{n}" for n in _py_names_in(locations)],
            )
        file = sub.origin if sub.has_location else None
        locations = sub.submodule_search_locations
    return Location(spec.module, file)


def split_colonless(spec: Spec, template_dir: str) -> Spec:
    """The MODULE spec a dotted spec without `:` means: the longest prefix that is a module
    (found without importing), the rest the attribute path; `a.b.C` -> `a.b:C` when no prefix is
    found (the resolver then reports what is missing)."""
    assert spec.colonless and spec.module is not None
    parts = (*spec.module.split("."), *spec.attrs)
    for cut in range(len(parts) - 1, 0, -1):
        candidate = Spec(spec.text, Form.MODULE, ".".join(parts[:cut]), parts[cut:], colonless=True)
        try:
            locate(candidate, template_dir)
        except NotFound:
            continue
        return candidate
    return spec


def _find_top(top: str) -> tuple[str | None, list[str] | None] | None:
    mod = sys.modules.get(top)
    if mod is not None:
        return getattr(mod, "__file__", None), list(getattr(mod, "__path__", []) or []) or None
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    file = spec.origin if spec.has_location else None
    locs = spec.submodule_search_locations
    return file, (list(locs) if locs is not None else None)


def _local(directory: str, name: str, file: str, search: tuple[str, ...]) -> Location:
    pkg = local_package(directory, search)
    return Location(f"{pkg}.{name}", file, directory, name, search)


def _local_file(directory: str, dotted: str) -> str | None:
    base = os.path.join(directory, *dotted.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def _py_names(directory: str, suffix: bool = False) -> list[str]:
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(n if suffix else n[:-3] for n in names if n.endswith(".py"))


def _py_names_in(locations: Iterable[str]) -> list[str]:
    import pkgutil

    return sorted({m.name for m in pkgutil.iter_modules(list(locations))})


def _top_level_names() -> list[str]:
    import pkgutil

    names = set(sys.builtin_module_names)
    names.update(m.name for m in pkgutil.iter_modules())
    return sorted(names)


def import_location(loc: Location) -> types.ModuleType:
    """Import the module of `loc` (creating the private package of a local module)."""
    if loc.is_local:
        assert loc.local_name is not None  # a local module's name inside its directory
        pkg = loc.import_name[: -len(loc.local_name) - 1]
        if pkg not in sys.modules:
            package = types.ModuleType(pkg)
            package.__path__ = [loc.directory, *loc.search]  # type: ignore[list-item]
            package.__package__ = pkg
            sys.modules[pkg] = package
    importlib.invalidate_caches()
    return importlib.import_module(loc.import_name)


def relative_import_hint(loc: Location, exc: BaseException) -> str | None:
    """For a local module whose `import helpers` failed although `helpers.py` lies beside it:
    local modules are imported inside a package, so a sibling is `from .helpers import ...`."""
    missing = getattr(exc, "name", None)
    if not (loc.is_local and isinstance(exc, ModuleNotFoundError) and missing):
        return None
    top = missing.split(".")[0]
    for directory in (loc.directory, *loc.search):
        if directory and (os.path.isfile(os.path.join(directory, top + ".py")) or os.path.isdir(os.path.join(directory, top))):
            return (
                f"`{top}` is a module beside it: fgc imports local modules as a package, so a "
                f"sibling is imported relatively: `from .{missing} import ...` (or `from . import {top}`)"
            )
    return None


def forget_local_modules() -> None:
    """Drop every module imported from a local directory (the next compilation re-reads them)."""
    for name in [n for n in list(sys.modules) if n.startswith("_fgc_local_")]:
        del sys.modules[name]
