"""`!dlist` folding: a labelled mapping becomes the list of its values.

Labels exist so that a child template can replace an item (write its label again: duplicate
keys, last wins at the first position) or delete it (`label: ~`). Runs after duplicate keys
are resolved; the folded node is a `!dlist` whose body is a sequence.
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostic, error
from ..syntax.config_ast import Document, Mapping, ConfigAstNode, Sequence, Tagged
from ._rewrite import Rewriter, is_empty, is_null, unwrap


def fold_dlists(doc: Document) -> tuple[Document, list[Diagnostic]]:
    folder = _Folder()
    return folder.document(doc), folder.diagnostics


class _Folder(Rewriter):
    def __init__(self) -> None:
        super().__init__()
        self.diagnostics: list[Diagnostic] = []

    def tagged(self, node: Tagged) -> ConfigAstNode:
        if node.tag.kind != "dlist":
            return super().tagged(node)
        body = unwrap(node.body)
        if isinstance(body, Mapping):
            items = [self.visit(e.value) for e in body.entries if not is_null(e.value)]
        elif is_empty(body):
            items = []
        else:
            self.diagnostics.append(
                error(
                    "FG0508",
                    "`!dlist` takes a mapping of labelled items (`label: item`; `label: ~` deletes one)",
                    body.span,
                    hint="use `!list` for a plain sequence" if isinstance(body, Sequence) else None,
                )
            )
            items = []
        return replace(node, body=Sequence(body.span, items))
