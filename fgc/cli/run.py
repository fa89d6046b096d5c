"""`fgc run DIR`: construct a target of a build and run it in a new run directory.

The command line: its options and help, the checks of the build (modified, stale sources), the
`--set` values and the target, and which role this process plays (fgc/runs/roles.py); what each
role does is fgc/runs/session.py, and the rest of a run lives in `fgc.runs` too (planning the
run directory, the record, the torchrun launch, SLURM). An exception of the target is reported
at the user's line by run_errors.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from forgather_files.runs import is_run_dir

from ..diagnostics import Diagnostic, did_you_mean, error, print_diagnostics, warning
from ..runs.launcher import DEFAULT_STOP_TIMEOUT, LaunchOptions, check_options, rendezvous_id
from ..runs.roles import Role, process_rank, role_of
from .absent_variable import why_absent
from .common import EXIT_INPUT, EXIT_USAGE, UsageError, usage_error
from .run_errors import end_progress_bars, exception_diagnostic
from .run_sets import parse_sets

DESCRIPTION = """\
Run a build: import DIR/config.py, construct TARGET (default: main) and run it (call its run()
method if it has one, else call it if it is callable, else print it).

Every run gets a new run directory, never an existing one:
  <output_dir>/<YYYYmmdd-HHMMSS>[-N]/   with <output_dir>/latest pointing at the last completed run
where <output_dir> is the build's `output_dir` variable (the stdlib templates: runs/<config_name>,
relative to the working directory; change it with --set output_dir=DIR). The target gets the run
directory as its `output_dir`. A build without an `output_dir` variable gets no run directory
unless --output-dir is given.

The run directory holds a snapshot of the build (config.py, config.yaml, fgc-manifest.json,
graph.json, sources/, modules/, model/), the run record fgc-run.json (command line, --set
values, resolved variables, start and end time, status, host, installed packages, sha256 of the
local data files read), and what the target writes (checkpoints, logs, the final model).

DIR may also be a run directory, or an experiment file:
  fgc run RUN_DIR             run it again with its recorded --set values (and any new ones)
                              into a new run directory next to it; RUN_DIR is not touched
  fgc run RUN_DIR --resume    continue RUN_DIR from its latest checkpoint, in RUN_DIR
  fgc run exp.fg              compile exp.fg into a temporary build and run that (the run
                              directory keeps the snapshot; `fgc compile` keeps a build)

Stopping: SIGTERM, SIGINT (Ctrl-C), SIGHUP, SIGUSR1 or SIGUSR2 (SLURM's --signal warning), or
`fgc ctl RUN_DIR stop` from another shell: every process finishes its step, a checkpoint is
written (also with save_strategy='no'), the run is recorded `preempted` with the step, and
`fgc run RUN_DIR --resume` continues it exactly. A second Ctrl-C aborts at once (`interrupted`).
`fgc ctl RUN_DIR save` writes a checkpoint and training goes on.

The build's `seed` variable (stdlib templates: 42) seeds Python, numpy and torch before anything
is constructed, so two runs of one build with one seed give the same numbers on a CPU.
"""

EPILOG = """\
examples:
  fgc run build                          train with the defaults
  fgc run build --set max_steps=20 --set batch_size=8
  fgc run runs/quickstart/latest         the same run again, in a new run directory
  fgc run runs/quickstart/latest --resume
  fgc run build --output-dir /tmp/try1   this exact (new or empty) run directory
  fgc run build --nproc 4                4 processes on this machine (torchrun)
  fgc run build --nproc 8 --nnodes 2 --node-rank 0 --master-addr host0 --output-dir /shared/run1
                                         node 0 of 2 (the same on host1 with --node-rank 1)
  fgc run build --launcher slurm --nnodes 2 --nproc 8 --gpus-per-node 8 --partition gpu
                                         submit to SLURM (requeued and resumed on preemption)

exit codes: 0 the target ran, 1 a bad build or the target raised, 2 bad command line,
75 stopped by `fgc ctl stop`, 128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM)
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="construct a target of a build and run it in a new run directory",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("build", metavar="DIR",
                   help="a build directory (`fgc compile -o DIR`), a run directory, or an experiment file")
    p.add_argument("--target", "-t", default="main", help="the target to construct (default: main)")
    p.add_argument(
        "--set",
        dest="sets",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="give variable NAME (a !var of the config, see `fgc targets DIR`) a value; VALUE is "
        "read as a YAML scalar (3 is an int, 1e-3 a float, true a bool, ~ None); recorded in the run",
    )
    p.add_argument(
        "--output-dir",
        "-o",
        metavar="RUN_DIR",
        default=None,
        help="write the run into exactly RUN_DIR (new or empty; with --resume, the run to continue) "
        "instead of a new timestamped directory",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in DIR (a run directory) or in --output-dir from its latest checkpoint",
    )
    p.add_argument(
        "--nproc",
        type=int,
        default=None,
        metavar="N",
        help="run N processes with torchrun (torch.distributed); refused for a single-process trainer",
    )
    p.add_argument(
        "--force", action="store_true", help="run even if the build was modified after compilation"
    )
    p.add_argument("--traceback", action="store_true",
                   help="also print the Python traceback of an error (and torchrun's own log lines)")
    _add_launch_arguments(p)
    _add_submit_arguments(p)
    p.set_defaults(handler=run)


