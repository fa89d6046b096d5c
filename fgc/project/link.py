"""The driver's half of `from_project` (fgc/compile_time/from_project.py): compile a linked
project's config into a build of its own.

The linked config is compiled as `fgc compile PROJECT -t CONFIG` would compile it (its own
meta.yaml, search path and project globals; the from_project's `pp_kwargs` as template
variables), with the same options as the compilation that links it. Its diagnostics keep their
positions in the linked project's files; when it has errors, FG0807 at the from_project node
says which link failed. A project that links itself, directly or through others, is refused
(FG0809) instead of recursing forever.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from ..compile_time.from_project import LinkRequest
from ..diagnostics import Diagnostic, Related, Result, error, has_errors

from ..build import Compiled


class Compilation(Compiled, Protocol):
    """What a link keeps of the pipeline's compilation (fgc.pipeline.Compilation, which this
    module does not import: the pipeline hands `link_project` its `compile_file`)."""

    @property
    def diagnostics(self) -> list[Diagnostic]: ...

# The links being compiled in this context, outermost first: (project directory, config file).
_LINKING: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar("fgc_linking", default=())


@dataclass
class Linked:
    """A linked config compiled without errors; `write` puts its build in a directory."""

    name: str
    comp: Compilation
    variables: dict[str, Any]

    @property
    def targets(self) -> list[str]:
        assert self.comp.graph is not None  # a linked config compiled without errors
        return list(self.comp.graph.targets)

    def write(self, directory: Path) -> list[Diagnostic]:
        from ..build import write_build

        return write_build(self.comp, directory, self.variables).diagnostics


def link_project(
    request: LinkRequest, compile_file: Callable[..., Compilation], **options: Any
) -> Result[Linked | None]:
    """Compile the config `request` names with `compile_file` (the pipeline's; `options`: the
    linking compilation's back-end options, e.g. import_modules)."""
    from . import load_project

    def failed(message: str, diags: list[Diagnostic]) -> Result[None]:
        return Result(None, [*diags, error("FG0807", message, request.span)])

    project, diags = load_project(request.project_dir)
    if project is None:
        return failed(f"cannot link the project `{request.project_dir}`", diags)
    path, missing = project.config_file(request.config)
    if path is None:
        return failed(f"cannot link the project `{project.name}`: {missing[0].message}", diags)
    key = (str(project.dir), str(path))
    stack = _LINKING.get()
    if key in stack:
        chain = " -> ".join(f"{Path(p).name}:{Path(c).name}" for p, c in (*stack, key))
        return Result(None, [error("FG0809", f"from_project links a project into itself: {chain}", request.span)])
    token = _LINKING.set((*stack, key))
    try:
        comp = compile_file(path, project.include_dirs, request.variables, globals=project.globals, **options)
    finally:
        _LINKING.reset(token)
    diags += comp.diagnostics
    if has_errors(comp.diagnostics):
        first = next(d for d in comp.diagnostics if d.is_error)
        return Result(None, [
            *diags,
            error(
                "FG0807",
                f"the linked config `{path.name}` of project `{project.name}` has errors",
                request.span,
                related=(Related(first.span, f"first error: {first.message}"),) if first.span else (),
            ),
        ])
    return Result(Linked(project.dir.name, comp, dict(request.variables)), diags)
