"""Test-only helpers that compare fgc's config layer with PyYAML.

* `to_python(document)`: the Python value of an fgc config AST, built the way PyYAML's
  SafeLoader builds one (aliases share the anchored object, duplicate keys: last value wins at
  the first key's position, merge keys `<<` merged with PyYAML's precedence).
* `Yaml12Loader`: PyYAML's pure-Python SafeLoader with the implicit resolvers of the YAML 1.2
  core schema instead of YAML 1.1's (docs/language.md, Scalar types: fgc types scalars by YAML 1.2), so that the two
  parsers can be compared on documents whose scalars the two YAML versions read differently.
* `pyyaml_value(text)` / `fgc_value(text)`: ("ok", value) or ("error", message).
* `same(a, b)`: deep equality that distinguishes 1, 1.0 and True and treats NaN as equal to NaN.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from fgc.sourcemap import SourceMap
from fgc.syntax.config_ast import Alias, Anchor, Document, Mapping, Scalar, Sequence, Tagged, is_merge_key, walk
from fgc.syntax.config_parser import parse_config
from fgc.syntax.scalars import resolve_plain_scalar, resolve_tagged_scalar, TagValueError


class ConversionError(Exception):
    """The document has no plain Python value (PyYAML would fail too, or it has Forgather tags)."""


def has_forgather_tags(document: Document | None) -> bool:
    return document is not None and any(isinstance(n, Tagged) for n in walk(document.root))


def to_python(document: Document) -> Any:
    anchors: dict[str, Any] = {}

    def convert(node) -> Any:
        if isinstance(node, Scalar):
            return node.value
        if isinstance(node, Alias):
            if node.name not in anchors:
                raise ConversionError(f"undefined alias *{node.name}")
            return anchors[node.name]
        if isinstance(node, Anchor):
            if node.name in anchors:
                raise ConversionError(f"duplicate anchor &{node.name}")
            value = convert(node.node)
            anchors[node.name] = value
            return value
        if isinstance(node, Sequence):
            return [convert(item) for item in node.items]
        if isinstance(node, Mapping):
            return mapping(node)
        if isinstance(node, Tagged):
            raise ConversionError("Forgather tags have no plain Python value")
        raise ConversionError(f"unknown node {node!r}")

    def mapping(node: Mapping) -> dict:
        # Merge keys: keys of earlier merged mappings win over later ones, explicit keys win
        # over merged ones, merged keys come first (the YAML merge-key spec; PyYAML agrees).
        merged: dict = {}
        pairs: list[tuple[Any, Any]] = []
        for entry in node.entries:
            if is_merge_key(entry):
                value = convert(entry.value)
                sources = value if isinstance(value, list) else [value]
                if not all(isinstance(s, dict) for s in sources):
                    raise ConversionError("a merge key needs a mapping or a sequence of mappings")
                for source in sources:
                    for key, item in source.items():
                        merged.setdefault(key, item)
                continue
            pairs.append((convert(entry.key), convert(entry.value)))
        out = dict(merged)
        for key, value in pairs:
            try:
                out[key] = value
            except TypeError as e:
                raise ConversionError(f"unhashable key {key!r}") from e
        return out

    return None if document.root is None else convert(document.root)


def fgc_value(text: str) -> tuple[str, Any]:
    document, diagnostics = parse_config(text, SourceMap.identity("doc.yaml", text))
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        return "error", str(errors[0])
    try:
        return "ok", to_python(document)
    except ConversionError as e:
        return "error", str(e)


# --------------------------------------------------------------------------------------------
# PyYAML with the YAML 1.2 core schema

_CORE_RESOLVERS = [
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", list("~nN") + [""]),
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        list("-+.0123456789"),
    ),
]


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's pure-Python SafeLoader typing plain scalars by the YAML 1.2 core schema."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:merge"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.yaml_implicit_resolvers = {k: v for k, v in Yaml12Loader.yaml_implicit_resolvers.items() if v}
for _tag, _regex, _first in _CORE_RESOLVERS:
    Yaml12Loader.add_implicit_resolver(_tag, re.compile(f"^(?:{_regex})$"), _first)


def _core_constructor(kind: str):
    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        text = loader.construct_scalar(node)
        try:
            return resolve_tagged_scalar(kind, text)
        except TagValueError as e:
            raise yaml.constructor.ConstructorError(None, None, str(e), node.start_mark) from e

    return construct


for _kind in ("null", "bool", "int", "float"):
    Yaml12Loader.add_constructor(f"tag:yaml.org,2002:{_kind}", _core_constructor(_kind))


def pyyaml_value(text: str, loader=Yaml12Loader) -> tuple[str, Any]:
    try:
        return "ok", yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        return "error", str(e).replace("\n", " | ")
    except (TypeError, ValueError, OverflowError) as e:  # e.g. unhashable keys surface as TypeError in some paths
        return "error", f"{type(e).__name__}: {e}"


def same(a: Any, b: Any) -> bool:
    """Deep equality, strict about types (1 != 1.0 != True), NaN equal to NaN, dict order kept."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(ka, kb) and same(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    return a == b


def plain_value(text: str) -> Any:
    """fgc's reading of one plain scalar (for the CLI's -D values and the generators)."""
    return resolve_plain_scalar(text)
