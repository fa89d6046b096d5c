"""Argument normalisation of callable tags (`!singleton`, `!factory`, `!partial`, `!meta`).

The body of a callable tag gives its arguments:

* a sequence: positional arguments;
* a scalar: ONE positional argument (the reference split a string into characters);
* an empty body: no arguments;
* a mapping: `args:` (a sequence) and/or `kwargs:` (a mapping) when those are its only keys;
  otherwise every key `argN` is the positional argument number N (ordered by N; gaps allowed,
  which keeps positional arguments overridable through duplicate keys) and every other key is a
  keyword argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, Related, Span, error
from ..syntax.config_ast import Mapping, ConfigAstNode, Sequence, Tagged
from ._rewrite import is_empty, is_null, key_text, unwrap

_ARGN = re.compile(r"arg(\d+)")


@dataclass
class Arguments:
    """A call's positional and keyword arguments, normalised."""
    args: list[tuple[ConfigAstNode, Span]] = field(default_factory=list)  # value, its span (argN key or value)
    kwargs: list[tuple[str, ConfigAstNode, Span]] = field(default_factory=list)  # name, value, key span


def normalise_arguments(node: Tagged) -> tuple[Arguments, list[Diagnostic]]:
    body = unwrap(node.body)
    out = Arguments()
    diags: list[Diagnostic] = []
    if is_empty(body):
        return out, diags
    if isinstance(body, Sequence):
        out.args = [(item, item.span) for item in body.items]
        return out, diags
    if not isinstance(body, Mapping):  # a scalar, or a tagged value through an alias
        out.args = [(node.body, node.body.span)]
        return out, diags
    keys = [key_text(e.key) for e in body.entries]
    explicit = {k for k in keys if k in ("args", "kwargs")}
    if explicit and set(keys) == explicit and all(not is_null(e.value) for e in body.entries):
        for e in body.entries:
            value = unwrap(e.value)
            if key_text(e.key) == "args":
                if isinstance(value, Sequence):
                    out.args = [(item, item.span) for item in value.items]
                else:
                    diags.append(
                        error("FG0509", "`args:` takes a sequence of positional arguments", e.value.span)
                    )
            else:
                if isinstance(value, Mapping):
                    out.kwargs = [(key_text(k.key) or str(k.key), k.value, k.key.span) for k in value.entries]
                else:
                    diags.append(
                        error("FG0509", "`kwargs:` takes a mapping of keyword arguments", e.value.span)
                    )
        return out, diags
    numbered: dict[int, tuple[ConfigAstNode, Span]] = {}
    for e, k in zip(body.entries, keys):
        if k is None:
            continue  # reported by the key check (leaves)
        m = _ARGN.fullmatch(k)
        if m is None:
            out.kwargs.append((k, e.value, e.key.span))
            continue
        n = int(m.group(1))
        if n in numbered:
            diags.append(
                error(
                    "FG0511",
                    f"`{k}` repeats positional argument {n}",
                    e.key.span,
                    related=(Related(numbered[n][1], "first given here"),),
                )
            )
            continue
        numbered[n] = (e.value, e.key.span)
    out.args = [numbered[n] for n in sorted(numbered)]
    return out, diags
