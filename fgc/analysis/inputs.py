"""One input resolver for the command line, the Python API and the language server: a template
file or a PROJECT_DIR (with a config name) -> what to compile: the file, its template search
path, its template variables (`-D`, and those the config's `dynamic_args` read from the words
after `--`) and the project's globals.

A file that is one of a project's configs (under `<searchdir>/<config_prefix>/` of the project
at or above it, fgc/project/) resolves as that project's config: `fgc check
templates/configs/train.yaml`, an editor opening that file and `fgc check PROJECT -t train.yaml`
compile the same input with the same search path and globals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..diagnostics import Diagnostic, Result, has_errors

if TYPE_CHECKING:
    from ..project import Project

ProjectLoader = Callable[[Path], "Result[Project | None]"]


class InputError(Exception):
    """What was asked for names no input (no such file, a config name without a project, words
    after `--` that the config's options refuse): the command line's usage error."""


class InputDiagnostics(Exception):
    """The input cannot be compiled at all (a project whose meta.yaml has errors, an unknown
    config): the diagnostics say why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics


@dataclass
class Input:
    """What to compile: a template file, its search path, variables and globals (a project's)."""

    path: Path
    include_dirs: list[Path]
    variables: dict[str, Any]
    globals: dict[str, Any] = field(default_factory=dict)
    project: Project | None = None  # when the input is a project's config
    config: str | None = None  # the config's name in its project
    diagnostics: list[Diagnostic] = field(default_factory=list)  # warnings of meta.yaml


def _load_project(directory: Path) -> Result[Project | None]:
    from ..project import load_project

    return load_project(directory)


def resolve_input(
    target: str | Path,
    config: str | None = None,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    dynamic_words: Sequence[str] = (),
    load_project: ProjectLoader = _load_project,
) -> Input:
    """FILE, or PROJECT_DIR and its config `config` (None: the project's default); `include_dirs`
    come after the project's search path. InputError or InputDiagnostics when there is nothing
    to compile. `load_project` may share loaded projects between calls (the language server)."""
    path = Path(target)
    given = dict(variables or {})
    extra = [Path(d) for d in include_dirs]
    if path.is_dir():
        project, diags = load_project(path)
        if project is None:
            raise InputDiagnostics(diags)
        file, missing = project.config_file(config)
        if file is None:
            raise InputDiagnostics(diags + missing)
        inp = _in_project(project, file, extra, given, diags)
    elif config is not None:
        raise InputError("-t CONFIG needs a PROJECT_DIR, not a file")
    elif not path.is_file():
        raise InputError(f"no such file: {target}")
    else:
        inp = project_config(path, extra, given, load_project) or Input(path, extra, given)
    return with_dynamic_args(inp, list(dynamic_words))


def _in_project(project: Project, file: Path, extra: list[Path], variables: dict[str, Any], diags: list[Diagnostic]) -> Input:
    name = config_name(project, file)
    return Input(file, [*project.include_dirs, *extra], variables, dict(project.globals), project, name, list(diags))


def config_name(project: Project, file: Path) -> str | None:
    """`file`'s name among the project's configs (None when it is not one of them)."""
    real = os.path.realpath(file)
    for name, path in project.configs().items():
        if os.path.realpath(path) == real:
            return name
    return None


def project_config(
    file: Path,
    include_dirs: Sequence[Path] = (),
    variables: Mapping[str, Any] | None = None,
    load_project: ProjectLoader = _load_project,
) -> Input | None:
    """The input of `file` as its project's config, when it is one: a `meta.yaml` at or above
    its directory whose project (it loads without errors) lists `file` among its configs."""
    from ..project.discovery import find_project_dir

    project_dir = find_project_dir(file.parent)
    if project_dir is None:
        return None
    project, diags = load_project(project_dir)
    if project is None or has_errors(diags) or config_name(project, file) is None:
        return None
    return _in_project(project, file, list(include_dirs), dict(variables or {}), diags)


def with_dynamic_args(inp: Input, words: list[str]) -> Input:
    """The variables that the words after `--` give through the config's `dynamic_args`
    (fgc/project/dynamic_args.py); the config is read once without them to learn its options.
    `-- --help` prints the options and raises SystemExit(0)."""
    if not words:
        return inp
    from .. import pipeline
    from ..project.dynamic_args import DynamicArgsError, Option, parse_words, read_options

    front = pipeline.frontend(inp.path, inp.include_dirs, inp.variables, globals=inp.globals)
    diags = list(front.diagnostics)
    options: list[Option] = []
    if front.ok:
        graph, more = pipeline.analyze(front)
        diags.extend(more)
        options, more = read_options(graph)
        diags.extend(more)
    if has_errors(diags):
        raise InputDiagnostics(inp.diagnostics + diags)
    try:
        given = parse_words(options, words, prog=f"fgc ... {inp.path.name} --")
    except DynamicArgsError as e:
        raise InputError(str(e)) from None
    inp.variables = {**inp.variables, **given}
    return inp
