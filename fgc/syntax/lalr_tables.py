"""Lark's LALR tables as plain dicts, for the config parser's own LALR loop.

`fgc.syntax.config_parser` runs the LALR loop itself (faster than Lark's, and it needs the
state stack to recover from errors). Lark has no public API for its parse table, so this
module is the one place that reads Lark's internals, and it names each one it reads: when a
Lark release moves one, `LarkChanged` says which, and tests/syntax/test_lark_fence.py fails
with that message. The versions this was tested with are pinned in pyproject.toml.

What is read, from a `Lark(..., parser="lalr")` built without a transformer:

    lark.parser.parser.parser           the LALR parser object (ParsingFrontend -> LALR_Parser -> _Parser)
      .parse_table.states               {state: {terminal or rule name: (action, argument)}}
      .parse_table.start_states[start]  the start state; .end_states[start] the accepting state
      .callbacks[rule]                  builds the rule's value from its children (a lark Tree,
                                        or the single child of an inlined `?rule`)
    lark.parsers.lalr_analysis.Shift    the shift action; any other action reduces by a Rule
    rule.expansion, rule.origin.name    the length of the rule's right-hand side, its name
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import lark

# A table row: for each lookahead, (True, next state) to shift, or (False, Reduction).
Row = dict[str, tuple[bool, Any]]


class LarkChanged(RuntimeError):
    """The installed Lark does not have the internals this module reads."""


@dataclass(frozen=True)
class Reduction:
    size: int  # symbols popped
    origin: str  # the rule's name: the goto entry to follow after the reduction
    build: Callable[[list], Any]  # Lark's callback: the children -> the rule's value


@dataclass(frozen=True)
class Tables:
    start: Any
    end: Any
    states: dict[Any, Row]


def _read(obj: Any, attr: str, where: str) -> Any:
    try:
        return getattr(obj, attr)
    except AttributeError:
        raise LarkChanged(_changed(f"{where}.{attr} is missing")) from None


def _changed(what: str) -> str:
    return (
        f"lark {lark.__version__} changed an internal that fgc's config parser reads: {what} "
        "(see fgc/syntax/lalr_tables.py; adapt it, or pin lark to the range in pyproject.toml)"
    )


def lalr_tables(parser: lark.Lark, start: str = "start") -> Tables:
    """The LALR tables of `parser` (built with parser="lalr" and no transformer)."""
    try:
        from lark.parsers.lalr_analysis import Shift
    except ImportError:
        raise LarkChanged(_changed("lark.parsers.lalr_analysis.Shift cannot be imported")) from None
    frontend = _read(parser, "parser", "Lark")
    lalr = _read(frontend, "parser", "Lark.parser")
    inner = _read(lalr, "parser", "Lark.parser.parser")
    table = _read(inner, "parse_table", "Lark.parser.parser.parser")
    callbacks = _read(inner, "callbacks", "Lark.parser.parser.parser")
    try:
        first, end = table.start_states[start], table.end_states[start]
    except (AttributeError, KeyError, TypeError):
        raise LarkChanged(_changed(f"parse_table.start_states/end_states[{start!r}] cannot be read")) from None
    states: dict[Any, Row] = {}
    for state, actions in _read(table, "states", "parse_table").items():
        row: Row = {}
        for name, entry in actions.items():
            if not (isinstance(entry, tuple) and len(entry) == 2):
                raise LarkChanged(_changed(f"a parse_table.states action is {entry!r}, not (action, argument)"))
            action, arg = entry
            if action is Shift:
                row[str(name)] = (True, arg)
                continue
            try:
                reduction = Reduction(len(arg.expansion), str(arg.origin.name), callbacks[arg])
            except (AttributeError, KeyError, TypeError) as e:
                what = f"a reduce action's rule {arg!r} has no expansion, origin or callback ({e})"
                raise LarkChanged(_changed(what)) from None
            row[str(name)] = (False, reduction)
        states[state] = row
    return Tables(first, end, states)
