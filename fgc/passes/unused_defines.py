"""Top-level `.name:` entries that nothing uses (FG0540).

The `.define: &x <value>` idiom defines an anchor without a target; dot-name elision drops the
entry once aliases have taken its value where it is used. An entry that no alias reaches (from
a target, or from another entry that one reaches) would vanish unchecked: a misspelt argument
or a wrong value in it passed silently. Such an entry is reported (except in fgc's stdlib, whose
blocks children replace), and its value is kept beside the graph (`Graph.unused`) so that import resolution checks its callables, arguments and values
like the config's, though nothing builds it.
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostic, warning
from ..syntax.config_ast import Alias, Anchor, Document, Mapping, Scalar, walk
from ._rewrite import key_text, unwrap

CODE = "FG0540"
# The key an unused entry carries through the passes after alias resolution, so that duplicate
# keys (several `.define:`) do not merge it away; it still starts with `.` (no target).
_MARK = ".\0unused"


def unused_entries(doc: Document) -> tuple[list[int], list[Diagnostic]]:
    """The indices of the root's dot-named entries that nothing uses, with their warnings."""
    root = unwrap(doc.root) if doc.root is not None else None
    if not isinstance(root, Mapping):
        return [], []
    dotted = {i for i, e in enumerate(root.entries) if (key_text(e.key) or "").startswith(".")}
    if not dotted:
        return [], []
    owner: dict[str, int] = {}  # anchor -> the top-level entry that defines it
    uses: list[set[str]] = []
    for i, e in enumerate(root.entries):
        names: set[str] = set()
        for n in [*walk(e.key), *walk(e.value)]:
            if isinstance(n, Anchor):
                owner.setdefault(n.name, i)
            elif isinstance(n, Alias):
                names.add(n.name)
        uses.append(names)
    reached: set[int] = set()
    frontier = [i for i in range(len(root.entries)) if i not in dotted]
    while frontier:
        i = frontier.pop()
        if i in reached:
            continue
        reached.add(i)
        frontier.extend(j for name in uses[i] if (j := owner.get(name)) is not None and j not in reached)
    unused = sorted(dotted - reached)
    return unused, [_warning(root, i) for i in unused if not _in_stdlib(root.entries[i].key.span.file)]


def _in_stdlib(file: str) -> bool:
    """fgc's own templates define what their children may or may not use (a child that replaces
    the block using `&corpus` leaves it unused): no warning there, only the check."""
    import os

    from ..resources import stdlib_dir

    base = os.path.realpath(stdlib_dir())
    return os.path.realpath(file).startswith(base + os.sep)


def _warning(root: Mapping, i: int) -> Diagnostic:
    e = root.entries[i]
    key = key_text(e.key) or "?"
    anchors = [n.name for n in walk(e.value) if isinstance(n, Anchor)]
    if anchors:
        names = ", ".join(f"`&{a}`" for a in anchors)
        message = f"`{key}` entry never used: no alias refers to {names}, so its value is not part of the config"
        hint = f"refer to it with `*{anchors[0]}`, or delete the entry (its value is still checked)"
    else:
        message = f"`{key}` entry has no anchor: nothing can refer to it, so its value is not part of the config"
        hint = f"give it an anchor (`{key}: &name ...`) and refer to it with `*name`, or delete it"
    return warning(CODE, message, e.key.span, hint=hint)


def mark(doc: Document, indices: list[int]) -> Document:
    """Give the unused entries (by index in the root, after alias resolution) keys of their own."""
    root = unwrap(doc.root) if doc.root is not None else None
    if not indices or not isinstance(root, Mapping) or root is not doc.root:
        return doc
    entries = list(root.entries)
    for i in indices:
        e = entries[i]
        if isinstance(e.key, Scalar):
            entries[i] = replace(e, key=replace(e.key, value=f"{_MARK}{i}:{e.key.value}"))
    return Document(replace(root, entries=entries), doc.span)


def is_marked(key: str | None) -> bool:
    return key is not None and key.startswith(_MARK)


def original_key(key: str) -> str:
    return key.split(":", 1)[1] if is_marked(key) else key
