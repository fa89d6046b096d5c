"""`fgc run DIR`: construct a target of a build and run it (DESIGN §3.10).

Checks the build against its manifest (a modified config.py is refused unless --force),
imports config.py, sets FGC_BUILD_DIR, constructs the target with the --set variables, then
calls its `.run()` if it has one, else calls it if it is callable, else pretty-prints it.
`--nproc N` relaunches the same command in N processes through torchrun.
An error while building a node is reported at the node's template position, never as a bare
traceback (--traceback adds the Python traceback).
"""

from __future__ import annotations

import os
import pprint
import subprocess
import sys
from pathlib import Path

from ..diagnostics import did_you_mean, error, print_diagnostics, warning
from .common import EXIT_INPUT, EXIT_OK, UsageError, usage_error
from .run_errors import report_exception
from .run_sets import parse_sets


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="construct a target of a build and run it",
        description="Import DIR/config.py, construct TARGET (default: main) and run it: call its "
        "run() method if it has one, else call it if it is callable, else print it.",
    )
    p.add_argument("build", metavar="DIR", help="a build directory written by `fgc compile`")
    p.add_argument("--target", "-t", default="main", help="the target to construct (default: main)")
    p.add_argument(
        "--set",
        dest="sets",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="give variable NAME (a !var of the config) a value; VALUE is read as a YAML scalar",
    )
    p.add_argument(
        "--nproc",
        type=int,
        default=None,
        metavar="N",
        help="run N processes with torchrun (torch.distributed)",
    )
    p.add_argument(
        "--force", action="store_true", help="run even if the build was modified after compilation"
    )
    p.add_argument("--traceback", action="store_true", help="also print the Python traceback of an error")
    p.set_defaults(handler=run)


def _torchrun(args) -> int:
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={args.nproc}",
        "-m",
        "fgc",
        "run",
        args.build,
        "--target",
        args.target,
    ]
    for s in args.sets:
        cmd += ["--set", s]
    if args.force:
        cmd.append("--force")
    if args.traceback:
        cmd.append("--traceback")
    return subprocess.run(cmd).returncode


def run(args) -> int:
    from ..build import BuildError, load, modified_files, read_manifest

    if args.nproc is not None:
        if args.nproc < 1:
            return usage_error("--nproc must be at least 1")
        if "LOCAL_RANK" not in os.environ:  # not yet inside torchrun
            return _torchrun(args)
    build_dir = Path(args.build).absolute()
    try:
        manifest = read_manifest(build_dir)
        changed = modified_files(build_dir, manifest)
    except BuildError as e:
        print_diagnostics([e.diagnostic])
        return EXIT_INPUT
    if changed:
        if not args.force:
            print_diagnostics(
                [
                    error(
                        "FG0704",
                        f"the build was modified after `fgc compile`: {', '.join(changed)}",
                        hint="recompile it, or pass --force to run it as it is",
                    )
                ]
            )
            return EXIT_INPUT
        print_diagnostics([warning("FG0705", f"running a modified build (--force): {', '.join(changed)}")])
    try:
        values = parse_sets(args.sets, manifest.get("variables", {}))
    except UsageError as e:
        return usage_error(str(e))
    os.environ["FGC_BUILD_DIR"] = str(build_dir)
    try:
        config = load(build_dir, force=True)
    except Exception as exc:
        report_exception(exc, "importing the build's config.py failed", manifest, build_dir, args.traceback)
        return EXIT_INPUT
    if args.target not in config.TARGETS:
        hint = did_you_mean(args.target, config.TARGETS)
        return usage_error(
            f"the build has no target `{args.target}` (targets: {', '.join(config.TARGETS)})"
            + (f"; {hint}" if hint else "")
        )
    try:
        obj = config.construct(args.target, **values)
    except Exception as exc:
        report_exception(exc, f"building target `{args.target}` failed", manifest, build_dir, args.traceback)
        return EXIT_INPUT
    try:
        if callable(getattr(obj, "run", None)):
            obj.run()
        elif callable(obj):
            result = obj()
            if result is not None:
                pprint.pprint(result)
        else:
            pprint.pprint(obj)
    except Exception as exc:
        report_exception(exc, f"running target `{args.target}` failed", manifest, build_dir, args.traceback)
        return EXIT_INPUT
    return EXIT_OK
