"""The names a module exports, for completion after `!partial:torch.optim:`.

What `dir()` of the imported module holds is the truth (a package re-exports its submodules'
classes: `torch.optim` has `AdamW` through `from .adamw import AdamW`, `torch.nn` has `Linear`
through a `from .modules import *`), and it is kept in the on-disk signature cache (an entry
per module file, valid while the file and its distribution's version are unchanged), so that a
module is imported for it at most once. Where the module is not loaded yet, it is imported only
when `fgc.lsp.import` is `on` (the trust `fgc check` has), in a thread, under the lock import
resolution holds; otherwise, or when that import fails or takes too long, the names its source
defines or imports are read with `ast` (never running it).
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import os
import sys
from pathlib import Path

from ..imports.cache import SignatureCache, distribution_version
from ..pyast import exclusive
from .pysource import importable_file, parse_file_quickly

EXPORTS = "<exports>"  # the cache entry's attribute name
IMPORT_TIMEOUT_S = 5.0


class Exports:
    """Module name -> its public names; a cache of its own (the worker thread owns the
    workspace's), in the same directory."""

    def __init__(self, directory: Path | None, may_import: bool) -> None:
        self.cache = SignatureCache(directory, import_on_miss=False)
        self.may_import = may_import

    def _key(self, module_file: str) -> str:
        return module_file + "#exports"  # a file of its own: the checks' cache never writes it

    def known(self, module: str, file: str) -> list[str] | None:
        version = distribution_version(module.split(".")[0])
        hit = self.cache.get(self._key(file), EXPORTS, version)
        if hit is not None:
            return list(hit["names"])
        loaded = sys.modules.get(module)
        if loaded is None:
            return None
        names = public_names(loaded)
        self.cache.put(self._key(file), EXPORTS, version, {"names": names}, [file])
        self.cache.flush()
        return names

    async def names(self, module: str, here: str) -> list[str]:
        """The public names of `module` (found beside the template `here` or on sys.path)."""
        file = importable_file(module, [here])
        if file is None:
            return []
        names = self.known(module, file)
        if names is None and self.may_import and _importable_name(module):
            loop = asyncio.get_running_loop()
            try:
                await asyncio.wait_for(loop.run_in_executor(None, _import, module), IMPORT_TIMEOUT_S)
                names = self.known(module, file)
            except Exception:  # its top level failed, or it is slow: read its source instead
                names = None
        return names if names is not None else source_names(file)


def _importable_name(module: str) -> bool:
    return all(part.isidentifier() for part in module.split("."))


def _import(module: str) -> None:
    with exclusive():  # import resolution's lock: a module's import may convert ASTs
        importlib.import_module(module)


def public_names(module: object) -> list[str]:
    """`dir(module)` without private names (its `__all__` when it declares one)."""
    declared = getattr(module, "__all__", None)
    names = [str(n) for n in declared] if isinstance(declared, (list, tuple)) else dir(module)
    return sorted({n for n in names if not n.startswith("_")})


def source_names(file: str) -> list[str]:
    """The public names `file` defines or imports at its top level (its `__all__` when it
    declares one as a literal list)."""
    tree = parse_file_quickly(file)
    if tree is None:
        return []
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.ImportFrom):
            names.update(a.asname or a.name for a in stmt.names if a.name != "*")
        elif isinstance(stmt, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    if target.id == "__all__" and isinstance(stmt.value, (ast.List, ast.Tuple)):
                        declared = [e.value for e in stmt.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                        return sorted(n for n in declared if not n.startswith("_"))
                    names.add(target.id)
    return sorted(n for n in names if not n.startswith("_"))


def submodules(package: str, here: str) -> list[str]:
    """The modules of a package (or the top-level modules beside `here` and on sys.path), found
    by listing directories, never importing."""
    import pkgutil

    if not package:
        found = [m.name for m in pkgutil.iter_modules([here, *sys.path])]
    else:
        file = importable_file(package, [here])
        if file is None or not file.endswith("__init__.py"):
            return []
        found = [f"{package}.{m.name}" for m in pkgutil.iter_modules([os.path.dirname(file)])]
    return sorted({n for n in found if not n.rpartition(".")[2].startswith("_")})
