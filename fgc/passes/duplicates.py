"""Duplicate keys: the last value wins, at the position of the first entry.

This is the override idiom of template inheritance (`== super()` renders the parent's keys, the
child then writes some again), so it is silent by default. Every override is recorded (with the
spans of the entries that lost) in `Graph.overrides`, which `fgc explain` shows as a value's
chain; `notes=True` also reports each one as a note (FG0505).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..diagnostics import Diagnostic, Related, note
from ..graph import Override
from ..syntax.config_ast import Document, Entry, Mapping, ConfigAstNode, Scalar
from ._rewrite import Rewriter, unwrap


def resolve_duplicates(
    doc: Document, notes: bool = False
) -> tuple[Document, list[Override], list[Diagnostic]]:
    resolver = _Dedup(notes)
    return resolver.document(doc), resolver.overrides, resolver.diagnostics


def _key_identity(node: ConfigAstNode) -> Any:
    node = unwrap(node)
    if isinstance(node, Scalar):
        # As YAML does: keys are equal when their values and types are (`1`, `1.0`, `true`
        # and `"1"` are four keys; the reference, a Python dict, merged the first three).
        return ("scalar", type(node.value).__name__, node.value)
    return ("node", id(node))


class _Dedup(Rewriter):
    def __init__(self, notes: bool) -> None:
        super().__init__()
        self.notes = notes
        self.overrides: list[Override] = []
        self.diagnostics: list[Diagnostic] = []

    def mapping(self, node: Mapping) -> ConfigAstNode:
        slots: dict[Any, int] = {}
        out: list[Entry] = []
        lost: dict[int, list[Entry]] = {}  # slot -> every entry written for it, in order
        for e in node.entries:
            ident = _key_identity(e.key)
            i = slots.get(ident)
            if i is None:
                slots[ident] = len(out)
                out.append(e)
                continue
            lost.setdefault(i, [out[i]]).append(e)
            # The last entry wins, at the first entry's place in the order; its own key (and
            # span) stays, so that messages and origins point at the text that won.
            out[i] = Entry(e.key, e.value, e.span)
        if not lost:  # no key written twice (most mappings): the node itself when nothing below changed
            visited = [(e, self.visit(e.key), self.visit(e.value)) for e in out]
            if all(k is e.key and v is e.value for e, k, v in visited):
                return node
            return replace(node, entries=[Entry(k, v, e.span) for e, k, v in visited])
        entries = []
        for i, e in enumerate(out):
            if i in lost:
                winner, losers = lost[i][-1], lost[i][:-1]
                key = unwrap(e.key)
                name = str(key.value) if isinstance(key, Scalar) else "?"
                ov = Override(name, losers[0].key.span, winner.key.span, [x.key.span for x in losers])
                self.overrides.append(ov)
                if self.notes:
                    self.diagnostics.append(
                        note(
                            "FG0505",
                            f"`{name}` is written {len(losers) + 1} times; the last value wins",
                            winner.key.span,
                            related=tuple(Related(s, "overridden here") for s in ov.overridden),
                        )
                    )
            entries.append(Entry(self.visit(e.key), self.visit(e.value), e.span))
        return replace(node, entries=entries)
