"""Who set a value: the override chain of a config key, for `fgc explain` and the language
server's hover.

The chain is listed most recent (the value that wins) first: the command line's `--override`s
of the path (explain), then every entry written for the key (a child's `== super()` block
renders its parents' keys, then writes the key again: a duplicate key whose last value wins,
fgc/passes/duplicates.py records them in `Graph.overrides`), then the parent blocks that the
block of each entry replaced without `super()` (never rendered). When the winning line renders a
template variable (`lr: {{ lr }}`), the `-- set`s of that knob follow, in the order Jinja runs
them (the input template first, then each parent): the one whose value was rendered (`knob`), a
`x | default(...)` that a value given before it made unused (`default`), a set inside an `if`
(`maybe`), a set that a later one replaced (`replaced`), and a `-D` value (no position).

An entry is found by the span of its key, never by a path of keys: two `.define:` entries that
both set `lr` are two keys, each with its own chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..diagnostics import Span
from ..graph import Graph
from ..inheritance.template_pass import TemplateGraph
from .blocks import enclosing_block

Lines = Callable[[Span], str]  # the source line of a span, stripped ("" when unknown)

# Roles that keep their name when the chain is numbered (the others become set / overridden).
_FIXED_ROLES = ("replaced", "knob", "default", "maybe")


@dataclass(frozen=True)
class Link:
    """One place in a chain."""

    role: str  # "set" (the winner), "overridden", "replaced", "knob", "default", "maybe"
    span: Span | None  # None: the command line's `-D`
    text: str  # the source line (the option as written, for the command line)


def override_spans(graph: Graph, key_span: Span) -> list[Span]:
    """Every key written for the key at `key_span`, the winner first, then those it overrode,
    most recent first (just `key_span` when it was written once)."""
    for ov in graph.overrides:
        if key_span == ov.winner or key_span in ov.overridden:
            return [ov.winner, *reversed(ov.overridden)]
    return [key_span]


def replaced_blocks(tg: TemplateGraph | None, span: Span) -> list[Span]:
    """The parent definitions of the block around `span` when that block does not call
    `super()`: their text is never rendered, the block replaces them."""
    found = enclosing_block(tg, span.file, span.line)
    if tg is None or found is None or found[1].super_calls:
        return []
    return [b.span for b in tg.overridden(found[1])]


def number_roles(links: list[Link]) -> list[Link]:
    """The first link that sets the value is `set`, the others `overridden` (fixed roles stay)."""
    out: list[Link] = []
    for link in links:
        if link.role not in _FIXED_ROLES:
            link = Link("set" if not any(o.role == "set" for o in out) else "overridden", link.span, link.text)
        out.append(link)
    return out


def key_chain(
    graph: Graph,
    tg: TemplateGraph | None,
    key_span: Span,
    lines: Lines,
    variables: Mapping[str, Any],
    command_line: Sequence[Link] = (),
) -> list[Link]:
    """The chain of the key written at `key_span` (see the module's docstring); `command_line`
    are the `--override`s that replaced it, most recent first."""
    spans = override_spans(graph, key_span)
    links = [*command_line, *(Link("overridden", s, lines(s)) for s in spans)]
    for s in spans:
        links.extend(Link("replaced", b, lines(b)) for b in replaced_blocks(tg, s))
    return number_roles(links) + knob_links(tg, variables, lines(spans[0]), lines)


def knob_sources(tg: TemplateGraph | None, variables: Mapping[str, Any], text: str) -> list[tuple[str, Span | None]]:
    """Each template variable that the line `text` renders and was given a value, with the span
    of the `set` whose value was rendered (None: the command line's `-D`); for the run errors'
    value chains (fgc/cli/value_origins.py). `knob_links` lists every `set` of them."""
    return [(name, link.span) for name, link in _knob_links(tg, variables, text, lambda s: "") if link.role == "knob"]


def knob_links(tg: TemplateGraph | None, variables: Mapping[str, Any], text: str, lines: Lines) -> list[Link]:
    """The `set`s (and `-D`) of the template variables that the line `text` renders: which one
    gave the value, and the others in the order Jinja ran them (fgc/inheritance/knobs.py)."""
    return [link for _, link in _knob_links(tg, variables, text, lines)]


def _knob_links(
    tg: TemplateGraph | None, variables: Mapping[str, Any], text: str, lines: Lines
) -> list[tuple[str, Link]]:
    from ..inheritance.knobs import RENDERED_NAME, knob_runs, winning_run

    names = list(dict.fromkeys(RENDERED_NAME.findall(text)))
    if not names or tg is None or tg.root not in tg.templates:
        return []
    out: list[tuple[str, Link]] = []
    for name in names:
        runs = knob_runs(tg, name)
        given = name in variables
        if not runs and not given:
            continue
        winner = winning_run(runs, given)  # index into runs; None: the -D value (or nothing)
        found: list[Link] = []
        if given:
            found.append(Link("knob" if winner is None else "replaced", None, f"-D {name}={variables[name]!r}"))
        for i, a in enumerate(runs):
            if i == winner:
                role = "knob"
            elif a.conditional:
                role = "maybe"
            elif a.defers and (winner is None or i > winner or given):
                role = "default"
            else:
                role = "replaced"
            found.append(Link(role, a.span, lines(a.span)))
        found.sort(key=lambda link: link.role != "knob")  # the one that gave the value first
        out.extend((name, link) for link in found)
    return out
