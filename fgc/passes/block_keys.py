"""Keys that leave their block (FG0523): a key written in a block after the block's parent
content (`== super()`) or an `include`, at a column that makes it a sibling of that content
instead of one of its keys.

    [optimizer]
    == super()          ## renders `.define: &optimizer !partial:...AdamW` and its keys at column 5
    lr: 0.1             ## column 1: a new top-level target `lr`; AdamW keeps its own lr

YAML reads the key by its column, and the block's header says nothing about it, so the config
is valid and the value changes nothing the user meant. The key is reported when the entry before
it in its mapping holds a block mapping indented deeper than the key, and either that mapping
has a key of the same name (it was meant to override it) or the key is a plain value at the top
level (a new target holding a constant). A key written again at its own level (a duplicate, the
override idiom one level up) and a `.define` are never reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Diagnostic, Related, Span, warning
from ..inheritance.template_pass import TemplateGraph
from ..syntax.config_ast import Anchor, Document, Entry, Mapping, Scalar, Tagged, walk
from ..syntax.pairing import structure_of
from ..syntax.template_ast import Expression, Statement, TomlBlock

CODE = "FG0523"


@dataclass(frozen=True)
class _Block:
    """A template's block: its name, file and lines, and those in it that bring in other text."""
    name: str
    file: str
    start: int
    end: int
    content: tuple[int, ...]  # lines of a `== super()` or an `include` in the block


def keys_leaving_blocks(document: Document, templates: TemplateGraph) -> list[Diagnostic]:
    blocks = _blocks(templates)
    out: list[Diagnostic] = []
    for node in walk(document.root):
        if not isinstance(node, Mapping) or node.flow:
            continue
        seen: set[object] = set()
        by_key: dict[object, list[Entry]] = {}  # with the parent's, after super(); in order
        for e in node.entries:
            by_key.setdefault(_key(e), []).append(e)
        for before, entry in zip(node.entries, node.entries[1:]):
            seen.add(_key(before))
            same = by_key[_key(before)]
            d = _leaving(before, same, entry, node is _root(document), blocks, seen)
            if d is not None:
                out.append(d)
    return out


def _root(document: Document) -> object:
    root = document.root
    return root.node if isinstance(root, Anchor) else root


def _key(entry: Entry) -> object:
    return entry.key.value if isinstance(entry.key, Scalar) else id(entry.key)


def _body(value: object) -> tuple[Mapping | None, str]:
    """The block mapping a value holds, and how to name it (`&optimizer`, its tag)."""
    names = []
    if isinstance(value, Anchor):
        names.append(f"&{value.name}")
        value = value.node
    if isinstance(value, Tagged):
        names.append(value.tag.raw)
        value = value.body
    if isinstance(value, Mapping) and not value.flow and value.entries:
        return value, names[0] if names else ""
    return None, ""


def _leaving(
    before: Entry, same: list[Entry], entry: Entry, at_top: bool, blocks: list[_Block], seen: set[object]
) -> Diagnostic | None:
    """The warning when `entry`, right after `before` in a mapping, leaves `before`'s block
    mapping; `same`: every entry of the mapping with `before`'s key (the parent's and the
    child's, after `== super()`)."""
    key = entry.key
    if not isinstance(key, Scalar) or not isinstance(key.value, str) or key.value.startswith("."):
        return None
    if key.value in seen:
        return None  # written again at its own level: an override
    body, what = _body(before.value)
    if body is None:
        return None
    column = body.entries[0].key.span.col
    if key.span.col >= column:
        return None
    block = _block_at(blocks, key.span)
    if block is None or not any(line < key.span.line for line in block.content):
        return None
    inner = {
        e.key.value
        for b in (_body(x.value)[0] for x in same)
        if b is not None
        for e in b.entries
        if isinstance(e.key, Scalar)
    }
    plain = isinstance(entry.value, Scalar)
    if key.value not in inner and not (at_top and plain):
        return None
    where = "a new top-level target" if at_top else "a new key of the mapping around it"
    named = f"`{what}`" if what else f"the mapping of `{before.key.value if isinstance(before.key, Scalar) else '?'}`"
    return warning(
        CODE,
        f"`{key.value}` at column {key.span.col} leaves block `{block.name}`: it is {where}, not a key of "
        f"{named}, whose keys are at column {column}",
        key.span,
        related=(Related(body.entries[0].key.span, f"the keys of {named} start here"),),
        hint=f"indent `{key.value}` to column {column} to set it in {named}",
    )


# --------------------------------------------------------------------------------------------
# Blocks and what renders content into them


def _blocks(templates: TemplateGraph) -> list[_Block]:
    out = []
    for node in templates.templates.values():
        chunk = node.chunk
        last = chunk.first_line + max(chunk.line_count, 1) - 1
        content = [
            item.span.line
            for item in chunk.walk()
            if (isinstance(item, Expression) and "super(" in item.body)
            or (isinstance(item, Statement) and item.keyword == "include")
        ]
        for pair in structure_of(chunk).pairs:
            if not pair.is_block:
                continue
            opener = pair.opener
            start = pair.span.line
            if isinstance(opener, TomlBlock):
                end = max(opener.span.end_line, start)
            else:
                end = pair.closer.span.end_line if pair.closer is not None else last
            inside = tuple(line for line in content if start <= line <= end)
            out.append(_Block(pair.name, node.file, start, end, inside))
    return out


def _block_at(blocks: list[_Block], span: Span) -> _Block | None:
    """The innermost block around a position."""
    found = [b for b in blocks if b.file == span.file and b.start <= span.line <= b.end]
    return max(found, key=lambda b: b.start, default=None)
