"""`fgc compile FILE -o DIR`: compile an experiment into a build directory."""

from __future__ import annotations

import sys

from .. import pipeline
from ..diagnostics import print_diagnostics
from .check import add_no_import_option
from .common import (
    EXIT_INPUT,
    EXIT_OK,
    add_format_option,
    add_input_options,
    read_input,
    report,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compile",
        help="compile an experiment into a build directory (config.py, manifest, sources)",
        description="Compile FILE into the build directory DIR: config.py (the generated module), "
        "config.yaml (the resolved config), graph.json, fgc-manifest.json, sources/, modules/ and "
        "model/ (for a DynamicCausalLM). DIR is replaced atomically; run it with `fgc run DIR`.",
    )
    add_input_options(p)
    p.add_argument(
        "-o", "--output", dest="output", metavar="DIR", required=True, help="the build directory to write"
    )
    add_no_import_option(p)
    add_format_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..build import BuildError, write_build

    path, variables = read_input(args)
    comp = pipeline.compile_file(path, args.include_dirs, variables, import_modules=not args.no_import)
    if not comp.ok:
        return report(comp.diagnostics, args.format)
    try:
        build = write_build(comp, args.output, variables)
    except BuildError as e:
        return report(list(comp.diagnostics) + [e.diagnostic], args.format)
    if comp.diagnostics:
        print_diagnostics(comp.diagnostics, args.format, sys.stderr)
    if args.format == "human":
        targets = ", ".join(build.targets) or "(none)"
        print(f"fgc: wrote {build.dir} (targets: {targets})", file=sys.stderr)
    return EXIT_OK if comp.ok else EXIT_INPUT
