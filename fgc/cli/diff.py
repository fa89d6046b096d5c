"""`fgc diff A B`: the semantic difference of two experiments' resolved configs.

A and B are each an experiment file (or PROJECT_DIR), a build directory or a run directory
(compiled again from its saved sources, with the variables and overrides it recorded; a run's
`--set` values are compared as the values of its variables). The
graphs are compared by config path (fgc/analysis/graph_diff.py); each difference names the template
line that set the value on each side.

Exit codes: 0 equal, 1 different, 2 an error (a bad command line, an input that does not
compile: its diagnostics are printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack

from ..diagnostics import print_diagnostics
from .common import EXIT_USAGE, InputDiagnostics, add_examples, add_override_option
from .experiment_input import Experiment, load_experiment
from ..analysis.graph_diff import Change, Side, diff_graphs

EXIT_EQUAL, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="the semantic difference of two experiments (files, builds or run directories)",
        description="Compare the resolved configs of A and B by config path: changed values and "
        "callables, added and removed targets and arguments, changed variable defaults, each "
        "with the template file:line that set it on both sides. A and B are experiment files "
        "(or PROJECT_DIRs), build directories or run directories (compiled again from their "
        "saved sources, with the -D variables and --overrides they recorded). -I, -D and "
        "--override apply to both sides. Nothing is imported. Exit code 0 when equal, 1 when "
        "different, 2 on errors.",
    )
    p.add_argument("a", metavar="A", help="experiment file, PROJECT_DIR, build or run directory")
    p.add_argument("b", metavar="B", help="the other one")
    p.add_argument("-I", dest="include_dirs", metavar="DIR", action="append", default=[], help="add DIR to the template search path of both")
    p.add_argument(
        "-D", dest="defines", metavar="NAME=VALUE", action="append", default=[], help="set a template variable on both sides"
    )
    add_override_option(p)
    p.add_argument("--json", action="store_true", help="print the differences as one JSON object on stdout")
    add_examples(
        p,
        'fgc diff examples/override_hparam/base_experiment.fg examples/override_hparam/experiment.fg',
        'fgc diff runs/a/latest runs/b/latest                        two runs, their --set values included',
        'fgc diff exp.fg exp.fg --override optimizer.lr=1e-4 --json',
    )
    p.set_defaults(handler=run)


def _side_json(exp: Experiment, side: Side | None) -> dict | None:
    if side is None:
        return None
    s = side.span
    return {
        "value": side.text,
        "where": exp.where(s) if s else None,
        "file": s.file if s else None,
        "line": s.line if s else None,
        "col": s.col if s else None,
        "source": exp.lines(s) if s else None,
    }


def to_json(a: Experiment, b: Experiment, changes: list[Change]) -> dict:
    return {
        "equal": not changes,
        "a": a.label,
        "b": b.label,
        "changes": [
            {"change": c.change, "what": c.what, "path": c.path, "a": _side_json(a, c.a), "b": _side_json(b, c.b)}
            for c in changes
        ],
    }


def readable(a: Experiment, b: Experiment, changes: list[Change]) -> str:
    if not changes:
        return f"no differences between {a.label} and {b.label}\n"
    lines = [f"--- A {a.label}", f"+++ B {b.label}"]
    for c in changes:
        lines.append(f"{c.change} {c.what} {c.path}")
        for name, exp, side in (("A", a, c.a), ("B", b, c.b)):
            if side is not None:
                where = exp.where(side.span) if side.span else "the run's fgc-run.json"
                source = exp.lines(side.span) if side.span else ""
                lines.append(f"  {name}: {side.text}  at {where}" + (f"  `{source}`" if source else ""))
    n = len(changes)
    lines.append(f"{n} difference{'s' if n != 1 else ''}")
    return "\n".join(lines) + "\n"


def run_sets(exp: Experiment) -> dict:
    """The `--set` values of a run directory (its fgc-run.json); {} for anything else."""
    from forgather_files.runs import read_record

    sets = read_record(exp.label).get("sets")
    return dict(sets) if isinstance(sets, dict) else {}


def with_run_sets(changes: list[Change], a: Experiment, b: Experiment) -> list[Change]:
    """The variables a run's `--set` changed: each side's value is its `--set` value, else the
    variable's default (the graphs alone know only the defaults)."""
    from ..graph import MISSING
    from .explain import show_value

    sets = (run_sets(a), run_sets(b))
    names = sorted(set(sets[0]) | set(sets[1]))
    if not names:
        return changes

    def side(exp: Experiment, given: dict, name: str) -> tuple[str, Side | None]:
        assert exp.comp.graph is not None
        var = exp.comp.graph.variables.get(name)
        if name in given:
            text = json.dumps(given[name], ensure_ascii=False)
            return text, Side(f"{text} (--set {name}={text})", None)
        if var is None:
            return "", None
        text = "(required)" if var.default is MISSING else show_value(var.default)
        return text, Side(f"{text} (default)", var.nodes[0].span if var.nodes else None)

    out = [c for c in changes if not (c.what == "variable" and c.path in names)]
    for name in names:
        (ta, sa), (tb, sb) = side(a, sets[0], name), side(b, sets[1], name)
        if ta != tb:
            out.append(Change("changed", "variable", name, sa, sb))
    return out


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except InputDiagnostics as e:  # a build or project that cannot be read: an error, exit code 2
        print_diagnostics(e.diagnostics, "human", sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        a = stack.enter_context(load_experiment(args.a, args))
        b = stack.enter_context(load_experiment(args.b, args))
        bad = [e for e in (a, b) if not e.ok]
        warnings = [d for e in (a, b) for d in e.diagnostics]
        if bad or warnings:
            print_diagnostics(warnings, "human", sys.stderr)
        if bad:
            names = " and ".join(e.label for e in bad)
            print(f"fgc: error: {names} did not compile; nothing compared", file=sys.stderr)
            return EXIT_ERROR
        assert a.comp.graph is not None and b.comp.graph is not None
        changes = with_run_sets(diff_graphs(a.comp.graph, b.comp.graph), a, b)
        if args.json:
            sys.stdout.write(json.dumps(to_json(a, b, changes), indent=1, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(readable(a, b, changes))
        return EXIT_DIFFERENT if changes else EXIT_EQUAL
    return EXIT_USAGE  # not reached (ExitStack suppresses nothing)

