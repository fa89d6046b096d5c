"""Anchors and aliases: an alias becomes the anchored node itself (shared by identity).

Diagnoses an alias with no anchor before it (FG0501, with a hint when the anchor comes later),
a second anchor of the same name (FG0502), and an alias inside its own anchor (FG0503: the
value would contain itself). A faulty alias is replaced by null so later passes can go on.
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostic, Related, error
from ..syntax.config_ast import Alias, Anchor, Document, ConfigAstNode, Scalar, ScalarStyle, walk
from ._rewrite import Rewriter


def resolve_aliases(doc: Document) -> tuple[Document, list[Diagnostic]]:
    resolver = _Resolver(doc)
    return resolver.document(doc), resolver.diagnostics


class _Resolver(Rewriter):
    def __init__(self, doc: Document) -> None:
        super().__init__()
        self.diagnostics: list[Diagnostic] = []
        self.defined: dict[str, Anchor] = {}  # original Anchor by name, in document order
        self.resolved: dict[str, ConfigAstNode] = {}  # name -> rewritten Anchor
        self.open: list[str] = []  # anchors whose node is being visited
        self.all_anchors: dict[str, Anchor] = {}
        for n in walk(doc.root):
            if isinstance(n, Anchor):
                self.all_anchors.setdefault(n.name, n)

    def anchor(self, node: Anchor) -> ConfigAstNode:
        first = self.defined.get(node.name)
        if first is not None:
            self.diagnostics.append(
                error(
                    "FG0502",
                    f"duplicate anchor `&{node.name}`",
                    node.name_span,
                    related=(Related(first.name_span, "first defined here"),),
                    hint="rename one of them; an alias must name exactly one anchor",
                )
            )
        else:
            self.defined[node.name] = node
        self.open.append(node.name)
        try:
            out = replace(node, node=self.visit(node.node))
        finally:
            self.open.pop()
        if first is None:
            self.resolved[node.name] = out
        return out

    def alias(self, node: Alias) -> ConfigAstNode:
        if node.name in self.open:
            self.diagnostics.append(
                error(
                    "FG0503",
                    f"alias `*{node.name}` is inside its own anchor: the value would contain itself",
                    node.span,
                    related=(Related(self.defined[node.name].name_span, "anchor defined here"),),
                )
            )
            return _null(node)
        target = self.resolved.get(node.name)
        if target is None:
            later = self.all_anchors.get(node.name)
            related: tuple[Related, ...] = ()
            hint = None
            if later is not None:
                related = (Related(later.name_span, "the anchor is defined later, here"),)
                hint = "an anchor must come before its aliases: move the definition up"
            else:
                from ..diagnostics import did_you_mean

                hint = did_you_mean(node.name, self.defined)
            self.diagnostics.append(
                error("FG0501", f"undefined alias `*{node.name}`", node.span, related=related, hint=hint)
            )
            return _null(node)
        return target


def _null(node: ConfigAstNode) -> Scalar:
    return Scalar(node.span, None, ScalarStyle.PLAIN, raw="~")