def _add_launch_arguments(parser) -> None:
    group = parser.add_argument_group(
        "multi-process launch (with --nproc; torchrun's flags of the same names)",
        "One node: `--nproc N` alone (a standalone rendezvous on a free local port).\n"
        "Several nodes: the same command on every node with --nnodes, its own --node-rank, rank 0's\n"
        "--master-addr (and --master-port) and the same --output-dir on a shared file system.\n"
        "Processes use gloo on the CPU and NCCL on CUDA.",
    )
    group.add_argument("--nnodes", type=int, default=None, metavar="M", help="number of nodes (default: 1)")
    group.add_argument("--node-rank", type=int, default=None, metavar="R", help="this node's rank, 0..M-1 (default: 0)")
    group.add_argument("--master-addr", default=None, metavar="HOST",
                       help="address of the node with rank 0 (needed when --nnodes > 1)")
    group.add_argument("--master-port", type=int, default=None, metavar="PORT",
                       help="a free port on the rank-0 node (default with --master-addr: 29500)")
    group.add_argument("--stop-timeout", type=int, default=None, metavar="S",
                       help=f"after a stop signal, how long torchrun waits for the processes to finish their "
                       f"step and checkpoint before it kills them (default: {DEFAULT_STOP_TIMEOUT})")
    group.add_argument("--torchrun-arg", dest="torchrun_args", action="append", default=[], metavar="ARG",
                       help="pass ARG to torchrun as it is (repeatable), e.g. --torchrun-arg=--max-restarts=2 "
                       "(restarted processes resume from the newest checkpoint)")


def _add_submit_arguments(parser) -> None:
    group = parser.add_argument_group(
        "submitting to SLURM (with --launcher; needs submitit: pip install 'forgather[slurm]')",
        "The job runs `fgc run` on each of --nnodes nodes (with --nproc processes each) into a run\n"
        "directory made now (print it, watch it with `fgc ctl RUN_DIR status`); on SLURM's warning\n"
        "before the time limit or a preemption it writes a checkpoint and is requeued with --resume.",
    )
    group.add_argument("--launcher", choices=("slurm", "submitit-local"), default=None,
                       help="submit the run as a job: to SLURM, or with submitit's local executor "
                       "(this machine, the same job files)")
    group.add_argument("--partition", default=None, help="the SLURM partition")
    group.add_argument("--time-min", type=int, default=None, metavar="MIN", help="the job's time limit (default: 1440)")
    group.add_argument("--gpus-per-node", type=int, default=None, metavar="G")
    group.add_argument("--cpus-per-task", type=int, default=None, metavar="C")
    group.add_argument("--mem-gb", type=float, default=None, metavar="GB")
    group.add_argument("--signal-delay", type=int, default=None, metavar="S",
                       help="SLURM signals the job this many seconds before its time limit (default: 120)")
    group.add_argument("--wait", action="store_true", help="wait for the job to end and report how it ended")


