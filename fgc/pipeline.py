"""The compiler driver: runs the stages in order, collecting their diagnostics.

    load + parse + template pass + render   fgc.render.render_file      -> RenderResult
    config parse                            fgc.syntax.config_parser     -> config AST Document
    semantic passes, imports, signatures    fgc.passes (back end)        -> the config graph
    codegen and build directory             fgc.codegen, fgc.build

Each stage takes typed input and returns typed output plus diagnostics; a stage whose input
has errors does not run.
"""

from __future__ import annotations

import functools
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
    source: Any = None,  # fgc.loader.TemplateSource; None: the disk
    globals: Mapping[str, Any] | None = None,  # environment globals (a project's, fgc/project/)
    reuse: Any = None,  # fgc.render.Reuse: lowered templates shared across calls (fgc/workspace)
) -> Frontend:
    """Render `path` through its template hierarchy and parse the result into the config AST."""
    from .render import render_file
    from .syntax.config_parser import parse_config

    result = Frontend(Path(path))
    rendered = render_file(path, [Path(d) for d in include_dirs], dict(variables or {}), source, globals, reuse)
    result.render = rendered
    result.diagnostics.extend(rendered.diagnostics)
    if rendered.text is None or rendered.source_map is None or has_errors(rendered.diagnostics):
        return result
    document, diags = parse_config(rendered.text, rendered.source_map)
    result.document = document
    result.diagnostics.extend(diags)
    return result


# --------------------------------------------------------------------------------------------
# Back end


@dataclass
class Compilation:
    """Everything the compiler knows about one input: front end, graph, imports, code."""

    front: Frontend
    layout: Any = None  # fgc.build.layout.Layout
    graph: Any = None  # fgc.graph.Graph
    imports: Any = None  # fgc.imports.Imports
    compile_time: Any = None  # fgc.codegen.compile_time_node.CompileTimePlan
    generated: Any = None  # fgc.codegen.Generated
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # The `--override`s applied to the graph, with what the templates had written there
    overrides: list[Any] = field(default_factory=list)  # fgc.passes.overrides.Applied

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def path(self) -> Path:
        return self.front.path


def analyze(front: Frontend, override_notes: bool = False):
    """Semantic passes: the config AST -> the config graph (+ diagnostics)."""
    from .graph import Graph
    from .passes.semantic import analyze as run_passes

    if front.document is None:
        return Graph(), []
    return run_passes(front.document, override_notes=override_notes)


def backend(
    front: Frontend,
    import_modules: bool = True,
    generate_code: bool = True,
    use_black: bool = True,
    cache: Any = None,
    stop_after: str | None = None,
    code_text: bool = True,
    overrides: Sequence[Any] = (),  # fgc.passes.overrides.Override
) -> Compilation:
    """Run the back end on a front-end result. `stop_after` may be "graph" or "imports";
    `code_text=False` (fgc check) generates the module only to prove it valid; `overrides`
    (`--override KEY.PATH=VALUE`, fgc.passes.overrides) change the graph before imports and
    signatures check it.

    Each stage runs only when the stages before it reported no error.
    """
    from .build.layout import Layout

    comp = Compilation(front, layout=Layout(front.render.search))
    comp.diagnostics.extend(front.diagnostics)
    if not front.ok or front.document is None:
        return comp
    comp.graph, diags = analyze(front)
    if overrides and not has_errors(diags):
        from .passes.overrides import apply_overrides

        comp.overrides, more = apply_overrides(comp.graph, overrides)
        diags = diags + more
    comp.diagnostics.extend(diags)
    if has_errors(diags) or stop_after == "graph":
        return comp
    from .codegen.compile_time_node import plan_compile_time, var_bindings
    from .compile_time import KINDS as BUILTIN_KINDS
    from .compile_time.from_project import FromProject
    from .project.link import link_project

    # from_project compiles another project: the driver gives it the pipeline, with these options.
    link = functools.partial(
        link_project, import_modules=import_modules, use_black=use_black, cache=cache, code_text=code_text
    )
    KINDS = (*BUILTIN_KINDS, FromProject(link))
    from .imports import resolve_imports

    comp.imports, diags = resolve_imports(
        comp.graph,
        import_modules=import_modules,
        cache=cache,
        var_bindings=functools.partial(var_bindings, KINDS),
    )
    if overrides:  # a diagnostic at an override quotes it
        from .passes.overrides import annotate

        diags = annotate(diags, overrides)
    comp.diagnostics.extend(diags)
    if has_errors(diags) or stop_after == "imports" or not generate_code:
        return comp
    from .codegen import generate

    comp.compile_time, diags = plan_compile_time(KINDS, comp.graph, comp.imports, use_black=use_black)
    comp.diagnostics.extend(diags)
    if has_errors(diags):
        return comp
    comp.generated = generate(
        comp.compile_time.graph,
        comp.imports,
        source_name=comp.layout.source_name,
        local_dir_name=comp.layout.module_dir_name,
        title=comp.layout.source_name(str(front.path)),
        compile_time=comp.compile_time.planned,
        use_black=use_black,
        text=code_text,
    )
    return comp


def compile_file(
    path: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    globals: Mapping[str, Any] | None = None,
    **options: Any,
) -> Compilation:
    """Front end + back end of one input file (see `backend` for the options)."""
    front = frontend(path, include_dirs, variables, globals=globals)
    return backend(front, **options)
