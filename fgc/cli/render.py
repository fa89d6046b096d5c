"""`fgc render FILE`: the rendered YAML of an experiment, templates expanded.

With `--origins` each line is followed by a `# file:line` column naming the template line it
came from (through extends, includes, super() and macros). Diagnostics go to stderr; with
`--format json` every line of stdout is JSON: `{"output": TEXT}` and the diagnostics.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..diagnostics import display_path
from .check import add_no_cache_option
from .common import (
    add_dynamic_args_option,
    add_examples,
    add_format_option,
    add_input_options,
    read_target,
    report,
    write_output,
)

if TYPE_CHECKING:
    from ..result_cache.inputs import InputRecorder
    from ..sourcemap import SourceMap

_MAX_PAD = 100  # the origin column starts at most here


def add_parser(sub) -> None:
    p = sub.add_parser(
        "render",
        help="print the rendered YAML (templates expanded), optionally with each line's origin",
        description="Expand FILE's templates (extends, include, blocks, line statements) and print "
        "the YAML text the config layer reads. Exit code 0 when clean, 1 when the templates have "
        "errors (diagnostics on stderr).",
    )
    add_input_options(p)
    add_dynamic_args_option(p)
    p.add_argument(
        "--origins",
        action="store_true",
        help="annotate every line with the template file:line it came from",
    )
    p.add_argument(
        "--no-import",
        action="store_true",
        help="accepted for symmetry with `fgc graph`: rendering never imports Python modules",
    )
    add_no_cache_option(p)
    add_format_option(p, 'the output itself is then one {"output": TEXT} line before the diagnostics')
    add_examples(
        p,
        'fgc render examples/quickstart/experiment.fg              the YAML that the config layer reads',
        'fgc render exp.fg --origins | grep optimizer             which template wrote each line',
        'fgc render exp.fg -D max_steps=10',
    )
    p.set_defaults(handler=run)


def origin_label(source_map: SourceMap, line: int, relative_to=display_path) -> str:
    """`file:line` of a rendered line (several, comma-separated, when lines were joined)."""
    origins = source_map.origins[line - 1] if line <= len(source_map.origins) else ()
    return ", ".join(f"{relative_to(o.file)}:{o.line}" for o in origins)


def annotate(text: str, source_map: SourceMap) -> str:
    """The rendered text with a right-hand `# file:line` column."""
    lines = text.split("\n")
    width = min(max((len(l) for l in lines), default=0), _MAX_PAD)
    out = []
    for i, line in enumerate(lines, 1):
        label = origin_label(source_map, i)
        out.append(f"{line.ljust(width)}  # {label}" if label else line)
    return "\n".join(out)


def run(args) -> int:
    # A valid cached result is replayed without importing the compiler (fgc/result_cache).
    from ..result_cache.command import run_cached

    return run_cached("render", args, {"origins": args.origins}, lambda recorder: _render(args, recorder))


def _render(args: argparse.Namespace, recorder: InputRecorder) -> tuple[int, bool]:
    """A fresh rendering, reading through `recorder`: (exit code, True: it saw every input)."""
    from ..render import render_file

    inp = read_target(args)
    result = render_file(inp.path, inp.include_dirs, inp.variables, globals=inp.globals, source=recorder.source())
    result.diagnostics[:0] = inp.diagnostics
    if result.text is not None:
        out = annotate(result.text, result.source_map) if args.origins and result.source_map else result.text
        write_output(out + "\n", args.format)
    return report(result.diagnostics, args.format), True
