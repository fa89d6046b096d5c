"""Unsupported leaves: mapping keys must be strings.

Targets, keyword arguments and `graph.json` objects are keyed by strings; a YAML key such as
`1:` or `null:` in a mapping is reported (FG0510) instead of being silently converted. The labels
of a `!dlist` are only labels: any scalar will do (`null: ~` is the idiom of an empty list that
children extend).
Scalars themselves are always supported: the config parser only produces null, booleans,
integers, floats and strings (YAML 1.2 core schema) and rejects other standard tags.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, error
from ..syntax.config_ast import Document, Mapping, Scalar, Tagged, walk
from ._rewrite import key_text, unwrap


def check_keys(doc: Document) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    seen: set[int] = set()
    labels = {id(unwrap(n.body)) for n in walk(doc.root) if isinstance(n, Tagged) and n.tag.kind == "dlist"}
    for node in walk(doc.root):
        if not isinstance(node, Mapping) or id(node) in seen:
            continue
        seen.add(id(node))
        for e in node.entries:
            if id(node) in labels and isinstance(unwrap(e.key), Scalar):
                continue
            if key_text(e.key) is None:
                diags.append(
                    error(
                        "FG0510",
                        "mapping keys must be strings",
                        e.key.span,
                        hint="quote the key to make it a string",
                    )
                )
    return diags
