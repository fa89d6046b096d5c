"""Knobs whose value never reaches the config (FG0522): a `-- set` or `-D` of a name that the
templates read only on lines whose value is lost.

The quick start's idiom makes this easy to miss: a child writes `-- set lr = 1.0e-4`, the
optimizer template renders `lr: !var { name: lr, default: {{ lr | toyaml(1.0e-3) }} }`, and a
template further down writes the constant `lr: 3.0e-3` after `== super()`: a duplicate key whose
last value wins (fgc/passes/duplicates.py), so the knob's line is rendered and then discarded.
A read is *lost* when its template line renders only mapping keys that a later duplicate
overrides, or is not rendered at all (a block that a child replaced, an `if` branch that did not
run). A knob is reported when every read of it is on such a line; a read by a statement (an
`if`, another name's `set`) is a use that cannot be traced to one line, and keeps it quiet.

The value's giver is the set that Jinja rendered (fgc/inheritance/knobs.py, `winning_run`), or
the `-D`; the constant that won is a note, with the line that read the knob. Losses the templates
mean are not reported: a constant written by a template that extends the giver's (the child
states how it differs from its parent's default), and a default (`x | default(v)`) whose lines a
template does not render (a child replaced the block that used it). A `-D` is always reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ..diagnostics import Diagnostic, Related, Span, warning
from ..graph import Override
from ..inheritance.knobs import Assignment, knob_runs, top_level_sets, winning_run
from ..inheritance.template_pass import TemplateGraph
from ..sourcemap import SourceMap
from ..syntax.config_ast import Document, Mapping as MappingNode, walk

if TYPE_CHECKING:
    from ..render.knob_reads import ReadSite

CODE = "FG0522"


def hidden_knobs(
    document: Document,
    overrides: list[Override],
    templates: TemplateGraph,
    source_map: SourceMap,
    reads: Mapping[str, list["ReadSite"]],
    variables: Mapping[str, Any],
) -> list[Diagnostic]:
    """FG0522 for every knob given a value (a top-level `set`, `-D`) that no kept line reads."""
    # Template line -> the outermost key of each time it was rendered (a key further right is
    # inside its value: `lr: !var { name: lr, ... }`). A `.define` that "loses" lives on in its
    # anchor: it is never lost.
    checked = {name: sites for name, sites in reads.items() if sites and all(s.in_text for s in sites)}
    if not checked:
        return []
    lines = {(s.file, s.line) for sites in checked.values() for s in sites}  # the only lines asked about
    keys: dict[tuple[str, int], list[Span]] = {}
    for node in walk(document.root):
        if isinstance(node, MappingNode):
            for e in node.entries:
                span = e.key.span
                at = (span.file, span.line)
                if at in lines:
                    keys.setdefault(at, []).append(span)
    for at, spans in keys.items():
        left = min(s.col for s in spans)
        keys[at] = [s for s in spans if s.col == left]
    winner_of = {s: ov.winner for ov in overrides if not ov.key.startswith(".") for s in ov.overridden}
    rendered = {(o.file, o.line) for origins in source_map.origins for o in origins}
    out: list[Diagnostic] = []
    for name, sites in checked.items():
        lost: list[tuple[Span, Span | None]] = []  # each read, and the key that beat it
        for s in sites:
            at = (s.file, s.line)
            if at not in rendered:
                lost.append((Span(s.file, s.line, 1, s.line, 1), None))
            elif at in keys and all(k in winner_of for k in keys[at]):
                lost.append((keys[at][0], winner_of[keys[at][0]]))
            else:
                break
        else:
            d = _diagnostic(name, lost, templates, variables)
            if d is not None:
                out.append(d)
    return out


def _deliberate(giver: Assignment, winner: Span | None, templates: TemplateGraph) -> bool:
    """A loss that the templates meant: a default (`x | default(v)`) whose lines a template
    does not render, or a value that a template extending the giver's writes again as a
    constant (the override idiom: the child states how it differs)."""
    if winner is None:
        return giver.defers
    if winner.file == giver.span.file:
        return False
    below = {n.name for n in templates.descendants(giver.template)}
    return any(n.file == winner.file and n.name in below for n in templates.templates.values())


def _diagnostic(
    name: str, lost: list[tuple[Span, Span | None]], templates: TemplateGraph, variables: Mapping[str, Any]
) -> Diagnostic | None:
    runs = knob_runs(templates, name)
    won = winning_run(runs, name in variables)
    giver: Assignment | None = None
    if won is not None:
        giver = runs[won]
    elif name not in variables:  # set in an included template's chain, if anywhere
        given = [a for node in templates.templates.values() for a in top_level_sets(node) if a.name == name]
        if not given:
            return None  # nobody gave a value: the template's own default, unused
        giver = given[0]
    if giver is not None and all(_deliberate(giver, winner, templates) for _, winner in lost):
        return None
    span = giver.span if giver is not None else None
    what = f"`{name}` is set here" if giver is not None else f"`-D {name}={variables[name]}` is given"
    related: list[Related] = []
    for at, winner in lost:
        if winner is None:
            related.append(Related(at, f"`{name}` is read here, on a line that is not rendered"))
        else:
            related.append(Related(at, f"`{name}` is read here, in a key that a later one overrides"))
            related.append(Related(winner, "this later value of the key wins"))
    constants = any(w is not None for _, w in lost)
    why = "a later key overrides every line that reads it" if constants else "no line that reads it is rendered"
    hint = (
        f"write the winning line with the knob (`{{{{ {name} }}}}`) or remove it; or drop the knob"
        if constants
        else "the lines that read it are in a block that is replaced, or a branch that did not run"
    )
    return warning(
        CODE, f"{what}, but its value never reaches the config: {why}", span, related=tuple(related), hint=hint
    )
