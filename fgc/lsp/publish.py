"""Which diagnostics each file shows, across every open experiment.

Each open document is checked as an experiment. A diagnostic is shown in the file its span is
in, whichever experiment found it (one copy when several did). When that file is not the
experiment's own (a parent, an included sub-template, a stdlib template), the experiment's file
also gets a copy at the `extends`/`include`/`import` statement through which it reaches that
file, with the original position as related information: an editor showing only the child still
sees that its parent is broken, and where. A diagnostic without a span goes at the experiment's
first line.
"""

from __future__ import annotations

from collections import deque

from ..diagnostics import Diagnostic, Related, Span, display_path
from ..inheritance.template_pass import Reference, TemplateGraph
from ..workspace import Analysis


def first_hops(graph: TemplateGraph | None, own_file: str) -> dict[str, Reference]:
    """For each file the experiment reaches, the reference in `own_file` it is reached through
    (the nearest one, breadth first)."""
    if graph is None:
        return {}
    hops: dict[str, Reference] = {}
    queue: deque[tuple[str, Reference | None]] = deque(
        (name, None) for name, node in graph.templates.items() if node.file == own_file
    )
    seen = {name for name, _ in queue}
    while queue:
        name, hop = queue.popleft()
        node = graph.templates.get(name)
        if node is None:
            continue
        for ref in node.references:
            for target in ref.resolved:
                child = graph.templates.get(target)
                if child is None or target in seen:
                    continue
                seen.add(target)
                via = hop or ref
                hops.setdefault(child.file, via)
                queue.append((target, via))
    return hops


def _key(d: Diagnostic) -> tuple:
    return (d.code, d.span, d.message)


def diagnostics_by_file(analyses: list[Analysis]) -> dict[str, list[Diagnostic]]:
    out: dict[str, dict[tuple, Diagnostic]] = {}

    def add(file: str, d: Diagnostic) -> None:
        out.setdefault(file, {}).setdefault(_key(d), d)

    for analysis in analyses:
        own = analysis.path
        out.setdefault(own, {})
        hops: dict[str, Reference] | None = None
        for d in analysis.diagnostics:
            if d.span is None:
                add(own, Diagnostic(d.code, d.severity, d.message, Span.point(own, 1), d.related, d.hint))
                continue
            add(d.span.file, d)
            if d.span.file == own:
                continue
            if hops is None:
                hops = first_hops(analysis.template_graph, own)
            ref = hops.get(d.span.file)
            if ref is None:
                continue
            add(
                own,
                Diagnostic(
                    d.code,
                    d.severity,
                    f"in `{display_path(d.span.file)}` (through this {ref.kind}): {d.message}",
                    ref.statement_span,
                    (Related(d.span, d.message), *d.related),
                    d.hint,
                ),
            )
    return {file: list(diags.values()) for file, diags in out.items()}
