"""fgc: the Forgather compiler.

The pipeline (see docs/architecture.md): parse templates -> load -> template pass -> render
(with a source map) -> config parse -> semantic passes -> imports -> codegen -> build directory.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .version import __version__

if TYPE_CHECKING:
    from .api import Diagnostics
    from .build import Build


def check(
    path: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    import_modules: bool = True,
    overrides: Sequence[str] = (),
) -> Diagnostics:
    """Diagnostics of `path` (a list; empty when clean). See fgc.api.check."""
    from .api import check as _check

    return _check(path, include_dirs, variables, import_modules, overrides)


def compile(
    path: str | Path,
    out_dir: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    import_modules: bool = True,
    overrides: Sequence[str] = (),
) -> Build:
    """Compile `path` into the build directory `out_dir`. See fgc.api.compile."""
    from .api import compile as _compile

    return _compile(path, out_dir, include_dirs, variables, import_modules, overrides)


def load(build_dir: str | Path, force: bool = False) -> ModuleType:
    """The compiled module of a build (`construct`, `TARGETS`, `VARIABLES`). See fgc.api.load."""
    from .api import load as _load

    return _load(build_dir, force)


def from_project(
    project_dir: str | Path,
    config_template: str | None = None,
    targets: str | Sequence[str] = "",
    pp_debug: bool = False,
    pp_kwargs: Mapping[str, Any] | None = None,
    **config_kwargs: Any,
) -> Any:
    """Construct targets of another project's config, compiled on the fly. See fgc.api.from_project."""
    from .api import from_project as _from_project

    return _from_project(project_dir, config_template, targets, pp_debug, pp_kwargs, **config_kwargs)
