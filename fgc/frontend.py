"""The front end of one input: render it through its template hierarchy, parse the config, run
the semantic passes (`frontend`, `analyze`). The lowest layer of the driver: `fgc.project` reads
`meta.yaml` with it, and `fgc.pipeline` (which re-exports these names) runs the back end after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from .diagnostics import Diagnostic, Outcome, Result, has_errors

if TYPE_CHECKING:
    from .graph import Graph
    from .loader import TemplateSource
    from .render import RenderResult, Reuse
    from .syntax.config_ast import Document
    from .syntax.config_chunks import ChunkCache


@dataclass
class Frontend:
    """Everything the front end knows about one input file."""

    path: Path
    render: RenderResult
    document: Document | None = None  # None when rendering failed
    diagnostics: list[Diagnostic] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)  # the template variables (-D) given

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def frontend(
    path: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    source: TemplateSource | None = None,  # None: the disk
    globals: Mapping[str, Any] | None = None,  # environment globals (a project's, fgc/project/)
    reuse: Reuse | None = None,  # lowered templates shared across calls (fgc/workspace)
    checkpoint: Callable[[], None] | None = None,
    chunks: ChunkCache | None = None,  # the config's parsed pieces, shared across calls (fgc/workspace)
) -> Frontend:
    """Render `path` through its template hierarchy and parse the result into the config AST.
    `checkpoint` is called between the stages (see `pipeline.backend`)."""
    from .render import render_file

    rendered = render_file(path, [Path(d) for d in include_dirs], dict(variables or {}), source, globals, reuse)
    result = Frontend(Path(path), rendered, variables=dict(variables or {}))
    if not _took(result.diagnostics, rendered) or rendered.text is None or rendered.source_map is None:
        return result
    if checkpoint is not None:
        checkpoint()
    if chunks is not None:  # a long-lived caller: its last parse's chunks in memory, nothing on disk per edit
        from .syntax.config_parser import parse_config

        parsed = parse_config(rendered.text, rendered.source_map, chunks)
    else:
        parsed = _parse_config(rendered.text, rendered.source_map)
    result.document = parsed.value
    result.diagnostics.extend(parsed.diagnostics)
    return result


def _parse_config(text: str, source_map: Any) -> Result[Document]:
    """`parse_config`, its result kept on disk (`<cache dir>/configs/`) between processes, keyed
    by everything it reads (the text, the source map, this fgc's modules): a project's meta.yaml
    renders the same text every time, and a hit does not import the parser (Lark). The comment
    lines a document starts with are keyed by their number only (`_header_blind`): the reference's
    configs print the time there, and the parser skips them whatever they say. At most 256
    entries."""
    import hashlib
    import pickle

    from .cache_dir import kept
    from .loader import fgc_stamp

    h = hashlib.sha256(fgc_stamp())
    sm = source_map
    lines = _header_blind(text.split("\n"))
    h.update(pickle.dumps((lines, sm.origins, _header_blind(sm.rendered_lines), sm.source_lines, sm.fallback_file), protocol=5))

    def parse() -> Result[Document]:
        from .syntax.config_parser import parse_config

        return parse_config(text, source_map)

    return kept("configs", h.hexdigest(), parse, accept=lambda v: isinstance(v, Result), limit=256)


def _header_blind(lines: list[str]) -> list[str]:
    """`lines` with the text of the comments that start the document taken out: each line that
    begins with `#` at column 0 before any other content (empty lines may come between) becomes
    `#`. The lexer skips such a line to its end without a token or a diagnostic, and nothing is
    open before it, so its text cannot change the parse; the line count, which positions depend
    on, is kept. A document that is all comments is kept as it is (its span ends on the last)."""
    out = list(lines)
    for i, line in enumerate(lines):
        if line.startswith("#"):
            out[i] = "#"
        elif line:
            return out
    return list(lines)


def _took(diagnostics: list[Diagnostic], outcome: Outcome) -> bool:
    """Add a stage's diagnostics to `diagnostics`; whether the next stage may run."""
    diagnostics.extend(outcome.diagnostics)
    return outcome.ok


def analyze(front: Frontend, override_notes: bool = False) -> Result[Graph]:
    """Semantic passes: the config AST -> the config graph (+ diagnostics)."""
    from .graph import Graph
    from .passes.semantic import analyze as run_passes

    if front.document is None:
        return Result(Graph(), [])
    analyzed = run_passes(front.document, override_notes=override_notes)
    diagnostics = analyzed.diagnostics
    if front.render.graph is not None:  # an alias whose anchor a replaced block defined: that block
        from .inheritance.replaced_anchors import note_replaced_anchors

        diagnostics = note_replaced_anchors(diagnostics, front.render.graph)
    return Result(analyzed.value, diagnostics + template_checks(front, analyzed.value))


def template_checks(front: Frontend, graph: Graph) -> list[Diagnostic]:
    """What the config says about the templates that wrote it: knobs whose every read was
    overridden or not rendered (fgc/passes/knob_use.py), keys whose column takes them out of
    their block (fgc/passes/block_keys.py)."""
    from .passes.block_keys import keys_leaving_blocks
    from .passes.knob_use import hidden_knobs

    render = front.render
    if front.document is None or render.graph is None or render.source_map is None:
        return []
    return [
        *hidden_knobs(front.document, graph.overrides, render.graph, render.source_map, render.reads, front.variables),
        *keys_leaving_blocks(front.document, render.graph),
    ]
