"""A stand-in config parser for back-end unit tests: PyYAML events -> the fgc config AST.

Only used to build ASTs from YAML text conveniently; the real parser is
fgc.syntax.config_parser. Spans are 1-based positions in `file`.
"""

from __future__ import annotations

import re

import yaml

from fgc.diagnostics import Span
from fgc.syntax.config_ast import (
    FORGATHER_TAGS,
    Alias,
    Anchor,
    Document,
    Entry,
    Mapping,
    Scalar,
    ScalarStyle,
    Sequence,
    Tag,
    Tagged,
)

_INT = re.compile(r"[-+]?[0-9]+$")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def _plain(text: str):
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if text in (".inf", "+.inf"):
        return float("inf")
    if text == "-.inf":
        return float("-inf")
    if text == ".nan":
        return float("nan")
    return text


def _span(file: str, ev) -> Span:
    s, e = ev.start_mark, ev.end_mark
    return Span(file, s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def parse(text: str, file: str = "test.fg") -> Document:
    events = iter(yaml.parse(text, Loader=yaml.SafeLoader))

    def node(ev):
        span = _span(file, ev)
        if isinstance(ev, yaml.AliasEvent):
            return Alias(span, ev.anchor)
        tag = getattr(ev, "tag", None)
        if isinstance(ev, yaml.ScalarEvent):
            style = {
                None: ScalarStyle.PLAIN,
                "'": ScalarStyle.SINGLE,
                '"': ScalarStyle.DOUBLE,
                "|": ScalarStyle.LITERAL,
                ">": ScalarStyle.FOLDED,
            }[ev.style]
            value = _plain(ev.value) if style == ScalarStyle.PLAIN else ev.value
            std = None
            if tag and tag.startswith("tag:yaml.org,2002:"):
                std = "!!" + tag.rsplit(":", 1)[1]
                value = {"!!str": str, "!!float": float, "!!int": int}.get(std, lambda v: v)(ev.value)
                tag = None
            out = Scalar(
                span,
                value,
                style,
                raw=ev.value if ev.value or style != ScalarStyle.PLAIN else "",
                std_tag=std,
            )
            if style == ScalarStyle.PLAIN and ev.value == "" and tag is None and std is None:
                out.raw = ""
        elif isinstance(ev, yaml.SequenceStartEvent):
            items = []
            while not isinstance(ev2 := next(events), yaml.SequenceEndEvent):
                items.append(node(ev2))
            out = Sequence(span, items, flow=bool(ev.flow_style))
        elif isinstance(ev, yaml.MappingStartEvent):
            entries = []
            while not isinstance(k := next(events), yaml.MappingEndEvent):
                key = node(k)
                value = node(next(events))
                entries.append(Entry(key, value, key.span.union(value.span)))
            out = Mapping(span, entries, flow=bool(ev.flow_style))
        else:
            raise AssertionError(ev)
        if tag and tag.startswith("!") and not tag.startswith("!!"):
            out = _tagged(tag, span, out)
        if ev.anchor:
            out = Anchor(
                span,
                ev.anchor,
                out,
                Span(file, span.line, span.col, span.line, span.col + len(ev.anchor) + 1),
            )
        return out

    root = None
    for ev in events:
        if isinstance(ev, yaml.DocumentStartEvent):
            ev = next(events)
            if not isinstance(ev, yaml.DocumentEndEvent):
                root = node(ev)
    return Document(root, Span(file, 1, 1, 1, 1))


def _tagged(tag: str, span: Span, body) -> Tagged:
    text = tag[1:]
    m = re.match(r"([a-z]+)(.*)$", text)
    kind, rest = m.group(1), m.group(2)
    assert kind in FORGATHER_TAGS, tag
    spec = name = None
    if rest.startswith("@"):
        name = rest[1:]
    elif rest.startswith(":"):
        spec, _, name = rest[1:].partition("@")
        spec = spec or None
        name = name or None
    tag_span = Span(span.file, span.line, span.col, span.line, span.col + len(tag))
    return Tagged(span, Tag(kind, spec, name, tag, tag_span), body)
