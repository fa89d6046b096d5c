"""`fgc vars FILE|BUILD|RUN`: every variable and knob of an experiment, its value and where it
was set.

Two kinds, as the templates use them:

- **variables**, the `!var`s of the config: `fgc run BUILD --set NAME=VALUE` changes them at run
  time. The value shown is the default the build gets (for a run directory, the `--set` value
  its run record holds). When a knob of the same name renders the default (the stdlib's idiom,
  `!var { name: max_steps, default: {{ max_steps | toyaml }} }`), the place is the knob's.
- **knobs**, the template variables: read when the templates are rendered (`-D NAME=VALUE`, or a
  child's `-- set NAME = VALUE`), fixed in the build. The value is the one the rendering ended
  with; the place is the `set` whose value was rendered (fgc/inheritance/knobs.py), or the `-D`.

A BUILD or RUN directory is compiled again from its saved sources with its recorded `-D`s and
overrides (cli/experiment_input.py). Nothing is imported.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..graph import MISSING, Node
from .common import EXIT_INPUT, EXIT_OK, add_input_options, add_override_option, report
from .experiment_input import Experiment, load_experiment

EXAMPLES = """examples:
  fgc vars examples/quickstart/experiment.fg
  fgc vars examples/quickstart/experiment.fg -D max_steps=100    what -D changes
  fgc vars build/quickstart                                     a build: its recorded -D and overrides
  fgc vars runs/quickstart/latest --json                        a run: its --set values too
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vars",
        help="list every variable (--set at run time) and knob (-D at compile time), its value and where it was set",
        description="List the variables of FILE (an experiment, a build or a run directory): the `!var`s, "
        "which `fgc run BUILD --set NAME=VALUE` changes at run time, and the knobs, the template "
        "variables that `-D NAME=VALUE` or a child's `-- set` change at compile time; each with its "
        "value and the line (or `-D`, `--set`) that set it. Nothing is imported. Exit code 0, 1 when "
        "FILE has errors.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_options(p)
    add_override_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object: {variables: [...], knobs: [...]}")
    p.set_defaults(handler=run)


@dataclass
class Row:
    name: str
    value: str  # as YAML-like text
    where: str  # `file:line`, `-D`, `--set` or `` (a required variable)
    text: str  # the line (or option) that set it


def _shown(value: Any) -> str:
    if isinstance(value, Node):
        return value.describe()
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _knob_place(exp: Experiment, name: str) -> tuple[str, str] | None:
    """Where the knob `name` got its value: the `-D`, or the `set` that Jinja rendered."""
    from ..inheritance.knobs import knob_runs, top_level_sets, winning_run

    graph = exp.comp.front.render.graph
    if graph is None:
        return None
    runs = knob_runs(graph, name)
    won = winning_run(runs, name in exp.variables)
    if won is None and name in exp.variables:
        return "-D", f"-D {name}={_shown(exp.variables[name])}"
    if won is None:
        runs = [a for node in graph.templates.values() for a in top_level_sets(node) if a.name == name]
        won = 0 if runs else None
    if won is None:
        return None
    span = runs[won].span
    return exp.where(span), exp.lines(span)


def build_variables(exp: Experiment) -> dict[str, Any]:
    """The variables of the build's `config.py`: the graph's, less those that a compile-time
    node consumes (a model definition's hyper-parameters go into config.json)."""
    from ..codegen.compile_time_node import plan_compile_time
    from ..compile_time import KINDS
    from ..imports import resolve_imports

    graph = exp.comp.graph
    assert graph is not None
    imports = resolve_imports(graph, import_modules=False)
    if not imports.ok:
        return dict(graph.variables)
    planned = plan_compile_time(KINDS, graph, imports.value, use_black=False)
    return dict(planned.value.graph.variables)


def rows(exp: Experiment, sets: dict[str, Any]) -> tuple[list[Row], list[Row]]:
    """(variables, knobs) of a compiled experiment; `sets`: a run's `--set` values."""
    graph = exp.comp.graph
    assert graph is not None
    render = exp.comp.front.render
    knob_values = {**render.knob_values, **exp.variables}
    declared = build_variables(exp)
    variables: list[Row] = []
    for name in sorted(declared):
        var = declared[name]
        if name in sets:
            variables.append(Row(name, _shown(sets[name]), "--set", f"--set {name}={_shown(sets[name])}"))
            continue
        value = "(required: no default)" if var.default is MISSING else _shown(var.default)
        place = _knob_place(exp, name) if name in knob_values else None
        if place is None:
            uses = [s for s in var.uses]
            place = (exp.where(uses[0]), exp.lines(uses[0])) if uses else ("", "")
        variables.append(Row(name, value, *place))
    knobs: list[Row] = []
    for name in sorted(set(knob_values) - set(declared)):
        place = _knob_place(exp, name) or ("", "")
        knobs.append(Row(name, _shown(knob_values[name]), *place))
    return variables, knobs


def readable(variables: list[Row], knobs: list[Row], run: bool) -> str:
    out: list[str] = []
    for title, table in (
        (
            "variables: `fgc run BUILD --set NAME=VALUE` changes them at run time"
            + (" (this run's --set values come from its fgc-run.json)" if run else ""),
            variables,
        ),
        ("knobs: template variables, fixed at compile time by `-D NAME=VALUE` or a child's `-- set`", knobs),
    ):
        out.append(title)
        if not table:
            out.append("  (none)")
        name_w = max((len(r.name) for r in table), default=0)
        value_w = min(max((len(r.value) for r in table), default=0), 24)
        where_w = max((len(r.where) for r in table), default=0)
        for r in table:
            value = r.value if len(r.value) <= 24 else r.value[:21] + "..."
            out.append(f"  {r.name.ljust(name_w)}  {value.ljust(value_w)}  {r.where.ljust(where_w)}  {r.text}".rstrip())
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    from forgather_files.runs import RUN_RECORD, read_record

    is_run = (Path(args.file) / RUN_RECORD).is_file()
    recorded = read_record(args.file).get("sets")
    sets: dict[str, Any] = dict(recorded) if isinstance(recorded, dict) else {}
    with load_experiment(args.file, args) as exp:
        if not exp.ok:
            return report(exp.diagnostics, "human")
        if exp.diagnostics:
            report(exp.diagnostics, "human")
        variables, knobs = rows(exp, sets)
        if args.json:
            payload = {"variables": [asdict(r) for r in variables], "knobs": [asdict(r) for r in knobs]}
            sys.stdout.write(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(readable(variables, knobs, is_run))
    return EXIT_OK if exp.ok else EXIT_INPUT
