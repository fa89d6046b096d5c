"""`fgc explain FILE KEY.PATH`: the value of one config path and every line that set it.

The chain is the query layer's (fgc/analysis/chain.py, the language server's hover shows the
same): most recent (the value that wins) first, the `--override`s of the path, the template
entries of the key, the parent blocks the winning block replaced without `super()`, and the
knobs (`-- set`, `-D`) its line renders. KEY.PATH may also name a `!var` variable: its default
and its uses.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field

from ..analysis.chain import Link, key_chain, number_roles, replaced_blocks
from ..analysis.values import show_value
from ..diagnostics import Span
from ..graph import MISSING, Graph, Kind, Node
from ..passes.config_paths import Located, PathError, Slot, locate, parse_path
from ..passes.overrides import COMMAND_LINE, Applied
from .common import (
    EXIT_INPUT,
    EXIT_OK,
    UsageError,
    add_examples,
    add_input_options,
    add_override_option,
    report,
)
from .experiment_input import Experiment, load_experiment


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="show one config value and the chain of template lines (and --overrides) that set it",
        description="Print the resolved value of KEY.PATH in FILE (an experiment, a build or a run "
        "directory) and every place that set or overrode it, most recent (the winner) first: "
        "--override on the command line, the template lines of the key, the parent blocks a "
        "child replaced. KEY.PATH starts at a target or a named node (`optimizer.lr`, "
        "`trainer.args.max_steps`, `model.0`); a `!var` name shows the variable's default and uses. "
        "Nothing is imported (fgc check also checks signatures and types). Exit code 0, 1 when "
        "FILE has errors, 2 for a KEY.PATH that names nothing (with the nearest keys).",
    )
    add_input_options(p)
    p.add_argument("key_path", metavar="KEY.PATH", help="the config path to explain, e.g. optimizer.lr")
    add_override_option(p)
    p.add_argument("--json", action="store_true", help="print the explanation as one JSON object")
    add_examples(
        p,
        'fgc explain examples/quickstart/experiment.fg optimizer.lr  the value and every line that set it',
        'fgc explain exp.fg trainer.args.max_steps -D max_steps=10',
        'fgc explain build/quickstart max_steps                      a variable of a build',
    )
    p.set_defaults(handler=run)


@dataclass
class ChainLink:
    """One place in the chain."""

    role: str  # "set" (the winner), "overridden", "replaced" (a parent block never rendered)
    where: str  # file:line
    text: str  # the source line (the override as written, for the command line)
    file: str = ""
    line: int = 0
    col: int = 0


@dataclass
class Explanation:
    path: str
    value: str  # as YAML-like text
    chain: list[ChainLink] = field(default_factory=list)
    variable: dict | None = None  # a `!var`: name, default, uses

    def to_json(self) -> dict:
        return asdict(self)


def slot_key(slot: Slot | None) -> tuple[int, object] | None:
    return None if slot is None else (id(slot.holder), slot.step)


def applied_to(exp: Experiment, slot: Slot | None) -> list[Applied]:
    """The overrides applied at `slot`, in command-line order."""
    graph = exp.comp.graph
    assert graph is not None
    out = []
    for a in exp.comp.overrides:
        try:
            here = locate(graph, a.path).slot
        except PathError:
            continue
        if slot_key(here) == slot_key(slot):
            out.append(a)
    return out


def template_span(exp: Experiment, slot: Slot) -> Span | None:
    """Where the templates set the value at `slot` (before any --override)."""
    applied = applied_to(exp, slot)
    return applied[0].previous_key_span if applied else slot.key_span


def chain(exp: Experiment, located: Located) -> list[ChainLink]:
    """The chain of the value at `located` (fgc/analysis/chain.py): its --overrides, then the
    template entries of its key, the blocks they replaced and the knobs the winning line renders."""
    graph = exp.comp.graph
    assert graph is not None
    tg = exp.comp.front.render.graph if exp.comp.front.render is not None else None
    slot = located.slot
    if slot is None:  # a named node by its name: where its tag is
        assert isinstance(located.value, Node)
        span = located.value.span
        links = [Link("set", span, exp.lines(span)), *(Link("replaced", b, exp.lines(b)) for b in replaced_blocks(tg, span))]
        return [_chain_link(exp, link) for link in links]
    applied = applied_to(exp, slot)
    command = [Link("set", Span.point(COMMAND_LINE, a.override.index), f"--override {a.override.text}") for a in reversed(applied)]
    first = applied[0].previous_key_span if applied else slot.key_span
    if first is None:  # the override added the keyword
        return [_chain_link(exp, link) for link in number_roles(command)]
    return [_chain_link(exp, link) for link in key_chain(graph, tg, first, exp.lines, exp.variables, command)]


def _chain_link(exp: Experiment, link: Link) -> ChainLink:
    if link.span is None:  # a -D value
        return ChainLink(link.role, COMMAND_LINE, link.text, COMMAND_LINE, 0, 0)
    s = link.span
    if s.file == COMMAND_LINE:
        return ChainLink(link.role, f"{COMMAND_LINE}:{s.line}", link.text, COMMAND_LINE, s.line, 1)
    return ChainLink(link.role, exp.where(s), link.text, s.file, s.line, s.col)


def variable_info(exp: Experiment, graph: Graph, name: str) -> dict | None:
    var = graph.variables.get(name)
    if var is None:
        return None
    return {
        "name": name,
        "default": None if var.default is MISSING else show_value(var.default),
        "required": var.default is MISSING,
        "uses": [exp.where(s) for s in var.uses],
    }


def explain(exp: Experiment, path_text: str) -> Explanation:
    """PathError when `path_text` names nothing."""
    graph = exp.comp.graph
    assert graph is not None
    path = parse_path(path_text)
    if len(path) == 1 and path[0] not in graph.values and path[0] in graph.variables:
        info = variable_info(exp, graph, path[0])
        assert info is not None
        default = "(required: no default)" if info["required"] else info["default"]
        return Explanation(path_text, f"!var {path[0]}, default {default}", [], info)
    located = locate(graph, path)
    out = Explanation(path_text, show_value(located.value), chain(exp, located))
    if isinstance(located.value, Node) and located.value.kind == Kind.VAR and located.value.var:
        out.variable = variable_info(exp, graph, located.value.var)
    return out


def readable(e: Explanation) -> str:
    lines = [f"{e.path} = {e.value}"]
    width = max((len(o.where) for o in e.chain), default=0)
    for o in e.chain:
        lines.append(f"  {o.role:<10}  {o.where.ljust(width)}  {o.text}")
    if e.variable is not None:
        v = e.variable
        what = "required (no default)" if v["required"] else f"default {v['default']}"
        lines.append(f"  variable `{v['name']}`: {what}; `fgc run BUILD --set {v['name']}=...` sets it")
        lines.extend(f"    used at {u}" for u in v["uses"])
    return "\n".join(lines) + "\n"


def _variable_hint(exp: Experiment, text: str) -> str | None:
    """A did-you-mean over the `!var` variables, for a one-word KEY.PATH that names nothing."""
    from ..diagnostics import did_you_mean

    graph = exp.comp.graph
    if graph is None or "." in text:
        return None
    close = did_you_mean(text, graph.variables)
    return close and close.replace("did you mean `", "did you mean the variable `")


def run(args: argparse.Namespace) -> int:
    with load_experiment(args.file, args) as exp:
        if not exp.ok:
            return report(exp.diagnostics, "human")
        try:
            explanation = explain(exp, args.key_path)
        except PathError as e:
            hint = e.hint
            if not (hint or "").startswith("did you mean"):
                hint = _variable_hint(exp, args.key_path) or hint
            raise UsageError(e.message + (f" ({hint})" if hint else "")) from None
        if exp.diagnostics:
            report(exp.diagnostics, "human")
        if args.json:
            sys.stdout.write(json.dumps(explanation.to_json(), indent=1, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(readable(explanation))
    return EXIT_OK if exp.ok else EXIT_INPUT
