"""`fgc check FILE`: every diagnostic the pipeline knows, no output files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import (
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

if TYPE_CHECKING:
    from ..result_cache.inputs import InputRecorder


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
    add_override_option(p)
    add_dynamic_args_option(p)
    p.add_argument(
        "--all",
        action="store_true",
        help="with PROJECT_DIR: check every config of the project in one process, one summary line "
        "per config; exit code 1 if any has errors",
    )
    add_no_import_option(p)
    add_no_cache_option(p)
    add_format_option(p)
    add_examples(
        p,
        'fgc check examples/quickstart/experiment.fg              diagnostics on stderr, exit code 1 on errors',
        'fgc check exp.fg -D hidden_size=64 --override optimizer.lr=1e-4',
        'fgc check exp.fg --format json | jq -r \'.file + ":" + (.line|tostring) + " " + .message\'',
        'fgc check my_project --all                               every config of a project',
    )
    p.set_defaults(handler=run)


def add_no_cache_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-cache",
        dest="no_cache",
        action="store_true",
        help="neither read nor write the on-disk result cache (also: FGC_NO_CACHE=1). A cached "
        "result is replayed only while every template, search-path lookup and Python file it "
        "read is unchanged; see docs/benchmarks.md",
    )


def run(args: argparse.Namespace) -> int:
    if args.all:
        return _check_all(args)
    # A valid cached result is replayed without importing the compiler (fgc/result_cache).
    from ..result_cache.command import run_cached

    return run_cached("check", args, {}, lambda recorder: _check(args, recorder))


def _check(args: argparse.Namespace, recorder: InputRecorder) -> tuple[int, bool]:
    """A fresh check, reading through `recorder`: (exit code, whether the recorder saw every
    input)."""
    from .. import pipeline
    from ..imports.cache import default_cache_dir

    inp = read_target(args)
    overrides = read_overrides(args)
    front = pipeline.frontend(
        inp.path, inp.include_dirs, inp.variables, globals=inp.globals, source=recorder.source()
    )
    comp = pipeline.backend(
        front,
        import_modules=not args.no_import,
        use_black=False,
        code_text=False,
        overrides=overrides,
        cache=recorder.signature_cache(default_cache_dir() if not args.no_import else None),
    )
    code = report(inp.diagnostics + comp.diagnostics, args.format)
    return code, recorder.note_compilation(comp)


def _check_all(args: argparse.Namespace) -> int:
    """`--all`: every config's diagnostics, then `name: ok | N errors, M warnings` per config."""
    import sys

    from ..diagnostics import has_errors, print_diagnostics, summary
    from ..project.batch import check_all
    from .common import EXIT_INPUT, EXIT_OK, UsageError, load_project_or_report, parse_defines

    if not Path(args.file).is_dir() or args.config is not None:
        raise UsageError("--all checks every config of a PROJECT_DIR (without -t)")
    if args.overrides:
        raise UsageError("--override names a path of one config; it cannot go with --all")
    project, meta_diags = load_project_or_report(args.file)
    variables = parse_defines(args.defines)
    results = check_all(project, variables, [Path(d) for d in args.include_dirs], not args.no_import)
    everything = meta_diags + [d for r in results for d in r.diagnostics]
    print_diagnostics(everything, args.format, diagnostic_stream(args.format))
    if args.format == "human":
        width = max((len(r.name) for r in results), default=0)
        for r in results:
            verdict = summary(r.diagnostics).strip() if r.diagnostics else "ok"
            print(f"{r.name.ljust(width)}  {verdict}", file=sys.stderr)
        bad = sum(not r.ok for r in results)
        print(f"fgc: {len(results)} configs checked, {bad} with errors", file=sys.stderr)
    return EXIT_INPUT if has_errors(everything) else EXIT_OK
