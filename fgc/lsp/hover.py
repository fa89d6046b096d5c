"""Hover: what the thing under the cursor is, in Markdown.

    a template name (extends/include/import)  the file it resolves to
    `super()`                                 the text of the parent's block
    a block header                            where it is defined and overridden
    a tag                                     the callable's signature and docstring summary
    a `!var`                                  its default and its uses
    a mapping key                             its value and every line that set it (the override
                                              chain of `fgc explain`, knobs and replaced blocks)

A hover is answered from the newest finished analysis and says so when that is older than the
buffer, or when the buffer does not compile (the value written in it, the rest from the last
check that compiled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..analysis.blocks import block_extent
from ..analysis.chain import key_chain
from ..analysis.values import describe_node
from ..diagnostics import Span, display_path
from ..graph import MISSING, Kind
from ..imports.specs import SpecError, parse_spec
from . import cursor
from .pysource import find_definition, first_paragraph
from .query import Query, query

if TYPE_CHECKING:
    from ..graph import Node
    from ..inheritance.template_pass import BlockDef
    from .pysource import PyDefinition
    from .query import Guard
    from .server import FgcServer


def _where(span: Span) -> str:
    return f"`{display_path(span.file)}:{span.line}`"


def hover_reference(q: Query) -> str | None:
    graph = q.analysis.template_graph if q.analysis else None
    ref = cursor.reference_at(graph, q.path, q.line, q.col)
    if ref is None or graph is None:
        return None
    out = [f"**{ref.kind}** `{ref.expression}`"]
    for name in ref.resolved:
        node = graph.templates.get(name)
        if node is not None:
            out.append(f"- `{name}` → `{display_path(node.file)}`")
    if ref.dynamic and not ref.resolved:
        out.append("- chosen when rendering")
    return "\n".join(out)


def hover_super(q: Query) -> str | None:
    graph = q.analysis.template_graph if q.analysis else None
    block = cursor.super_call_at(graph, q.path, q.line, q.col)
    if block is None or graph is None:
        return None
    parents = graph.overridden(block)
    if not parents:
        return f"`super()` of block `{block.name}`: no parent template defines it"
    parent = parents[0]
    node = graph.templates[parent.template]
    lines = q.positions.index(parent.span.file).lines
    start, end = block_extent(node, parent)
    text = "\n".join(lines[start - 1 : min(end, start + 30)])
    return f"`super()`: block `{block.name}` of {_where(parent.span)}\n```\n{text}\n```"


def hover_block(q: Query) -> str | None:
    graph = q.analysis.template_graph if q.analysis else None
    block = cursor.block_at(graph, q.path, q.line, q.col)
    if block is None or graph is None:
        return None
    out = [f"**block** `{block.name}`{' (required)' if block.required else ''}, defined at {_where(block.name_span)}"]
    overridden, overrides = block_relatives(q, block)
    out.extend(f"- overrides {_where(s)}" for s in overridden)
    out.extend(f"- overridden at {_where(s)}" for s in overrides)
    return "\n".join(out)


def block_relatives(q: Query, block: BlockDef) -> tuple[list[Span], list[Span]]:
    """(the definitions `block` overrides, those that override it), from every open
    experiment that reads its file: a parent's own check does not know its children."""
    overridden: list[Span] = []
    overrides: list[Span] = []
    for graph in q.template_graphs():
        same = cursor.block_at(graph, block.name_span.file, block.name_span.line, block.name_span.col)
        if same is None:
            continue
        overridden += [b.name_span for b in graph.overridden(same) if b.name_span not in overridden]
        overrides += [b.name_span for b in graph.overrides(same) if b.name_span not in overrides]
    return overridden, overrides


