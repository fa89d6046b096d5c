"""Dot-name elision: top-level keys that start with `.` are not targets.

The idiom `.define: &x <value>` defines an anchor without creating a target. Nested keys that
start with `.` are kept. The root must be a plain mapping (its keys are the targets, FG0506).
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostic, error
from ..syntax.config_ast import Document, Mapping
from ._rewrite import is_null, key_text, unwrap
from .unused_defines import is_marked


def elide_dot_names(doc: Document) -> tuple[Document, list[Diagnostic]]:
    if doc.root is None or is_null(doc.root):
        return Document(None, doc.span), []
    root = unwrap(doc.root)
    if not isinstance(root, Mapping):
        return Document(None, doc.span), [
            error(
                "FG0506",
                "the config must be a mapping of targets (`main: ...`) at the top level",
                root.span,
            )
        ]
    # Unused entries (fgc/passes/unused_defines.py) stay until lowering keeps them aside.
    entries = [e for e in root.entries if not (key := key_text(e.key) or "").startswith(".") or is_marked(key)]
    return Document(replace(root, entries=entries), doc.span), []
