"""An undefined alias whose anchor a replaced block used to define: the note at the user's block.

    -- extends 'scripts/causal_lm.fg'
    [optimizer]              ## replaces the parent's block, which included optimizers/adamw.fg
        lr: 0.1              ## ... and with it `.define: &optimizer`

The alias that fails (`*optimizer` in trainers/trainer.fg) is far from the mistake: the block
that replaced its parent's without `== super()`. For each FG0501, the blocks that override a
parent's block without calling `super()` are searched for one whose parent definition wrote
`&name` (on its own lines, or in a template it includes, followed up that template's
`extends`); the diagnostic gets a note at that block's header and the two fixes as its help.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..diagnostics import Diagnostic, Related, Span, display_path
from ..syntax.pairing import structure_of
from .template_pass import BlockDef, TemplateGraph, TemplateNode

_UNDEFINED = re.compile(r"undefined alias `\*([^`]+)`")
_DEPTH = 8  # includes followed inside a replaced block


def note_replaced_anchors(diagnostics: list[Diagnostic], templates: TemplateGraph) -> list[Diagnostic]:
    out = []
    for d in diagnostics:
        m = _UNDEFINED.fullmatch(d.message) if d.code == "FG0501" else None
        found = _replacing_block(templates, m.group(1)) if m else None
        if m is None or found is None:
            out.append(d)
            continue
        block, parent, anchor = found
        name = m.group(1)
        note = Related(
            block.span,
            f"block `{block.name}` replaces its parent's without `== super()`, and the parent's "
            f"defined `&{name}` (at {display_path(anchor.file)}:{anchor.line})",
        )
        hint = (
            f"write `== super()` in block `{block.name}` to keep the parent's content, or define the "
            f"anchor there (`.define: &{name} ...`)"
        )
        out.append(replace(d, related=(*d.related, note), hint=hint))
    return out


def _replacing_block(templates: TemplateGraph, name: str) -> tuple[BlockDef, BlockDef, Span] | None:
    """The block (the input's chain first) that replaced a parent block defining `&name`."""
    order = [templates.root, *(n.name for n in templates.ancestors(templates.root))]
    order += [t for t in templates.templates if t not in order]
    pattern = re.compile(rf"&{re.escape(name)}(?![\w.-])")
    for t in order:
        node = templates.templates.get(t)
        if node is None:
            continue
        for block in node.blocks.values():
            if block.super_calls:
                continue
            for parent in templates.overridden(block):
                where = _defines(templates, templates.templates[parent.template], parent, pattern, _DEPTH)
                if where is not None:
                    return block, parent, where
    return None


def _defines(
    templates: TemplateGraph, node: TemplateNode, block: BlockDef | None, pattern: re.Pattern, depth: int
) -> Span | None:
    """Where `node` (only the lines of `block`, when given) or what it includes writes the
    anchor."""
    start, end = _extent(node, block)
    for item in node.chunk.walk():
        text = getattr(item, "text", None)
        if isinstance(text, str) and start <= item.span.line <= end:
            m = pattern.search(text)
            if m is not None:
                return Span(
                    item.span.file, item.span.line, item.span.col + m.start(), item.span.line, item.span.col + m.end()
                )
    if depth <= 0:
        return None
    for r in node.references:
        if r.kind not in ("include", "extends") or not start <= r.statement_span.line <= end:
            continue
        for target in r.resolved:
            included = templates.templates.get(target)
            if included is not None and included is not node:
                found = _defines(templates, included, None, pattern, depth - 1)
                if found is not None:
                    return found
    return None


def _extent(node: TemplateNode, block: BlockDef | None) -> tuple[int, int]:
    if block is None:
        return 0, 1 << 30
    for pair in structure_of(node.chunk).pairs:
        if pair.is_block and pair.name == block.name and pair.span.line == block.span.line:
            end = pair.closer.span.end_line if pair.closer is not None else pair.opener.span.end_line
            return pair.span.line, max(end, pair.span.line)
    return block.span.line, block.span.line
