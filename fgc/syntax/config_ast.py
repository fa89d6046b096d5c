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

from .. import tags
from ..diagnostics import Span

ScalarValue = Union[None, bool, int, float, str]


class ScalarStyle(enum.Enum):
    PLAIN = "plain"
    SINGLE = "single"  # 'text'
    DOUBLE = "double"  # "text"
    LITERAL = "literal"  # |
    FOLDED = "folded"  # >


# The Forgather tags, from the one table (`fgc/tags.py`).
CALLABLE_TAGS, CONTAINER_TAGS, FORGATHER_TAGS = tags.CALLABLE_TAGS, tags.CONTAINER_TAGS, tags.FORGATHER_TAGS


@dataclass(eq=False)
class ConfigAstNode:
    """A node of a config's syntax tree (the YAML layer), before lowering to the config graph
    (whose nodes are `fgc.graph.Node`)."""

    span: Span


@dataclass(eq=False)
class Scalar(ConfigAstNode):
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

    key: ConfigAstNode
    value: ConfigAstNode
    span: Span  # from the key's start to the value's end


@dataclass(eq=False)
class Mapping(ConfigAstNode):
    """A block or flow mapping."""
    entries: list[Entry] = field(default_factory=list)
    flow: bool = False

    def get(self, key: ScalarValue) -> ConfigAstNode | None:
        """The value of the last entry whose scalar key equals `key` (last wins)."""
        found = None
        for e in self.entries:
            if isinstance(e.key, Scalar) and e.key.value == key:
                found = e.value
        return found


@dataclass(eq=False)
class Sequence(ConfigAstNode):
    """A block or flow sequence."""
    items: list[ConfigAstNode] = field(default_factory=list)
    flow: bool = False


@dataclass(frozen=True)
class Tag:
    """A Forgather tag: `!kind`, `!kind:spec`, `!kind:spec@name`, `!kind:@name`.

    `kind` is the tag name without `!` (validated by the parser against FORGATHER_TAGS);
    `spec` is the callable spec as written (None when absent or empty); `name` is the `@name`.
    `!dict@x` names the node like `!dict:@x` (docs/language.md, Tags).
    """

    kind: str
    spec: str | None
    name: str | None
    raw: str  # the whole tag as written, including `!`
    span: Span


@dataclass(eq=False)
class Tagged(ConfigAstNode):
    """A tagged node: the tag and its body."""
    tag: Tag
    body: ConfigAstNode  # Scalar (an empty Scalar when the tag has no body), Mapping, Sequence or Alias


@dataclass(eq=False)
class Anchor(ConfigAstNode):
    """`&name node`. The span covers `&name` and the node."""

    name: str
    node: ConfigAstNode
    name_span: Span


@dataclass(eq=False)
class Alias(ConfigAstNode):
    """`*name`."""

    name: str


@dataclass(eq=False)
class Document:
    """One YAML document of a config: its root node and span."""
    root: ConfigAstNode | None  # None for an empty document
    span: Span


def walk(node: ConfigAstNode | None) -> Iterator[ConfigAstNode]:
    """Every node of a tree in document order (pre-order), keys before values."""
    if node is None:
        return
    stack: list[ConfigAstNode] = [node]
    pop, push = stack.pop, stack.append
    while stack:
        n = pop()
        yield n
        kind = type(n)
        if kind is Scalar or kind is Alias:  # the leaves, most nodes: no isinstance chain
            continue
        if isinstance(n, Mapping):
            for e in reversed(n.entries):
                push(e.value)
                push(e.key)
        elif isinstance(n, Sequence):
            stack.extend(reversed(n.items))
        elif isinstance(n, Tagged):
            push(n.body)
        elif isinstance(n, Anchor):
            push(n.node)


def is_merge_key(entry: Entry) -> bool:
    """Whether `entry` is a YAML merge key `<<: ...` (a plain `<<`; quoted `'<<'` is a string)."""
    key = entry.key
    return isinstance(key, Scalar) and key.style is ScalarStyle.PLAIN and key.raw == "<<"


# --------------------------------------------------------------------------------------------
# Debugging dump: one node per line, children indented (used by tests and `fgc parse`).


def _span_text(span: Span, base_file: str | None) -> str:
    where = f"{span.line}:{span.col}-{span.end_line}:{span.end_col}"
    if base_file is not None and span.file != base_file:
        import os

        where = f"{os.path.basename(span.file)}:{where}"
    return where


def dump(node: ConfigAstNode | Document | None, base_file: str | None = None) -> str:
    """A readable outline of a config AST: kind, style, value and span of every node.

        mapping block @1:1-2:5
          entry @1:1-1:5
            key: scalar plain 'a' @1:1-1:2
            value: scalar plain 1 @1:4-1:5

    Spans print as `line:col-end_line:end_col`, prefixed by the file's base name when the file
    differs from `base_file` (default: the file of the outermost node).
    """
    if node is None:
        return "(empty)"
    if base_file is None:
        base_file = node.span.file
    lines: list[str] = []

    def emit(n: ConfigAstNode, depth: int, label: str = "") -> None:
        pad = "  " * depth + label
        at = "@" + _span_text(n.span, base_file)
        if isinstance(n, Scalar):
            tag = f" {n.std_tag}" if n.std_tag else ""
            lines.append(f"{pad}scalar {n.style.value}{tag} {n.value!r} {at}")
        elif isinstance(n, Mapping):
            lines.append(f"{pad}mapping {'flow' if n.flow else 'block'} {at}")
            for e in n.entries:
                lines.append(f"{'  ' * (depth + 1)}entry @{_span_text(e.span, base_file)}")
                emit(e.key, depth + 2, "key: ")
                emit(e.value, depth + 2, "value: ")
        elif isinstance(n, Sequence):
            lines.append(f"{pad}sequence {'flow' if n.flow else 'block'} {at}")
            for item in n.items:
                emit(item, depth + 1)
        elif isinstance(n, Tagged):
            t = n.tag
            lines.append(f"{pad}tagged {t.raw} kind={t.kind} spec={t.spec!r} name={t.name!r} {at}")
            emit(n.body, depth + 1)
        elif isinstance(n, Anchor):
            lines.append(f"{pad}anchor &{n.name} {at}")
            emit(n.node, depth + 1)
        elif isinstance(n, Alias):
            lines.append(f"{pad}alias *{n.name} {at}")
        else:  # pragma: no cover - every node kind is listed above
            lines.append(f"{pad}{type(n).__name__} {at}")

    if isinstance(node, Document):
        lines.append(f"document @{_span_text(node.span, base_file)}")
        if node.root is None:
            lines.append("  (empty)")
        else:
            emit(node.root, 1)
    else:
        emit(node, 0)
    return "\n".join(lines)