# Options that mean something only with --nproc, and only with --launcher.
_LAUNCH_ONLY = ("nnodes", "node_rank", "master_addr", "master_port", "stop_timeout", "torchrun_args")
_SUBMIT_ONLY = ("partition", "time_min", "gpus_per_node", "cpus_per_task", "mem_gb", "signal_delay", "wait")


def _flag(name: str) -> str:
    return "--torchrun-arg" if name == "torchrun_args" else "--" + name.replace("_", "-")


def _say(message: str) -> None:
    print(f"fgc: {message}", file=sys.stderr, flush=True)


def _usage(code: str, message: str, hint: str | None = None) -> int:
    print_diagnostics([error(code, message, hint=hint)])
    return EXIT_USAGE


# --------------------------------------------------------------------------------- the command


def run(args) -> int:
    given_launch = [_flag(n) for n in _LAUNCH_ONLY if getattr(args, n) not in (None, [])]
    given_submit = [_flag(n) for n in _SUBMIT_ONLY if getattr(args, n) not in (None, False)]
    role = role_of(args.nproc, args.node_rank or 0, args.launcher, os.environ)
    if args.nproc is None and given_launch and role in (Role.SINGLE, Role.SUBMIT):
        allowed = ("--nnodes",) if role is Role.SUBMIT else ()
        ignored = [f for f in given_launch if f not in allowed]
        if ignored:
            return _usage("FG0013", f"{', '.join(ignored)} without --nproc: a launch option changes nothing "
                          "for a single process", hint="add --nproc N (processes per node), or drop them")
    if given_submit and args.launcher is None:
        return _usage("FG0014", f"{', '.join(given_submit)} without --launcher: a job option changes nothing "
                      "for a run on this machine", hint="add --launcher slurm, or drop them")
    opts = _launch_options(args)
    if args.nproc is not None and role is not Role.SUBMIT:
        try:
            check_options(opts, args.output_dir)
        except ValueError as e:
            return usage_error(str(e))
    if role is Role.SUBMIT and args.nproc is not None and args.nproc < 1:
        return usage_error("--nproc must be at least 1")
    if role is Role.SUBMIT and args.launcher == "submitit-local" and (args.nnodes or 1) > 1:
        return usage_error("--launcher submitit-local runs on this machine: one node (--nnodes 1)")

    build_dir, temporary = _build_dir(args, role)
    if build_dir is None:
        return EXIT_INPUT
    try:
        return _run(args, role, opts, build_dir, temporary)
    finally:
        if temporary:
            shutil.rmtree(build_dir.parent, ignore_errors=True)


def _launch_options(args) -> LaunchOptions:
    return LaunchOptions(
        nproc=args.nproc or 1, nnodes=args.nnodes or 1, node_rank=args.node_rank or 0,
        master_addr=args.master_addr, master_port=args.master_port, torchrun_args=list(args.torchrun_args),
        stop_timeout=args.stop_timeout or DEFAULT_STOP_TIMEOUT,
        run_id=rendezvous_id(Path(args.output_dir).absolute() if args.output_dir else None),
    )


def _build_dir(args, role: Role) -> tuple[Path | None, bool]:
    """The build to run (a temporary one compiled from an experiment file), and whether it is
    temporary; None when the file does not compile (its diagnostics printed)."""
    path = Path(args.build)
    if not (path.is_file() and path.suffix in (".fg", ".yaml", ".yml")):
        build_dir = path.absolute()
        return (build_dir.resolve() if build_dir.is_symlink() else build_dir), False  # runs/<name>/latest
    from .. import pipeline
    from ..build import write_build

    comp = pipeline.compile_file(path, [], {})
    if not comp.ok:
        print_diagnostics(comp.diagnostics)
        return None, False
    home = Path(tempfile.mkdtemp(prefix="fgc-run-"))
    built = write_build(comp, home / "build", {})
    if built.value is None:
        print_diagnostics(list(comp.diagnostics) + built.diagnostics)
        shutil.rmtree(home, ignore_errors=True)
        return None, False
    if comp.diagnostics:
        print_diagnostics(comp.diagnostics)
    if role not in (Role.WORKER, Role.TORCHRUN) or process_rank(os.environ)[0] == 0:
        _say(f"compiled {path} into a temporary build (to keep a build: fgc compile {path} -o build)")
    return home / "build", True


