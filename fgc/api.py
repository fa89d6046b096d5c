"""The Python API (mirrors the CLI): `fgc.check`, `fgc.compile`, `fgc.load`.

>>> diags = fgc.check("exp.fg")                     # a list of Diagnostic (empty when clean)
>>> build = fgc.compile("exp.fg", "build/exp")      # raises CompileError on errors
>>> config = fgc.load(build.dir)                    # the compiled module
>>> trainer = config.construct("main", hidden_size=512)
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Mapping, Sequence

from .diagnostics import Diagnostic, DiagnosticError, render_human, summary


class Diagnostics(list):
    """A list of diagnostics that prints like `fgc check` (also in a notebook)."""

    def __str__(self) -> str:
        return render_human(self) + summary(self) if self else "no problems"

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(str(self))}</pre>"

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self if d.is_error]


class CompileError(DiagnosticError):
    """The input has errors; `.diagnostics` holds them all."""

    def __str__(self) -> str:
        return str(Diagnostics(self.diagnostics))

    def _repr_html_(self) -> str:
        return Diagnostics(self.diagnostics)._repr_html_()


def check(
    path: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    import_modules: bool = True,
) -> Diagnostics:
    """Every diagnostic of the whole pipeline for `path` (template variables = `-D`)."""
    from .pipeline import compile_file

    comp = compile_file(
        path, include_dirs, variables, import_modules=import_modules, use_black=False, code_text=False
    )
    return Diagnostics(comp.diagnostics)


def compile(
    path: str | Path,
    out_dir: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    import_modules: bool = True,
):
    """Compile `path` into the build directory `out_dir`; returns the `fgc.build.Build`
    (`.dir`, `.targets`, `.variables`, `.load()`). Raises CompileError when the input has errors."""
    from .build import write_build
    from .pipeline import compile_file

    comp = compile_file(path, include_dirs, variables, import_modules=import_modules)
    if not comp.ok:
        raise CompileError(list(comp.diagnostics))
    return write_build(comp, out_dir, dict(variables or {}))


def load(build_dir: str | Path, force: bool = False) -> ModuleType:
    """Import a build's config.py: `.construct(target, **variables)`, `.TARGETS`, `.VARIABLES`."""
    from .build import load as load_build

    return load_build(build_dir, force=force)
