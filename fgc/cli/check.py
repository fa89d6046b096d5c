"""`fgc check FILE`: every diagnostic the pipeline knows, no output files."""

from __future__ import annotations

from .. import pipeline
from .common import (
    add_format_option,
    add_input_options,
    read_input,
    report,
)


def add_no_import_option(p) -> None:
    p.add_argument(
        "--no-import",
        dest="no_import",
        action="store_true",
        help="do not import the modules the config names (no signature checks)",
    )


def add_parser(sub) -> None:
    p = sub.add_parser(
        "check",
        help="report problems in an experiment, with file:line:col; writes nothing",
        description="Run every stage of the compiler on FILE (templates, config, semantic passes, "
        "imports, signatures and argument types against the callables' annotations, code generation) and report its diagnostics. Exit code 0 when "
        "clean (warnings allowed), 1 when the input has errors.",
    )
    add_input_options(p)
    add_no_import_option(p)
    add_format_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    path, variables = read_input(args)
    comp = pipeline.compile_file(
        path,
        args.include_dirs,
        variables,
        import_modules=not args.no_import,
        use_black=False,
        code_text=False,
    )
    return report(comp.diagnostics, args.format)
