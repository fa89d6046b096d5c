"""`fgc compile FILE -o DIR`: compile an experiment into a build directory."""

from __future__ import annotations

import sys

from .. import pipeline
from ..diagnostics import print_diagnostics
from .check import add_no_import_option
from .common import (
    EXIT_INPUT,
    EXIT_OK,
    add_dynamic_args_option,
    add_examples,
    add_format_option,
    add_input_options,
    add_override_option,
    diagnostic_stream,
    read_overrides,
    read_target,
    report,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compile",
        help="compile an experiment into a build directory (config.py, manifest, sources)",
        description="Compile FILE into the build directory DIR: config.py (the generated module), "
        "config.yaml (the resolved config), graph.json, fgc-manifest.json, sources/, modules/ and "
        "model/ (for a dynamic_causal_lm). DIR is replaced atomically, and only when it holds a build and "
        "nothing else (a run directory is never replaced); run it with `fgc run DIR`.\n\n"
        "FILE may be a build or run directory: its saved sources (sources/, modules/) are compiled "
        "again with the -D variables and --overrides it recorded (then those given here), e.g. "
        "`fgc compile runs/quickstart/latest -o rebuilt`. The --overrides applied are recorded "
        "in fgc-manifest.json (`overrides`).",
    )
    add_input_options(p)
    add_override_option(p)
    add_dynamic_args_option(p)
    p.add_argument(
        "-o", "--output", dest="output", metavar="DIR", required=True, help="the build directory to write"
    )
    add_no_import_option(p)
    add_format_option(p)
    add_examples(
        p,
        'fgc compile examples/quickstart/experiment.fg -o build/quickstart && fgc run build/quickstart',
        'fgc compile exp.fg -o build/small -D hidden_size=64 --override trainer.args.max_steps=10',
        "fgc compile runs/quickstart/latest -o rebuilt              a run's saved sources, compiled again",
    )
    p.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    from forgather_files.runs import MANIFEST, RUN_RECORD

    from ..project import is_project_dir

    d = Path(args.file)
    saved = any((d / f).is_file() for f in (MANIFEST, RUN_RECORD))
    if d.is_dir() and (saved or not is_project_dir(d)):  # a build or run directory (runs may lie in a project)
        return _recompile(args)
    inp = read_target(args)  # FILE, or PROJECT_DIR [-t CONFIG]
    overrides = read_overrides(args)
    return _compile(args, inp.path, inp.include_dirs, inp.variables, inp.globals, inp.diagnostics, overrides)


def _recompile(args) -> int:
    """FILE is a build or run directory: compile its saved sources again (saved_sources.py)."""
    from pathlib import Path

    from ..build import BuildError
    from ..build.saved_sources import saved_input
    from ..diagnostics import warning
    from .common import parse_defines

    try:
        with saved_input(args.file) as saved:
            if saved.external:
                print_diagnostics(
                    [warning("FG0709", "saved files from outside the input's directory, -I and stdlib/ "
                             f"cannot be found again by name: {', '.join(saved.external)}")],
                    args.format,
                    diagnostic_stream(args.format),
                )
            variables = {**saved.variables, **parse_defines(args.defines)}
            include_dirs = [*saved.include_dirs, *args.include_dirs]
            overrides = read_overrides(args, saved.overrides)
            return _compile(args, saved.path, include_dirs, variables, saved.globals or None, (), overrides,
                            (Path(args.file), saved.manifest))
    except BuildError as e:
        return report([e.diagnostic], args.format)


def _compile(args, path, include_dirs, variables, globals=None, diagnostics=(), overrides=(), recompiled_from=None) -> int:
    from ..build import write_build

    comp = pipeline.compile_file(
        path, include_dirs, variables, globals=globals, import_modules=not args.no_import, overrides=overrides
    )
    comp.diagnostics[:0] = diagnostics
    if not comp.ok:
        return report(comp.diagnostics, args.format)
    built = write_build(comp, args.output, variables, dict(globals or {}), recompiled_from)
    build = built.value
    if build is None:
        return report(list(comp.diagnostics) + built.diagnostics, args.format)
    if comp.diagnostics:
        print_diagnostics(comp.diagnostics, args.format, diagnostic_stream(args.format))
    if args.format == "human":
        targets = ", ".join(build.targets) or "(none)"
        print(f"fgc: wrote {build.dir} (targets: {targets})", file=sys.stderr)
    return EXIT_OK if comp.ok else EXIT_INPUT
