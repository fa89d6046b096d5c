"""`fgc graph FILE [--json]`: the resolved config graph (`graph.json`: fgc/graph.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from .check import add_no_cache_option, add_no_import_option
from .common import (
    EXIT_INPUT,
    EXIT_OK,
    add_dynamic_args_option,
    add_examples,
    add_input_options,
    add_override_option,
    read_overrides,
    read_target,
)

if TYPE_CHECKING:
    from ..graph import Graph
    from ..result_cache.inputs import InputRecorder


def add_parser(sub) -> None:
    p = sub.add_parser(
        "graph",
        help="print the resolved config graph (readable, or graph.json with --json)",
        description="Print the config graph of FILE after templates and the semantic passes: "
        "targets, and nodes n1, n2, ... with their callables and arguments. --json prints the "
        "graph.json format. With --no-import nothing is imported (the modules need not be installed).",
    )
    add_input_options(p)
    add_override_option(p)
    add_dynamic_args_option(p)
    p.add_argument("--json", action="store_true", help="print graph.json")
    add_no_import_option(p)
    add_no_cache_option(p)
    add_examples(
        p,
        'fgc graph examples/quickstart/experiment.fg                targets and nodes, readable',
        "fgc graph exp.fg --json --no-import | jq '.targets'         graph.json, nothing imported",
    )
    p.set_defaults(handler=run)


def run(args) -> int:
    # A valid cached result is replayed without importing the compiler (fgc/result_cache).
    from ..result_cache.command import run_cached

    return run_cached("graph", args, {"json": args.json}, lambda recorder: _graph(args, recorder))


def _graph(args: argparse.Namespace, recorder: InputRecorder) -> tuple[int, bool]:
    """A fresh graph, reading through `recorder`: (exit code, whether the recorder saw every
    input)."""
    from .. import pipeline
    from ..diagnostics import has_errors, print_diagnostics
    from ..imports.cache import default_cache_dir

    inp = read_target(args)
    overrides = read_overrides(args)
    front = pipeline.frontend(
        inp.path, inp.include_dirs, inp.variables, globals=inp.globals, source=recorder.source()
    )
    comp = pipeline.backend(
        front,
        import_modules=not args.no_import,
        stop_after="graph" if args.no_import else "imports",
        overrides=overrides,
        cache=recorder.signature_cache(default_cache_dir() if not args.no_import else None),
    )
    comp.diagnostics[:0] = inp.diagnostics
    recordable = recorder.note_compilation(comp)
    if comp.diagnostics:
        print_diagnostics(comp.diagnostics, "human", sys.stderr)
    graph = comp.graph
    if graph is None or (has_errors(comp.diagnostics) and not graph.targets):
        return EXIT_INPUT, recordable
    if args.json:
        print(json.dumps(graph.to_json(), indent=1, ensure_ascii=False))
    else:
        print(readable(graph, comp.layout.source_name))
    return (EXIT_INPUT if has_errors(comp.diagnostics) else EXIT_OK), recordable


def _value(v, ids) -> str:
    from ..graph import Node

    if isinstance(v, Node):
        return ids[v]
    if isinstance(v, list):
        return "[" + ", ".join(_value(x, ids) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x, ids)}" for k, x in v.items()) + "}"
    return json.dumps(v)


def readable(graph: Graph, source_name=str) -> str:
    """One line per target, then one block per node: id, tag, position, arguments."""
    from ..graph import MISSING, Kind

    ids = graph.node_ids()
    lines = ["targets:"]
    for t in graph.targets:
        lines.append(f"  {t} = {_value(graph.values[t], ids)}")
    if ids:
        lines.append("nodes:")
    for node, nid in ids.items():
        where = f"{source_name(node.span.file)}:{node.span.line}:{node.span.col}"
        lines.append(f"  {nid} {node.describe()}  ({where})")
        for i, a in enumerate(node.args):
            lines.append(f"      arg{i}: {_value(a, ids)}")
        for k, a in node.kwargs.items():
            lines.append(f"      {k}: {_value(a, ids)}")
        if node.kind == Kind.VAR and node.default is not MISSING:
            lines.append(f"      default: {_value(node.default, ids)}")
    return "\n".join(lines)
