"""Knobs that nothing reads (FG0208): a top-level `-- set` or a `-D` of a name that no template
of the compilation reads, so the value changes nothing (`-- set hiden_size = 64`,
`-D max_step=10`).

A name is *read* when some loaded template loads it: `{{ x }}`, `x | default(...)` in another
name's `set`, `-- if x is defined`, a macro's body, `{% from 'lib' import x %}`, or `lib.x` of
a template imported as `lib`. A `set`'s own value does not read the name it assigns
(`-- set x = x | default(60)` only defers to a value given before it). Every loaded template
counts, rendered or not (a branch of an `if` that did not run still reads its names), so the
warning never fires for a name some path of the hierarchy uses. Not knobs, never reported: a name
starting with `_` (`-- set _ = items.append(1)` runs for its effect) and a `namespace()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from jinja2 import nodes

from ..diagnostics import Diagnostic, did_you_mean, warning
from ..inheritance.knobs import top_level_sets
from ..inheritance.template_pass import TemplateGraph

CODE = "FG0208"


@dataclass(frozen=True)
class ReadSite:
    """Where a template reads a name: its file and line (the lowered Jinja keeps the template's
    lines), and whether the read is output on a text line (`lr: {{ lr }}`) rather than used by
    a statement (`-- if`, another name's `set`), whose effect cannot be traced to one line."""

    file: str
    line: int
    in_text: bool


def read_sites(tree: nodes.Template, file: str, first_line: int = 1) -> dict[str, list[ReadSite]]:
    """The names a jinja2 template tree reads, each with where (see the module's docstring);
    `first_line`: the file line of the tree's line 1 (a sub-template's split)."""
    found: dict[str, list[ReadSite]] = {}
    imported = {n.target for n in tree.find_all(nodes.Import)}

    def add(name: str, node: nodes.Node, in_text: bool) -> None:
        found.setdefault(name, []).append(ReadSite(file, node.lineno + first_line - 1, in_text))

    def visit(node: nodes.Node, skip: str | None, in_text: bool) -> None:
        if isinstance(node, nodes.Name) and node.ctx == "load" and node.name != skip:
            add(node.name, node, in_text)
        elif isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name in imported:
            add(node.attr, node, in_text)
        elif isinstance(node, nodes.FromImport):
            for n in node.names:
                add(n if isinstance(n, str) else n[0], node, False)
        for child in node.iter_child_nodes():
            own = skip
            if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name) and child is node.node:
                own = node.target.name  # `set x = x | default(v)`: a deferral, not a use
            text = isinstance(node, nodes.Output) or (in_text and not isinstance(node, nodes.Stmt))
            visit(child, own, text)

    visit(tree, None, False)
    return found


def unread_knobs(
    graph: TemplateGraph, reads: set[str], variables: Mapping[str, Any], globals: Iterable[str] = ()
) -> list[Diagnostic]:
    """FG0208 for every top-level `set` and `-D` of a name that no template reads."""
    candidates = sorted(reads - set(globals))
    out: list[Diagnostic] = []
    for node in graph.templates.values():
        for a in top_level_sets(node):
            if a.name not in reads and not _not_a_knob(a.name, a.value):
                out.append(
                    warning(
                        CODE,
                        f"`{a.name}` is set here, but no template reads it: the value changes nothing",
                        a.span,
                        hint=_hint(a.name, candidates),
                    )
                )
    for name, value in variables.items():
        if name not in reads:
            out.append(
                warning(
                    CODE,
                    f"`-D {name}={_shown(value)}`: no template reads `{name}`, so the value changes nothing",
                    None,
                    hint=_hint(name, candidates),
                )
            )
    return out


def _not_a_knob(name: str, value: str | None) -> bool:
    return name.startswith("_") or (value is not None and value.startswith("namespace("))


def _hint(name: str, candidates: list[str]) -> str:
    close = did_you_mean(name, [c for c in candidates if c != name])
    return close or "`fgc vars FILE` lists the knobs the templates read"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)
