"""Merge keys: `<<: *base` copies the entries of the aliased mapping into this one.

As in YAML 1.1 (and the reference): merged entries come first, explicit entries after them (so
an explicit key overrides a merged one once duplicate keys are resolved); with a sequence of
mappings `<<: [*a, *b]`, earlier mappings take precedence over later ones. A mapping carrying a
Forgather tag merges its body's entries. Anything else after `<<` is an error (FG0504).
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostic, Related, error
from ..syntax.config_ast import Anchor, Document, Entry, Mapping, ConfigAstNode, Scalar, ScalarStyle, Sequence, Tagged
from ._rewrite import Rewriter, unwrap


def merge_keys(doc: Document) -> tuple[Document, list[Diagnostic]]:
    merger = _Merger()
    return merger.document(doc), merger.diagnostics


def is_merge_key(node: ConfigAstNode) -> bool:
    return isinstance(node, Scalar) and node.style == ScalarStyle.PLAIN and node.value == "<<"


class _Merger(Rewriter):
    def __init__(self) -> None:
        super().__init__()
        self.diagnostics: list[Diagnostic] = []

    def mapping(self, node: Mapping) -> ConfigAstNode:
        if not any(is_merge_key(e.key) for e in node.entries):
            return super().mapping(node)
        merged: list[Entry] = []
        explicit: list[Entry] = []
        for e in node.entries:
            if not is_merge_key(e.key):
                explicit.append(Entry(self.visit(e.key), self.visit(e.value), e.span))
                continue
            value = unwrap(e.value)
            sources = value.items if isinstance(value, Sequence) else [e.value]
            groups = []
            for src in sources:
                entries = self._entries_of(src)
                if entries is None:
                    # An alias was replaced by its anchor: point at this `<<` and at the anchor.
                    aliased = isinstance(src, Anchor)
                    self.diagnostics.append(
                        error(
                            "FG0504",
                            "a merge key `<<` takes a mapping or a sequence of mappings "
                            "(usually an alias such as `<<: *base`)",
                            e.key.span if aliased else src.span,
                            related=(Related(src.name_span, "the aliased value"),) if isinstance(src, Anchor) else (),
                        )
                    )
                    continue
                groups.append(entries)
            for entries in reversed(groups):  # earlier mappings win: they come last
                merged.extend(entries)
        return replace(node, entries=merged + explicit)

    def _entries_of(self, src: ConfigAstNode) -> list[Entry] | None:
        target = unwrap(self.visit(src))
        if isinstance(target, Tagged):
            target = unwrap(target.body)
        if isinstance(target, Mapping):
            return list(target.entries)
        return None
