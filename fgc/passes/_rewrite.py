"""Shared machinery of the AST -> AST passes: identity-preserving rewriting.

After alias resolution the config AST is a DAG (an alias is the anchored node itself), so a
rewrite must map each node once and reuse the result wherever the node is reached again, or
sharing (and with it singleton identity) would be lost.
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostic, DiagnosticError, Span, error
from ..syntax.config_ast import Alias, Anchor, Document, Entry, Mapping, ConfigAstNode, Scalar, Sequence, Tagged

# Deeper nesting than this is reported instead of overflowing the Python stack.
MAX_DEPTH = 150


class Rewriter:
    """Rebuild a tree bottom-up; subclasses override `mapping`, `sequence`, `tagged`, ..."""

    def __init__(self) -> None:
        self._memo: dict[int, ConfigAstNode] = {}
        self._keep: list[ConfigAstNode] = []  # keep originals alive so their ids stay unique
        self._depth = 0
        # A scalar is its own rewrite unless a subclass says otherwise: no memo, no dispatch.
        self._scalars_stay = type(self).scalar is Rewriter.scalar

    def document(self, doc: Document) -> Document:
        root = self.visit(doc.root) if doc.root is not None else None
        return Document(root, doc.span)

    def visit(self, node: ConfigAstNode) -> ConfigAstNode:
        if type(node) is Scalar and self._scalars_stay and self._depth < MAX_DEPTH:
            return node  # what `scalar` returns; the depth check below would pass
        key = id(node)
        if key in self._memo:
            return self._memo[key]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise DiagnosticError([too_deep(node.span)])
            out = self.dispatch(node)
        finally:
            self._depth -= 1
        self._memo[key] = out
        self._keep.append(node)
        return out

    def dispatch(self, node: ConfigAstNode) -> ConfigAstNode:
        if isinstance(node, Mapping):
            return self.mapping(node)
        if isinstance(node, Sequence):
            return self.sequence(node)
        if isinstance(node, Tagged):
            return self.tagged(node)
        if isinstance(node, Anchor):
            return self.anchor(node)
        if isinstance(node, Alias):
            return self.alias(node)
        return self.scalar(node)

    # Default behaviour: rebuild with rewritten children (the node itself when none changed).
    def mapping(self, node: Mapping) -> ConfigAstNode:
        entries = [(e, self.visit(e.key), self.visit(e.value)) for e in node.entries]
        if all(k is e.key and v is e.value for e, k, v in entries):
            return node
        return replace(node, entries=[Entry(k, v, e.span) for e, k, v in entries])

    def sequence(self, node: Sequence) -> ConfigAstNode:
        items = [self.visit(i) for i in node.items]
        if all(a is b for a, b in zip(items, node.items)):
            return node
        return replace(node, items=items)

    def tagged(self, node: Tagged) -> ConfigAstNode:
        body = self.visit(node.body)
        return node if body is node.body else replace(node, body=body)

    def anchor(self, node: Anchor) -> ConfigAstNode:
        inner = self.visit(node.node)
        return node if inner is node.node else replace(node, node=inner)

    def alias(self, node: Alias) -> ConfigAstNode:
        return node

    def scalar(self, node: ConfigAstNode) -> ConfigAstNode:
        return node


def too_deep(span: Span) -> Diagnostic:
    return error("FG0520", f"the config is nested more than {MAX_DEPTH} levels deep", span)


def unwrap(node: ConfigAstNode) -> ConfigAstNode:
    """The node under any anchors."""
    while isinstance(node, Anchor):
        node = node.node
    return node


def is_empty(node: ConfigAstNode) -> bool:
    """An absent body: `key:` or a tag with nothing after it (not an explicit `~` or `''`)."""
    return isinstance(node, Scalar) and node.value is None and node.raw == ""


def is_null(node: ConfigAstNode) -> bool:
    node = unwrap(node)
    return isinstance(node, Scalar) and node.value is None and node.std_tag in (None, "!!null")


def key_text(node: ConfigAstNode) -> str | None:
    """A mapping key's string value, or None when the key is not a string scalar."""
    node = unwrap(node)
    if isinstance(node, Scalar) and isinstance(node.value, str):
        return node.value
    return None
