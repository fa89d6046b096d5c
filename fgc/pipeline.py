"""The compiler driver: runs the stages in order, collecting their diagnostics.

    load + parse + template pass + render   fgc.render.render_file      -> RenderResult
    config parse                            fgc.syntax.config_parser     -> config AST Document
    semantic passes, imports, signatures    fgc.passes (back end)        -> the config graph
    codegen and build directory             fgc.codegen, fgc.build

Each stage takes typed input and returns typed output plus diagnostics; a stage whose input
has errors does not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .diagnostics import Diagnostic, has_errors


@dataclass
class Frontend:
    """Everything the front end knows about one input file."""

    path: Path
    render: Any = None  # fgc.render.RenderResult
    document: Any = None  # fgc.syntax.config_ast.Document
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def frontend(
    path: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
) -> Frontend:
    """Render `path` through its template hierarchy and parse the result into the config AST."""
    from .render import render_file
    from .syntax.config_parser import parse_config

    result = Frontend(Path(path))
    rendered = render_file(path, [Path(d) for d in include_dirs], dict(variables or {}))
    result.render = rendered
    result.diagnostics.extend(rendered.diagnostics)
    if rendered.text is None or has_errors(rendered.diagnostics):
        return result
    document, diags = parse_config(rendered.text, rendered.source_map)
    result.document = document
    result.diagnostics.extend(diags)
    return result
