"""`dynamic_args`: a config's own command-line options (docs/language.md, Projects).

A config may declare, in its `dynamic_args` target (usually a `!dlist`), argparse specs for the
template variables it reads: `names` (a string or a list), `type` (`int`, `float`, `str`, `bool`,
`path`), `help`, `choices`, `action` (`store_true`, `store_false`). `fgc compile PROJECT --
--max-steps 100` reads them from the config's graph (rendered without them, nothing imported),
parses the words after `--`, and passes every option that was given as a template variable (a
`default` in a spec is ignored, as the reference deletes it, so the template's own defaults
apply; an option not given is no variable at all). `-- --help` prints the options.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any, Callable, NoReturn

from ..diagnostics import Diagnostic, Span, error
from ..graph import Graph, Kind, Node

_ACTIONS = ("store", "store_true", "store_false")


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _path(text: str) -> str:
    return os.path.abspath(text)


TYPES: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "str": str, "bool": _bool, "path": _path}


@dataclass(frozen=True)
class Option:
    names: tuple[str, ...]
    dest: str  # the template variable
    type: str | None
    help: str | None
    choices: tuple[Any, ...] | None
    action: str
    span: Span | None


class DynamicArgsError(Exception):
    """The words after `--` do not fit the config's options (the message says why)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # never exit from inside fgc's own command line handling
        raise DynamicArgsError(f"{self.prog}: {message}")


def read_options(graph: Graph) -> tuple[list[Option], list[Diagnostic]]:
    """The options the `dynamic_args` target declares; FG0806 at a malformed entry."""
    value: Any = graph.values.get("dynamic_args")
    target_span = graph.target_spans.get("dynamic_args")
    if isinstance(value, Node) and value.kind in (Kind.DLIST, Kind.LIST):
        spans: list[Span | None] = list(value.arg_spans) or [value.span] * len(value.args)
        entries: list[tuple[Any, Span | None]] = list(zip(value.args, spans))
    elif isinstance(value, list):
        entries = [(v, target_span) for v in value]
    elif value is None:
        return [], []
    else:
        return [], [error("FG0806", "`dynamic_args` must be a list of option specs", target_span)]
    options: list[Option] = []
    diags: list[Diagnostic] = []
    for entry, span in entries:
        if isinstance(entry, Node) and entry.kind == Kind.DICT:
            entry = entry.kwargs
        if not isinstance(entry, dict):
            diags.append(error("FG0806", "a `dynamic_args` entry must be a mapping with `names`", span))
            continue
        names = entry.get("names")
        names = (names,) if isinstance(names, str) else tuple(names) if isinstance(names, list) else ()
        if not names or not all(isinstance(n, str) and n.startswith("-") for n in names):
            diags.append(error("FG0806", "`names` must be an option name (`--max-steps`) or a list of them", span))
            continue
        type_name = entry.get("type")
        if type_name is not None and type_name not in TYPES:
            diags.append(error("FG0806", f"unknown option type `{type_name}`; expected one of {', '.join(TYPES)}", span))
            continue
        action = entry.get("action") or "store"
        if action not in _ACTIONS:
            diags.append(error("FG0806", f"unsupported action `{action}`; expected one of {', '.join(_ACTIONS)}", span))
            continue
        longest = max(names, key=len)
        choices = entry.get("choices")
        help_text = entry.get("help")
        options.append(
            Option(
                names,
                longest.lstrip("-").replace("-", "_"),
                type_name,
                help_text if isinstance(help_text, str) else None,
                tuple(choices) if isinstance(choices, list) else None,
                action,
                span,
            )
        )
    return options, diags


def parse_words(options: list[Option], words: list[str], prog: str) -> dict[str, Any]:
    """The template variables that `words` (after `--`) give; DynamicArgsError when they do not
    fit; `--help` prints the options and raises SystemExit(0) (the caller's exit)."""
    parser = _Parser(prog=prog, add_help=True, description="The config's options (its dynamic_args).")
    for o in options:
        kwargs: dict[str, Any] = {"dest": o.dest, "help": o.help, "default": None}
        if o.action == "store":
            kwargs["type"] = TYPES[o.type or "str"]
            if o.choices is not None:
                kwargs["choices"] = o.choices
        else:
            kwargs["action"] = o.action
        parser.add_argument(*o.names, **kwargs)
    parsed = parser.parse_args(words)
    given: dict[str, Any] = {}
    for o in options:
        v = getattr(parsed, o.dest)
        if v is not None:
            given[o.dest] = v
    return given
