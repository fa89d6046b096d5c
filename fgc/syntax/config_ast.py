"""The typed config AST: the YAML layer after rendering, every node with its original Span.

Produced by `fgc.syntax.config_parser.parse_config`; consumed by the semantic passes
(`fgc.passes`). The AST keeps the document as written: duplicate keys stay as separate entries
in order, merge keys (`<<: *x`) stay entries, aliases stay `Alias` nodes. Resolving those is
the job of the semantic passes, not of the parser.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterator, Union

from ..diagnostics import Span

ScalarValue = Union[None, bool, int, float, str]


class ScalarStyle(enum.Enum):
    PLAIN = "plain"
    SINGLE = "single"  # 'text'
    DOUBLE = "double"  # "text"
    LITERAL = "literal"  # |
    FOLDED = "folded"  # >


# The Forgather tags. `call` = `singleton`, `partial` = `lambda` (DESIGN §4).
CALLABLE_TAGS = frozenset({"call", "singleton", "factory", "partial", "lambda", "meta"})
CONTAINER_TAGS = frozenset({"dict", "list", "tuple", "dlist"})
FORGATHER_TAGS = CALLABLE_TAGS | CONTAINER_TAGS | {"var"}


@dataclass(eq=False)
class Node:
    span: Span


@dataclass(eq=False)
class Scalar(Node):
    """A scalar, typed by the YAML 1.2 core schema (or by an explicit `!!` tag).

    An empty node (`key:` with nothing after it, or a tag with no body) is a PLAIN scalar with
    value None and raw "".
    """

    value: ScalarValue
    style: ScalarStyle = ScalarStyle.PLAIN
    raw: str = ""  # the scalar's source text as rendered (without its `!!` tag)
    std_tag: str | None = None  # an explicit standard tag as written, e.g. "!!float"


@dataclass(eq=False)
class Entry:
    """One `key: value` pair of a mapping."""

    key: Node
    value: Node
    span: Span  # from the key's start to the value's end


@dataclass(eq=False)
class Mapping(Node):
    entries: list[Entry] = field(default_factory=list)
    flow: bool = False

    def get(self, key: ScalarValue) -> Node | None:
        """The value of the last entry whose scalar key equals `key` (last wins)."""
        found = None
        for e in self.entries:
            if isinstance(e.key, Scalar) and e.key.value == key:
                found = e.value
        return found


@dataclass(eq=False)
class Sequence(Node):
    items: list[Node] = field(default_factory=list)
    flow: bool = False


@dataclass(frozen=True)
class Tag:
    """A Forgather tag: `!kind`, `!kind:spec`, `!kind:spec@name`, `!kind:@name`.

    `kind` is the tag name without `!` (validated by the parser against FORGATHER_TAGS);
    `spec` is the callable spec as written (None when absent or empty); `name` is the `@name`.
    `!dict@x` names the node like `!dict:@x` (DESIGN §4).
    """

    kind: str
    spec: str | None
    name: str | None
    raw: str  # the whole tag as written, including `!`
    span: Span


@dataclass(eq=False)
class Tagged(Node):
    tag: Tag
    body: Node  # Scalar (an empty Scalar when the tag has no body), Mapping, Sequence or Alias


@dataclass(eq=False)
class Anchor(Node):
    """`&name node`. The span covers `&name` and the node."""

    name: str
    node: Node
    name_span: Span


@dataclass(eq=False)
class Alias(Node):
    """`*name`."""

    name: str


@dataclass(eq=False)
class Document:
    root: Node | None  # None for an empty document
    span: Span


def walk(node: Node | None) -> Iterator[Node]:
    """Every node of a tree in document order (pre-order), keys before values."""
    if node is None:
        return
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, Mapping):
            for e in reversed(n.entries):
                stack.append(e.value)
                stack.append(e.key)
        elif isinstance(n, Sequence):
            stack.extend(reversed(n.items))
        elif isinstance(n, Tagged):
            stack.append(n.body)
        elif isinstance(n, Anchor):
            stack.append(n.node)
