"""The Forgather tags (`!singleton:torch.optim:AdamW`, `!dict`, `!var`, ...): one table that every
stage reads.

The config lexer accepts the names in `TAGS` (FG0407 for any other), lowering maps each to the
graph node `Kind` it builds, import resolution and signature binding visit the callable kinds,
codegen and `config.yaml` write a node by its kind, and outside the compiler the language
server's completion and the VS Code grammar builder (`editors/vscode/syntaxes/build_grammar.py`)
list the names from here. Adding a tag is one row in `TAGS` (and, for a new node kind, one
`Kind` and the case lines that build it: docs/architecture.md, "Adding a tag kind").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(str, enum.Enum):
    """The kind of a config graph node (`graph.json`'s `"kind"`)."""

    SINGLETON = "singleton"
    FACTORY = "factory"
    PARTIAL = "partial"
    META = "meta"
    VAR = "var"
    DICT = "dict"
    LIST = "list"
    TUPLE = "tuple"
    DLIST = "dlist"

    def __str__(self) -> str:
        return self.value


class Family(enum.Enum):
    """What a tag's body is."""

    CALLABLE = "callable"  # `!tag:module:Attr`, the body is the call's arguments
    CONTAINER = "container"  # a Python dict, list or tuple built from the body
    VARIABLE = "variable"  # `!var name`: a keyword parameter of construct()


@dataclass(frozen=True)
class Tag:
    """A tag of the dialect (`!call`, `!var`, ...) and what it lowers to."""
    name: str  # as written after `!`
    kind: Kind  # the graph node it lowers to
    family: Family
    summary: str  # one line, for the editor and the docs


_CALL, _CONTAINER = Family.CALLABLE, Family.CONTAINER
# One row per tag; `!call` = `!singleton` and `!lambda` = `!partial` (docs/language.md, "Tags").
TAGS: dict[str, Tag] = {
    t.name: t
    for t in (
        Tag("call", Kind.SINGLETON, _CALL, "call once per construction; every alias shares the object"),
        Tag("singleton", Kind.SINGLETON, _CALL, "call once per construction; every alias shares the object"),
        Tag("factory", Kind.FACTORY, _CALL, "call afresh at every reference"),
        Tag("partial", Kind.PARTIAL, _CALL, "a callable: extra positional arguments appended, keywords merged"),
        Tag("lambda", Kind.PARTIAL, _CALL, "a callable: extra positional arguments appended, keywords merged"),
        Tag("meta", Kind.META, _CALL, "the reference's build-time hook: kept in the graph, never executed"),
        Tag("var", Kind.VAR, Family.VARIABLE, "a keyword parameter of construct(), with an optional default"),
        Tag("dict", Kind.DICT, _CONTAINER, "a dict of the body's mapping"),
        Tag("list", Kind.LIST, _CONTAINER, "a list of the body's sequence"),
        Tag("tuple", Kind.TUPLE, _CONTAINER, "a tuple of the body's sequence"),
        Tag("dlist", Kind.DLIST, _CONTAINER, "a list from a labelled mapping (a later label overrides)"),
    )
}

FORGATHER_TAGS = frozenset(TAGS)
CALLABLE_TAGS = frozenset(n for n, t in TAGS.items() if t.family is Family.CALLABLE)
CONTAINER_TAGS = frozenset(n for n, t in TAGS.items() if t.family is Family.CONTAINER)
# Tag name as written -> node kind.
TAG_KINDS: dict[str, Kind] = {n: t.kind for n, t in TAGS.items()}
CALLABLE_KINDS = frozenset(t.kind for t in TAGS.values() if t.family is Family.CALLABLE)
CONTAINER_KINDS = frozenset(t.kind for t in TAGS.values() if t.family is Family.CONTAINER)
# The containers whose value is a Python sequence (a list or a tuple).
SEQUENCE_KINDS = frozenset({Kind.LIST, Kind.TUPLE, Kind.DLIST})
