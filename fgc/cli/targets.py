"""`fgc targets FILE`: the targets of an experiment and what each one builds."""

from __future__ import annotations

import sys

from .. import pipeline
from ..diagnostics import has_errors, print_diagnostics
from ..graph import Node
from .check import add_no_import_option
from .common import EXIT_INPUT, EXIT_OK, add_dynamic_args_option, add_examples, add_input_options, read_target


def add_parser(sub) -> None:
    p = sub.add_parser(
        "targets",
        help="list the targets of an experiment with the callable each builds",
        description="List the targets (top-level keys) of FILE: name, what it builds, and where it is defined.",
    )
    add_input_options(p)
    add_dynamic_args_option(p)
    add_no_import_option(p)
    add_examples(
        p,
        'fgc targets examples/quickstart/experiment.fg              name, callable, where it is defined',
        'fgc targets exp.fg --no-import',
    )
    p.set_defaults(handler=run)


def run(args) -> int:
    inp = read_target(args)
    comp = pipeline.compile_file(
        inp.path,
        inp.include_dirs,
        inp.variables,
        globals=inp.globals,
        import_modules=not args.no_import,
        stop_after="imports",
    )
    comp.diagnostics[:0] = inp.diagnostics
    if comp.diagnostics:
        print_diagnostics(comp.diagnostics, "human", sys.stderr)
    graph = comp.graph
    if graph is None or not graph.targets:
        return EXIT_INPUT if has_errors(comp.diagnostics) else EXIT_OK
    rows = []
    for t in graph.targets:
        v = graph.values[t]
        what = v.describe() if isinstance(v, Node) else type(v).__name__
        s = graph.target_spans[t]
        rows.append((t, what, f"{comp.layout.source_name(s.file)}:{s.line}"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    for name, what, where in rows:
        print(f"{name.ljust(w0)}  {what.ljust(w1)}  {where}")
    return EXIT_INPUT if has_errors(comp.diagnostics) else EXIT_OK
