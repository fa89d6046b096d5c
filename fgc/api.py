"""The Python API (mirrors the CLI): `fgc.check`, `fgc.compile`, `fgc.load`.

>>> diags = fgc.check("exp.fg")                     # a list of Diagnostic (empty when clean)
>>> build = fgc.compile("exp.fg", "build/exp")      # raises CompileError on errors
>>> config = fgc.load(build.dir)                    # the compiled module
>>> trainer = config.construct("main", hidden_size=512)
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .diagnostics import Diagnostic, DiagnosticError, render_human, summary

if TYPE_CHECKING:
    from .analysis.inputs import Input
    from .build import Build


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


def _resolve(
    path: str | Path, config: str | None, include_dirs: Sequence[str | Path], variables: Mapping[str, Any] | None
) -> Input | None:
    """The input resolver of the command line and the language server (fgc/analysis/inputs.py):
    a PROJECT_DIR or a project's config file gets the project's search path and globals. None
    for a file that does not exist (the pipeline reports it); CompileError when a project cannot
    be read, ValueError for a config name without a project."""
    from .analysis.inputs import InputDiagnostics, InputError, resolve_input

    if config is None and not Path(path).exists():
        return None
    try:
        return resolve_input(path, config, include_dirs, variables)
    except InputDiagnostics as e:
        raise CompileError(e.diagnostics) from None
    except InputError as e:
        raise ValueError(str(e)) from None


def check(
    path: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    import_modules: bool = True,
    overrides: Sequence[str] = (),
    config: str | None = None,
) -> Diagnostics:
    """Every diagnostic of the whole pipeline for `path` (template variables = `-D`; overrides
    = `--override KEY.PATH=VALUE`, docs/tools.md: a malformed one raises ValueError). `path` may
    be a PROJECT_DIR (`config`: its config, as `fgc check PROJECT -t CONFIG`) or one of a
    project's config files; a project that cannot be read gives its diagnostics."""
    from .passes.overrides import parse_overrides
    from .pipeline import compile_file

    try:
        inp = _resolve(path, config, include_dirs, variables)
    except CompileError as e:
        return Diagnostics(e.diagnostics)
    found = [] if inp is None else inp.diagnostics
    comp = compile_file(
        path if inp is None else inp.path,
        include_dirs if inp is None else inp.include_dirs,
        variables if inp is None else inp.variables,
        globals=None if inp is None else inp.globals,
        import_modules=import_modules,
        use_black=False,
        code_text=False,
        overrides=parse_overrides(overrides),
    )
    return Diagnostics(found + comp.diagnostics)


def compile(
    path: str | Path,
    out_dir: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    import_modules: bool = True,
    overrides: Sequence[str] = (),
    config: str | None = None,
) -> Build:
    """Compile `path` into the build directory `out_dir`; returns the `fgc.build.Build`
    (`.dir`, `.targets`, `.variables`, `.load()`). Raises CompileError when the input has errors.
    `path` may be a PROJECT_DIR (`config`: its config) or a project's config file, resolved as
    `fgc compile` resolves them.
    `overrides` are `--override KEY.PATH=VALUE` texts (docs/tools.md; a malformed one raises
    ValueError), recorded in the build's manifest."""
    from .build import BuildError, write_build
    from .passes.overrides import parse_overrides
    from .pipeline import compile_file

    inp = _resolve(path, config, include_dirs, variables)
    if inp is not None:
        path, include_dirs, variables = inp.path, inp.include_dirs, inp.variables
    comp = compile_file(
        path,
        include_dirs,
        variables,
        globals=None if inp is None else inp.globals,
        import_modules=import_modules,
        overrides=parse_overrides(overrides),
    )
    if not comp.ok:
        raise CompileError(list(comp.diagnostics))
    built = write_build(comp, out_dir, dict(variables or {}))
    if built.value is None:
        raise BuildError(built.diagnostics[0])
    return built.value


def load(build_dir: str | Path, force: bool = False) -> ModuleType:
    """Import a build's config.py: `.construct(target, **variables)`, `.TARGETS`, `.VARIABLES`."""
    from .build import load as load_build

    return load_build(build_dir, force=force)


def from_project(
    project_dir: str | Path,
    config_template: str | None = None,
    targets: str | Sequence[str] = "",
    pp_debug: bool = False,
    pp_kwargs: Mapping[str, Any] | None = None,
    **config_kwargs: Any,
) -> Any:
    """The reference's `from_project`, at run time: compile the project's config (template
    variables `pp_kwargs`) into a temporary build and construct `targets` (a name: its value; a
    list: a dict {target: value}; "": `main`) with `config_kwargs` as its variables.

    A config's `!call:forgather:from_project` with literal arguments is linked when it is
    compiled and never comes here; with arguments known only at run time (a `!var`), its build
    calls this, which needs fgc and the project where the build runs (warned at compile time,
    FG0808, and here). `pp_debug` is accepted for the reference's signature and does nothing.
    """
    import tempfile
    import warnings

    from .build import BuildError, write_build
    from .pipeline import compile_file
    from .project import load_project

    warnings.warn(
        f"from_project({str(project_dir)!r}) compiles the project at run time; link it statically "
        "with literal arguments",
        stacklevel=2,
    )
    if not Path(project_dir).is_dir():
        raise CompileError(load_project(project_dir).diagnostics)  # FG0801, no project there
    inp = _resolve(project_dir, config_template, (), pp_kwargs)
    assert inp is not None  # the directory exists
    variables = inp.variables
    comp = compile_file(inp.path, inp.include_dirs, variables, globals=inp.globals)
    if not comp.ok:
        raise CompileError(list(comp.diagnostics))
    import atexit
    import shutil

    root = Path(tempfile.mkdtemp(prefix="fgc-from-project-"))
    atexit.register(shutil.rmtree, root, True)  # the module imports from it while the process lives
    build_dir = root / "build"
    built = write_build(comp, build_dir, variables)
    if built.value is None:
        raise BuildError(built.diagnostics[0])
    module = built.value.load()
    if isinstance(targets, str):
        return module.construct(targets or "main", **config_kwargs)
    names = tuple(targets)
    return dict(zip(names, module.construct(names, **config_kwargs)))
