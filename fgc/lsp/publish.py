"""Which diagnostics each file shows, across every open document's analysis.

An open experiment (or project config) that no other open experiment reads is a *root*: its
file shows its own diagnostics. A diagnostic in another file (a parent, an included
sub-template, a stdlib template) is shown there when it holds in every root that reads that
file: a library template is checked in the context of the experiments that use it, and what
only one of them causes is that experiment's business. That one still sees it: its own file
gets a copy at the `extends`/`include`/`import` statement through which it reaches the other
file, with the original position as related information. A diagnostic without a span goes at
the experiment's first line.

An open library template that no root reads shows what holds in every experiment it was checked
through (found in the workspace's folders), or its syntax-only check.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, Related, Span, display_path
from ..inheritance.template_pass import Reference, TemplateGraph
from ..workspace import Analysis


@dataclass
class Publication:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    version: int | None = None  # the open document's version the analyses read


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


def _at_top(d: Diagnostic, file: str) -> Diagnostic:
    return Diagnostic(d.code, d.severity, d.message, Span.point(file, 1), d.related, d.hint)


def _own(analysis: Analysis, out: dict[str, Publication]) -> None:
    """A root's diagnostics in its own file, and the copies of those in the files it reaches."""
    own = analysis.path
    found: dict[tuple, Diagnostic] = {}
    hops: dict[str, Reference] | None = None
    for d in analysis.diagnostics:
        if d.span is None:
            d = _at_top(d, own)
        elif d.span.file != own:
            if hops is None:
                hops = first_hops(analysis.template_graph, own)
            ref = hops.get(d.span.file)
            if ref is None:
                continue
            d = Diagnostic(
                d.code,
                d.severity,
                f"in `{display_path(d.span.file)}` (through this {ref.kind}): {d.message}",
                ref.statement_span,
                (Related(d.span, d.message), *d.related),
                d.hint,
            )
        found.setdefault(_key(d), d)
    out[own] = Publication(list(found.values()), analysis.versions.get(own))


def _stage(code: str) -> int:
    """A code's stage, by its group (docs/diagnostics.md): FG01xx template syntax, FG02xx
    inheritance, FG03xx rendering, FG04xx YAML, FG05xx semantic passes, FG06xx imports..."""
    return int(code[2:4]) if code[2:4].isdigit() else 99


def _reached(analysis: Analysis) -> int:
    """The last stage that ran: the first one with an error (later stages never ran)."""
    return min((_stage(d.code) for d in analysis.diagnostics if d.is_error), default=99)


def _common(file: str, analyses: list[Analysis]) -> Publication:
    """The diagnostics in `file` that hold in every analysis: each one found by an analysis and
    by every other that got as far as the stage that reports it (one that stopped earlier, on
    an error of its own, says nothing about it). A span-less one of a syntax-only check goes at
    the file's first line."""
    found: list[dict[tuple, Diagnostic]] = []
    for a in analyses:
        mine: dict[tuple, Diagnostic] = {}
        for d in a.diagnostics:
            if d.span is None and a.path == file:
                d = _at_top(d, file)
            if d.span is not None and d.span.file == file:
                mine.setdefault(_key(d), d)
        found.append(mine)
    reached = [_reached(a) for a in analyses]
    shared: dict[tuple, Diagnostic] = {}
    for mine in found:
        for key, d in mine.items():
            if all(key in other or reach < _stage(d.code) for other, reach in zip(found, reached)):
                shared.setdefault(key, d)
    versions = [v for a in analyses if (v := a.versions.get(file)) is not None]
    return Publication(list(shared.values()), max(versions) if versions else None)


def diagnostics_by_file(roots: list[Analysis], libraries: dict[str, list[Analysis]]) -> dict[str, Publication]:
    """Each file's diagnostics: `roots` are the open experiments no other open one reads;
    `libraries` maps each other open document to the analyses it was checked through."""
    out: dict[str, Publication] = {}
    for analysis in roots:
        _own(analysis, out)
    readers: dict[str, dict[int, Analysis]] = {}
    for analysis in roots:
        reported = {d.span.file for d in analysis.diagnostics if d.span is not None}
        for f in {*analysis.files, *reported} - {analysis.path}:
            readers.setdefault(f, {})[id(analysis)] = analysis
    for file, by_id in readers.items():
        if file not in out:
            out[file] = _common(file, list(by_id.values()))
    for file, analyses in libraries.items():
        if file not in out and analyses:
            out[file] = _common(file, analyses)
    return out
