"""Every config of a project checked in one process (`fgc check PROJECT_DIR --all`), as a
project's own CI would run it.

The configs share what does not depend on the config: parsed templates (a parse cache keyed by
file and text, so a base template read by fifty configs is parsed once) and the signature cache
(a module's signatures are read once). Each config is still one compilation of its own: its
loader, sub-template registry and Jinja environment are fresh, so nothing leaks between configs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..diagnostics import Diagnostic, has_errors
from . import Project


@dataclass
class ConfigResult:
    name: str
    path: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def check_all(
    project: Project,
    variables: Mapping[str, Any] | None = None,
    include_dirs: list[Path] | None = None,
    import_modules: bool = True,
) -> list[ConfigResult]:
    """Every config of `project` through the whole pipeline, in name order."""
    from ..imports.cache import SignatureCache, default_cache_dir
    from ..loader import ParseCache, TemplateSource, parse_kept
    from ..pipeline import backend, frontend

    source = TemplateSource(parse=ParseCache(parse_kept))
    cache = SignatureCache(default_cache_dir() if import_modules else None)
    results: list[ConfigResult] = []
    for name, path in project.configs().items():
        front = frontend(
            path,
            [*project.include_dirs, *(include_dirs or [])],
            dict(variables or {}),
            source,
            globals=project.globals,
        )
        comp = backend(front, import_modules=import_modules, use_black=False, cache=cache, code_text=False)
        results.append(ConfigResult(name, path, list(comp.diagnostics)))
    return results