def hover_tag(q: Query) -> str | None:
    m = cursor.match_at(cursor.TAG, q.text, q.col)
    if m is None:
        return None
    analysis = q.analysis
    node = analysis.index.node_at(q.path, q.line, q.col) if analysis else None
    if node is not None and node.kind == Kind.VAR and analysis is not None and analysis.graph is not None:
        var = analysis.graph.variables.get(node.var or "")
        out = [f'**!var** `{node.var}`']
        if var is not None:
            out.append("required (no default)" if var.default is MISSING else f"default: `{var.default!r}`")
            out.extend(f"- used at {_where(span)}" for span in var.uses)
        return "\n".join(out)
    spec_text = m.group("spec")
    if not spec_text:
        return f"`!{m.group('kind')}`"
    out = [f"`!{m.group('kind')}:{spec_text}`"]
    imports = analysis.imports if analysis else None
    resolved = imports.resolved.get(node) if imports is not None and node is not None else None
    if resolved is not None and resolved.signature is not None:
        out.append(f"```python\n{spec_text.rpartition(':')[2]}{resolved.signature}\n```")
    definition = definition_of_spec(q, spec_text, node)
    if definition is not None:
        summary = first_paragraph(definition.docstring)
        if summary:
            out.append(summary)
        out.append(f"defined in {_where(Span.point(definition.file, definition.line))}")
    return "\n\n".join(out)


def definition_of_spec(q: Query, spec_text: str, node: Node | None = None) -> PyDefinition | None:
    """The Python definition of a tag's callable, read from source (never imported here)."""
    import os

    from ..imports.locate import NotFound, locate
    from ..imports.specs import Form

    try:
        spec = parse_spec(spec_text, os.path.dirname(q.path))
    except SpecError:
        return None
    if spec.form in (Form.BUILTIN, Form.HELPER):
        return None
    loc = None
    imports = q.analysis.imports if q.analysis else None
    if imports is not None and node is not None:
        loc = imports.locations.get(node)
    if loc is None:
        try:
            loc = locate(spec, os.path.dirname(q.path))
        except (NotFound, Exception):  # locate reads the file system only; any failure: unknown
            return None
    if loc is None or loc.file is None:
        return None
    return find_definition(loc.file, spec.attrs)


ROLES = {
    "set": "wins",
    "overridden": "overridden",
    "replaced": "replaced: a parent block that this block replaces (never rendered)",
    "knob": "gives the value",
    "default": "a default the value given before it made unused",
    "maybe": "may set it (inside an `if`)",
}


def hover_key(q: Query) -> str | None:
    """The value of the key under the cursor and who set it: the override chain of `fgc
    explain` (fgc/analysis/chain.py), found by the key's own position (each `.define:` entry is
    its own key)."""
    analysis = q.analysis
    if analysis is None or analysis.graph is None:
        return None
    entry = analysis.index.entry_at(q.path, q.line, q.col)
    if entry is None:
        return None
    chain = key_chain(analysis.graph, analysis.template_graph, entry.key_span, q.line_of, analysis.variables)
    winner = (analysis.index.entry_with_key(chain[0].span) if chain[0].span else None) or entry
    name = ".".join(entry.path)
    value = describe_node(winner.entry.value)
    if q.broken:
        written = _value_in_line(q.text, entry.path[-1])
        now = f"`{written}` in the buffer" if written is not None else "unknown"
        out = [
            f"`{name}` = {now}: the buffer does not compile, so what follows is from the last check that did"
            f" (where it was `{value}`)"
        ]
    else:
        out = [f"`{name}` = `{value}`"]
    if q.stale and not q.broken:
        out.append("_(from the check of an older version of this buffer; the newer one is not finished)_")
    if len(chain) == 1 and chain[0].role == "set":
        out.append(f"- set at {_where(chain[0].span)}" if chain[0].span else "- set on the command line")
        return "\n".join(out)
    for link in chain:
        role = ROLES.get(link.role, link.role)
        if link.span is None:
            out.append(f"- {role}: `{link.text}` (command line)")
        else:
            out.append(f"- {role} at {_where(link.span)}: `{link.text}`")
    return "\n".join(out)


def _value_in_line(text: str, key: str) -> str | None:
    """What the line writes after `key:` (its trailing `##` comment cut)."""
    head, sep, rest = text.partition(":")
    if not sep or head.strip().strip("'\"") != key:
        return None
    return rest.split(" ##", 1)[0].strip() or None


def hover(q: Query) -> str | None:
    for feature in (hover_reference, hover_super, hover_block, hover_tag, hover_key):
        text = feature(q)
        if text:
            return text
    return None


def register(server: FgcServer, guarded: Guard) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded
    def on_hover(ls: FgcServer, params: types.HoverParams) -> types.Hover | None:
        q = query(ls, params.text_document, params.position)
        if q is None:
            return None
        text = hover(q)
        if text is None:
            return None
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text))