def _run(args, role: Role, opts: LaunchOptions, build_dir: Path, temporary: bool) -> int:
    from ..build import BuildError, modified_files, read_manifest
    from ..runs.staleness import changed_sources
    from ..runs.dirs import newest_run

    # the launcher prints a build's warnings once; of plain torchrun's processes, rank 0 does
    quiet = role is Role.WORKER or (role is Role.TORCHRUN and process_rank(os.environ)[0] != 0)
    try:
        manifest = read_manifest(build_dir)
        changed = modified_files(build_dir, manifest)
    except BuildError as e:
        diagnostic = e.diagnostic
        if (build_dir / "latest").is_dir():  # a runs root, not a run
            diagnostic = error(diagnostic.code, diagnostic.message, hint=f"did you mean `{Path(args.build) / 'latest'}`?")
        elif build_dir.name == "latest" and not build_dir.exists() and (newest := newest_run(build_dir.parent)):
            diagnostic = error("FG0703", f"`{args.build}` does not exist: `latest` points at the last completed run, "
                                         f"and `{build_dir.parent}` has none yet",
                               hint=f"the newest run is `{newest}`; continue it with: fgc run {newest} --resume")
        elif build_dir.is_file() or not build_dir.exists():
            diagnostic = error("FG0703", f"`{args.build}` is not an fgc build, a run directory or an experiment file",
                               hint="compile an experiment first: fgc compile exp.fg -o build")
        print_diagnostics([diagnostic])
        return EXIT_INPUT
    if changed:
        if not args.force:
            print_diagnostics([error("FG0704", f"the build was modified after `fgc compile`: {', '.join(changed)}",
                                     hint="recompile it, or pass --force to run it as it is")])
            return EXIT_INPUT
        if not quiet:
            print_diagnostics([warning("FG0705", f"running a modified build (--force): {', '.join(changed)}")])
    stale = [] if is_run_dir(build_dir) or temporary else changed_sources(manifest)
    if stale and not quiet:
        print_diagnostics([warning("FG0732", f"the build's sources changed since `fgc compile`: {', '.join(stale)}; "
                                   "it runs as it was compiled",
                                   hint=f"to run the new text: fgc compile {manifest.get('input_path', 'FILE')} -o {args.build}")])
    declared = manifest.get("variables", {})
    try:
        given = parse_sets(args.sets, declared)
    except UsageError as e:
        return usage_error(str(e) + why_absent(build_dir, args.sets, declared))
    targets = manifest.get("targets", {})
    if args.target not in targets:
        hint = did_you_mean(args.target, targets)
        return usage_error(
            f"the build has no target `{args.target}` (targets: {', '.join(targets)})" + (f"; {hint}" if hint else "")
        )
    from ..runs import session

    def describe(exc: BaseException, what: str) -> Diagnostic:
        end_progress_bars()  # the report starts on a line of its own
        return exception_diagnostic(exc, what, manifest, build_dir)

    command = session.RunCommand(
        build_dir, manifest, given, target=args.target,
        output_dir=Path(args.output_dir) if args.output_dir else None, resume=args.resume, force=args.force,
        traceback=args.traceback, nproc=args.nproc, launch=opts, slurm=_slurm_options(args) if args.launcher else None,
        wait=args.wait, describe=describe)
    return session.run(role, command)


def _slurm_options(args):
    from ..runs.slurm import SlurmOptions

    extra = ["--target", args.target, *[x for s in args.sets for x in ("--set", s)]]
    return SlurmOptions(
        launcher=args.launcher, nnodes=args.nnodes or 1, nproc=args.nproc, partition=args.partition,
        time_min=args.time_min or 24 * 60, gpus_per_node=args.gpus_per_node, cpus_per_task=args.cpus_per_task,
        mem_gb=args.mem_gb, signal_delay_s=args.signal_delay or 120, extra=extra)


