"""`config.yaml`: the resolved config, each line annotated with the template line that wrote it.

"Resolved" means after templates, overrides (duplicate keys), merge keys, `.define` elision and
`!dlist` folding: what the compiled module builds. It is written in the dialect itself (a node
used twice is written once with an anchor and then aliased), so it can be read back by fgc.
Relative import specs (`.mod:Attr`, `path/file.py:Attr`) stay as written, relative to their
template's directory.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Callable

from ..diagnostics import Span
from ..graph import MISSING, Graph, Kind, Node, Value
from ..codegen.names import Namer

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*$")
_RESERVED_WORDS = {"null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y", "n", "yes", "no", "on", "off"}


def _key(k: str) -> str:
    if _PLAIN_KEY.match(k) and k not in _RESERVED_WORDS and k != "<<":
        return k
    return json.dumps(k, ensure_ascii=False)


def _scalar(v: Value) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ".nan"
        if math.isinf(v):
            return ".inf" if v > 0 else "-.inf"
        text = repr(v)
        return text if any(c in text for c in ".eE") else text + ".0"
    return json.dumps(v, ensure_ascii=False)


class _Writer:
    def __init__(self, graph: Graph, source_name: Callable[[str], str]) -> None:
        self.graph = graph
        self.source_name = source_name
        self.lines: list[tuple[str, Span | None]] = []
        refs: Counter[Node] = Counter()
        seen: set[Node] = set()

        def count(v: Value) -> None:
            if isinstance(v, Node):
                refs[v] += 1
                if v not in seen:
                    seen.add(v)
                    for c in v.children():
                        count(c)
            elif isinstance(v, list):
                for x in v:
                    count(x)
            elif isinstance(v, dict):
                for x in v.values():
                    count(x)

        for t in graph.targets:
            count(graph.values[t])
        self.anchors: dict[Node, str] = {}
        namer = Namer()
        for n in graph.nodes():
            if refs[n] > 1:
                self.anchors[n] = namer.take(n.anchor or n.name or n.key or "node")
        self.written: set[Node] = set()

    def emit(self, text: str, span: Span | None) -> None:
        self.lines.append((text, span))

    def origin(self, span: Span | None) -> str:
        return f"{self.source_name(span.file)}:{span.line}" if span else ""

    def entry(self, indent: int, prefix: str, value: Value, span: Span | None) -> None:
        """Write `prefix` (`key:` or `-`) followed by `value` at `indent`."""
        pad = " " * indent
        if isinstance(value, Node):
            self.node(indent, prefix, value, span)
        elif isinstance(value, dict):
            if not value:
                self.emit(f"{pad}{prefix} {{}}", span)
                return
            self.emit(f"{pad}{prefix}", span)
            spans = self.graph.container_spans.get(id(value), {})
            for k, v in value.items():
                self.entry(indent + 2, f"{_key(k)}:", v, spans.get(k))
        elif isinstance(value, list):
            if not value:
                self.emit(f"{pad}{prefix} []", span)
                return
            self.emit(f"{pad}{prefix}", span)
            spans = self.graph.container_spans.get(id(value), {})
            for i, v in enumerate(value):
                self.entry(indent + 2, "-", v, spans.get(i))
        else:
            self.emit(f"{pad}{prefix} {_scalar(value)}", span)

    def node(self, indent: int, prefix: str, n: Node, span: Span | None) -> None:
        pad = " " * indent
        if n in self.written:
            self.emit(f"{pad}{prefix} *{self.anchors[n]}", span)
            return
        self.written.add(n)
        anchor = f"&{self.anchors[n]} " if n in self.anchors else ""
        tag = f"!{n.kind}"
        if n.callable:
            tag += f":{n.callable}"
        if n.name:
            tag += f"{'' if n.callable else ':'}@{n.name}"
        head = f"{pad}{prefix} {anchor}{tag}"
        if n.kind == Kind.VAR:
            if n.default is MISSING:
                self.emit(f"{head} {json.dumps(n.var)}", n.span)
            else:
                self.emit(head, n.span)
                self.emit(f"{pad}  name: {json.dumps(n.var)}", n.span)
                self.entry(indent + 2, "default:", n.default, n.span)
            return
        if n.kind in (Kind.LIST, Kind.TUPLE) or (n.kind == Kind.DLIST and not n.args):
            if not n.args:
                self.emit(f"{head} []" if n.kind != Kind.DLIST else head, n.span)
                return
            self.emit(head, n.span)
            for i, v in enumerate(n.args):
                self.entry(indent + 2, "-", v, n.arg_spans[i] if i < len(n.arg_spans) else None)
            return
        if n.kind == Kind.DLIST:
            self.emit(head, n.span)
            for i, v in enumerate(n.args):
                self.entry(indent + 2, f"item{i}:", v, n.arg_spans[i] if i < len(n.arg_spans) else None)
            return
        if not n.args and not n.kwargs:
            self.emit(head if n.kind != Kind.DICT else f"{head} {{}}", n.span)
            return
        self.emit(head, n.span)
        for i, v in enumerate(n.args):
            self.entry(indent + 2, f"arg{i}:", v, n.arg_spans[i] if i < len(n.arg_spans) else None)
        for k, v in n.kwargs.items():
            self.entry(indent + 2, f"{_key(k)}:", v, n.kwarg_spans.get(k))


def resolved_yaml(graph: Graph, source_name: Callable[[str], str], title: str = "") -> str:
    w = _Writer(graph, source_name)
    for t in graph.targets:
        w.entry(0, f"{_key(t)}:", graph.values[t], graph.target_spans.get(t))
    width = max((len(text) for text, _ in w.lines), default=0) + 2
    width = min(width, 100)
    out = [
        f"# {title}: the resolved config (templates rendered, overrides and merge keys applied);",
        "# each line ends with the template line that wrote it.",
    ]
    for text, span in w.lines:
        origin = w.origin(span)
        out.append(f"{text.ljust(width)}# {origin}" if origin else text)
    return "\n".join(out) + "\n"
