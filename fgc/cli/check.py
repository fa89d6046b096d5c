"""`fgc check FILE`: every diagnostic the pipeline knows, no output files."""

from __future__ import annotations

from .. import pipeline
from .common import (
    UsageError,
    add_format_option,
    add_input_options,
    check_input_file,
    parse_defines,
    report,
    usage_error,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "check",
        help="report problems in an experiment, with file:line:col; writes nothing",
        description="Run every stage of the compiler on FILE and report its diagnostics. "
        "Exit code 0 when clean (warnings allowed), 1 when the input has errors.",
    )
    add_input_options(p)
    add_format_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    try:
        path = check_input_file(args.file)
        variables = parse_defines(args.defines)
    except UsageError as e:
        return usage_error(str(e))
    result = pipeline.frontend(path, args.include_dirs, variables)
    return report(result.diagnostics, args.format)
