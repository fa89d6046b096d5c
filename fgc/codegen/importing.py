"""How generated code gets its callables: the two import strategies of the expression writer.

`ModuleImports` (config.py)        `from module import Attr`, grouped by module; local modules
                                   (`.mod:Attr`, `path/file.py:Attr`) loaded from the build's
                                   modules/ by the support function `local_module`; the build's
                                   own packages (model/) the same way.
`RelativeImports` (modeling.py)    the portable form: `from .block import Attr` for the runtime's
                                   block modules and for user modules (copied next to it),
                                   absolute imports for third-party packages only; anything else
                                   is refused with FG0723 (`Refused`).

Each hands out names from the module's `Namer`, so that an import never shadows another name.
"""

from __future__ import annotations

import ast
from abc import ABC, abstractmethod
from typing import Callable

from ..diagnostics import Diagnostic, error
from ..graph import Node
from ..imports.locate import Location
from ..imports.specs import Spec
from . import pytree as py
from .names import Namer

BLOCKS_PACKAGE = "forgather.ml.models"
# Modules of the blocks package that are not portable blocks (they need the rest of forgather).
_NOT_BLOCKS = ("dynamic", "package", "export", "convert")


class Refused(Exception):
    """A callable that this kind of module cannot import; carries the diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class ImportStrategy(ABC):
    def __init__(self, names: Namer) -> None:
        self.names = names
        self.imported: dict[tuple, str] = {}

    def _new_name(self, key: tuple, module: str, attr: str) -> str | None:
        """A fresh name for `attr` of `module` (None when `key` is imported already): the
        plain name if free, else prefixed with the module's last part."""
        if key in self.imported:
            return None
        wanted = attr if attr not in self.names.used else f"{module.split('.')[-1]}_{attr}"
        self.imported[key] = self.names.take(wanted)
        return self.imported[key]

    @abstractmethod
    def module(self, node: Node, spec: Spec) -> str:
        """The name bound to `spec.attrs[0]` of the installed module `spec.module`."""

    @abstractmethod
    def local(self, node: Node, spec: Spec, loc: Location) -> str:
        """The name bound to `spec.attrs[0]` of a local module."""

    @abstractmethod
    def helper(self, node: Node, spec: Spec) -> ast.expr:
        """The callable of a graph helper (`call`, `named_list`, `named_tuple`, `named_dict`)."""


class ModuleImports(ImportStrategy):
    """config.py: imports by module name; local modules from the build's modules/."""

    def __init__(self, names: Namer, local_dir_name: Callable[[str], str]) -> None:
        super().__init__(names)
        self.local_dir_name = local_dir_name
        self.from_imports: dict[tuple, ast.ImportFrom] = {}
        self.loaders: list[ast.stmt] = []  # `name = local_module(...).attr`, after the support code

    def module(self, node: Node, spec: Spec) -> str:
        assert spec.module is not None
        key = ("module", spec.module, spec.attrs[0])
        fresh = self._new_name(key, spec.module, spec.attrs[0])
        if fresh is not None:
            alias = ast.alias(name=spec.attrs[0], asname=None if fresh == spec.attrs[0] else fresh)
            self.from_imports[key] = ast.ImportFrom(module=spec.module, names=[alias], level=0)
        return self.imported[key]

    def local(self, node: Node, spec: Spec, loc: Location) -> str:
        assert loc.directory is not None and loc.local_name is not None
        directory = self.local_dir_name(loc.directory)
        search = tuple(self.local_dir_name(s) for s in loc.search)
        key = ("local", directory, loc.local_name, search, spec.attrs[0])
        fresh = self._new_name(key, loc.local_name, spec.attrs[0])
        if fresh is not None:
            args: list[ast.expr] = [ast.Constant(directory), ast.Constant(loc.local_name)]
            if search:
                args.append(ast.Tuple([ast.Constant(s) for s in search], ast.Load()))
            self.loaders.append(py.assign(fresh, py.attr(py.call(py.name("local_module"), args), spec.attrs[0])))
        return self.imported[key]

    def build_module(self, directory: str, module: str, attr: str) -> str:
        """A name for `attr` of `<build>/<directory>/<module>.py` (e.g. model/modeling.py)."""
        key = ("build", directory, module, attr)
        if key not in self.imported:
            self.imported[key] = self.names.take(attr)
            loader = py.call(
                py.name("local_module"),
                [ast.Constant(directory), ast.Constant(module)],
                [ast.keyword("root", py.name("BUILD"))],
            )
            self.loaders.append(py.assign(self.imported[key], py.attr(loader, attr)))
        return self.imported[key]

    def helper(self, node: Node, spec: Spec) -> ast.expr:
        return py.name(spec.text)  # the support code defines every helper

    def statements(self) -> list[ast.stmt]:
        """One `from module import a, b` per module, modules and names sorted."""
        by_module: dict[str, list[ast.alias]] = {}
        for key in sorted(self.from_imports, key=lambda k: (k[1], k[2])):
            stmt = self.from_imports[key]
            assert stmt.module is not None
            by_module.setdefault(stmt.module, []).extend(stmt.names)
        return [ast.ImportFrom(module=m, names=names, level=0) for m, names in by_module.items()]


class RelativeImports(ImportStrategy):
    """modeling.py of a model package: portable imports only (see the module docstring)."""

    def __init__(self, names: Namer) -> None:
        super().__init__(names)
        self.from_imports: list[ast.stmt] = []  # in the order of first use
        self.user_modules: list[str] = []  # local module files to copy next to modeling.py

    def _from(self, module: str, attr: str, level: int) -> str:
        fresh = self._new_name((module, attr, level), module, attr)
        if fresh is not None:
            alias = ast.alias(attr, None if fresh == attr else fresh)
            self.from_imports.append(ast.ImportFrom(module=module, names=[alias], level=level))
        return self.imported[(module, attr, level)]

    def module(self, node: Node, spec: Spec) -> str:
        module = spec.module or ""
        if module.startswith(BLOCKS_PACKAGE + "."):
            sub = module[len(BLOCKS_PACKAGE) + 1 :]
            if "." in sub or sub in _NOT_BLOCKS:
                raise Refused(error("FG0723", f"`{spec.text}` is not a portable block module of {BLOCKS_PACKAGE}", node.span))
            return self._from(sub, spec.attrs[0], level=1)
        if module == "forgather" or module.startswith("forgather."):
            raise Refused(
                error(
                    "FG0723",
                    f"`{spec.text}` cannot be part of a model definition: only the portable blocks "
                    f"({BLOCKS_PACKAGE}.<module>), user modules and third-party packages can",
                    node.span,
                )
            )
        return self._from(module, spec.attrs[0], level=0)

    def local(self, node: Node, spec: Spec, loc: Location) -> str:
        if "." in (loc.local_name or ""):
            raise Refused(
                error(
                    "FG0723",
                    f"`{spec.text}`: a model package is flat; name a module next to the template (`.module:Name`)",
                    node.span,
                )
            )
        if loc.file and loc.file not in self.user_modules:
            self.user_modules.append(loc.file)
        return self._from(loc.local_name or "", spec.attrs[0], level=1)

    def helper(self, node: Node, spec: Spec) -> ast.expr:
        if spec.text in ("named_list", "named_tuple"):
            raise Refused(error("FG0723", f"use `!{spec.text[6:]}` instead of `{spec.text}` in a model definition", node.span))
        if spec.text != "named_dict":
            raise Refused(error("FG0723", f"the graph helper `{spec.text}` cannot be used in a model definition", node.span))
        return py.name("dict")
