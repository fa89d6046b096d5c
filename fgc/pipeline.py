"""The compiler driver: runs the stages in order, collecting their diagnostics.

    load + parse + template pass + render   fgc.render.render_file           -> RenderResult
    config parse                            fgc.syntax.config_parser         -> Result[Document]
    semantic passes                         fgc.passes.semantic.analyze      -> Result[Graph]
    imports and signatures                  fgc.imports.resolve_imports      -> Result[Imports]
    compile-time nodes                      fgc.codegen.compile_time_node    -> Result[CompileTimePlan]
    codegen                                 fgc.codegen.generate             -> Generated
    build directory                         fgc.build.write_build (fgc compile -o)

Each stage takes typed input and returns typed output with its diagnostics (a `Result`, or a
record of several outputs with `diagnostics` and `ok`: docs/architecture.md, "Stage results");
a stage whose input has errors does not run. The stages are imported when first run, so that
`fgc --help` does not load the compiler.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence

from .diagnostics import Diagnostic, Result, has_errors
from .frontend import Frontend, _took, analyze, frontend, template_checks

if TYPE_CHECKING:
    from .build.layout import Layout
    from .codegen import Generated
    from .codegen.compile_time_node import CompileTimePlan
    from .compile_time.from_project import LinkRequest
    from .graph import Graph
    from .imports import Imports
    from .imports.cache import SignatureCache
    from .passes.overrides import Applied, Override
    from .project.link import Linked
    from .render import RenderResult
    from .syntax.config_ast import Document


# Called between stages; raises to abandon the compilation (the language server's worker).
Checkpoint = Callable[[], None]


def _no_checkpoint() -> None:
    pass


# --------------------------------------------------------------------------------------------
# Back end


@dataclass
class Compilation:
    """Everything the compiler knows about one input: front end, graph, imports, code."""

    front: Frontend
    layout: Layout
    # Each stage's output, None until the stage ran (meaningful only when it reported no error)
    graph: Graph | None = None
    imports: Imports | None = None
    compile_time: CompileTimePlan | None = None
    generated: Generated | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # The `--override`s applied to the graph, with what the templates had written there
    overrides: list[Applied] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def path(self) -> Path:
        return self.front.path


def backend(
    front: Frontend,
    import_modules: bool = True,
    generate_code: bool = True,
    use_black: bool = True,
    cache: SignatureCache | None = None,
    stop_after: Literal["graph", "imports", "plan"] | None = None,
    code_text: bool = True,
    overrides: Sequence[Override] = (),
    checkpoint: Checkpoint | None = None,
) -> Compilation:
    """Run the back end on a front-end result. `stop_after` may be "graph", "imports" or "plan"
    (compile-time nodes planned, with their diagnostics; the code, which only proves itself
    valid, not generated: the language server);
    `code_text=False` (fgc check) generates the module only to prove it valid; `overrides`
    (`--override KEY.PATH=VALUE`, fgc.passes.overrides) change the graph before imports and
    signatures check it. `checkpoint` is called before each stage: a long-lived caller (the
    language server's worker) abandons a compilation that a newer edit made useless by raising
    from it.

    Each stage runs only when the stages before it reported no error.
    """
    step = checkpoint if checkpoint is not None else _no_checkpoint
    from .build.layout import Layout

    assert front.render.search is not None  # render_file always records its search path
    comp = Compilation(front, layout=Layout(front.render.search))
    if not _took(comp.diagnostics, front) or front.document is None:
        return comp
    step()
    analyzed = analyze(front)
    comp.graph = analyzed.value
    if overrides and analyzed.ok:
        from .passes.overrides import apply_overrides

        comp.overrides, more = apply_overrides(analyzed.value, overrides)
        analyzed = Result(analyzed.value, analyzed.diagnostics + more)
    if not _took(comp.diagnostics, analyzed) or stop_after == "graph":
        return comp
    from .codegen.compile_time_node import plan_compile_time, var_bindings
    from .compile_time import KINDS as BUILTIN_KINDS
    from .compile_time.from_project import FromProject

    # from_project compiles another project: the driver gives it the pipeline, with these options.
    link = functools.partial(
        _link_project,
        compile_file=compile_file,
        import_modules=import_modules,
        use_black=use_black,
        cache=cache,
        code_text=code_text,
    )
    KINDS = (*BUILTIN_KINDS, FromProject(link))
    from .imports import resolve_imports

    step()
    resolved = resolve_imports(
        comp.graph,
        import_modules=import_modules,
        cache=cache,
        var_bindings=functools.partial(var_bindings, KINDS),
    )
    comp.imports = imports = resolved.value
    if overrides:  # a diagnostic at an override quotes it
        from .passes.overrides import annotate

        resolved = Result(imports, annotate(resolved.diagnostics, overrides))
    if front.render.graph is not None:  # a value rendered from a knob: where the user set it
        from .inheritance.knobs import note_knob_sets

        resolved = Result(imports, note_knob_sets(resolved.diagnostics, front.render.graph, front.variables))
    if not _took(comp.diagnostics, resolved) or stop_after == "imports" or not generate_code:
        return comp
    from .codegen import generate

    step()
    planned = plan_compile_time(KINDS, comp.graph, imports, use_black=use_black)
    comp.compile_time = plan = planned.value
    if not _took(comp.diagnostics, planned) or stop_after == "plan":
        return comp
    # Code generation reports nothing: what reaches it is valid (an exception is a bug of fgc).
    comp.generated = generate(
        plan.graph,
        imports,
        source_name=comp.layout.source_name,
        local_dir_name=comp.layout.module_dir_name,
        title=comp.layout.source_name(str(front.path)),
        compile_time=plan.planned,
        use_black=use_black,
        text=code_text,
    )
    return comp


def _link_project(request: LinkRequest, **options: Any) -> Result[Linked | None]:
    """`fgc.project.link.link_project`, imported when a config links another project."""
    from .project.link import link_project

    return link_project(request, **options)


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
