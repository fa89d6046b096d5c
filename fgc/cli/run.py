"""`fgc run DIR`: construct a target of a build and run it in a new run directory.

The command line and what it prints; the domain lives in `fgc.runs` (planning the run directory,
the record, process roles, the torchrun launch, SLURM). Each role (fgc/runs/roles.py) has one
function here: `_single`, `_launcher`, `_node`, `_worker`, `_torchrun_process`, `_submit`; all
but the launching ones build and run the target through `_execute`, which returns how it ended
instead of printing, so that a launched worker hands its error to the launcher (printed once for
the whole job) and a single process prints it itself.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pprint
import shutil
import signal
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from forgather_files.runs import (
    BUILD_DIR_ENV,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    PREEMPTED,
    RESUME_ENV,
    RUN_DIR_ENV,
    RunStopped,
    is_run_dir,
    process_dir,
    stop_exit_code,
)

from ..diagnostics import Diagnostic, did_you_mean, error, print_diagnostics, warning
from ..runs import control, worker
from ..runs.dirs import RunDirError, point_latest, unwritable
from ..runs.launcher import DEFAULT_STOP_TIMEOUT, Launch, LaunchOptions, check_options, outcome, rendezvous_id
from ..runs.plan import Plan, Request, plan_run, resolved_variables, target_values
from ..runs.processes import STOP_SIGNALS, die_with_parent, signal_name
from ..runs.record import finish_record, note_data_files, start_record
from ..runs.roles import LAUNCH_DIR_ENV, NODE_RANK_ENV, NODE_SETS_ENV, Role, process_rank, role_of
from .common import EXIT_INPUT, EXIT_OK, EXIT_USAGE, UsageError, usage_error
from .run_errors import exception_diagnostic
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

    # the launcher prints a build's warnings once; of plain torchrun's processes, rank 0 does
    quiet = role is Role.WORKER or (role is Role.TORCHRUN and process_rank(os.environ)[0] != 0)
    try:
        manifest = read_manifest(build_dir)
        changed = modified_files(build_dir, manifest)
    except BuildError as e:
        diagnostic = e.diagnostic
        if (build_dir / "latest").is_dir():  # a runs root, not a run
            diagnostic = error(diagnostic.code, diagnostic.message, hint=f"did you mean `{Path(args.build) / 'latest'}`?")
        elif build_dir.is_file() or not build_dir.exists():
            diagnostic = error("FG0703", f"`{args.build}` is neither a build, a run directory nor an experiment file",
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
        return usage_error(str(e))
    targets = manifest.get("targets", {})
    if args.target not in targets:
        hint = did_you_mean(args.target, targets)
        return usage_error(
            f"the build has no target `{args.target}` (targets: {', '.join(targets)})" + (f"; {hint}" if hint else "")
        )
    context = _Context(args, build_dir, manifest, given, opts)
    handlers = {Role.SINGLE: _single, Role.LAUNCHER: _launcher, Role.NODE: _node, Role.WORKER: _worker,
                Role.TORCHRUN: _torchrun_process, Role.SUBMIT: _submit}
    return handlers[role](context)


@dataclass
class _Context:
    args: Any
    build_dir: Path
    manifest: dict[str, Any]
    given: dict[str, Any]
    opts: LaunchOptions

    @property
    def variables(self) -> dict[str, Any]:
        return self.manifest.get("variables", {})

    def request(self) -> Request:
        output_dir = Path(self.args.output_dir) if self.args.output_dir else None
        return Request(self.build_dir, self.variables, self.given, output_dir, self.args.resume)


def _plan(ctx: _Context) -> Plan | int:
    """The plan, or the exit code after printing why there is none."""
    try:
        plan = plan_run(ctx.request())
    except RunDirError as e:
        print_diagnostics([error(e.code, str(e))])
        return EXIT_USAGE
    if plan.nothing_to_do:
        _say(f"nothing to do: {plan.nothing_to_do}")
        return EXIT_OK
    return plan


# -------------------------------------------------------------------------- one process: SINGLE


def _single(ctx: _Context) -> int:
    plan = _plan(ctx)
    if isinstance(plan, int):
        return plan
    _begin(ctx, plan)
    ending = _execute(ctx, plan)
    ending.print(ctx.args.traceback)
    return _finish(ctx, plan, ending.status, ending.exit_code, ending.error, stopped=ending.stopped)


def _begin(ctx: _Context, plan: Plan, launch: dict[str, Any] | None = None) -> None:
    if plan.run_dir is None:
        return
    from forgather_files.runs import copy_snapshot

    copy_snapshot(ctx.build_dir, plan.run_dir)
    control.reset(plan.run_dir)
    start_record(
        plan.run_dir,
        argv=_command_line(),
        build_dir=ctx.build_dir,
        manifest=ctx.manifest,
        target=ctx.args.target,
        sets=plan.sets,
        variables=resolved_variables(ctx.variables, target_values(ctx.variables, plan)),
        resumed_from=str(plan.resume_from) if plan.resume_from else None,
        runs_root=plan.runs_root,
        launch=launch,
    )
    what = f"continuing {plan.run_dir} from {plan.resume_from.name}" if plan.resume_from else f"run directory {plan.run_dir}"
    _say(what)


def _command_line() -> list[str]:
    """The command as typed: `fgc ...`, or the interpreter's whole command line for
    `python -m fgc ...`."""
    if sys.argv and Path(sys.argv[0]).name == "__main__.py":
        return list(getattr(sys, "orig_argv", None) or [sys.executable, "-m", "fgc", *sys.argv[1:]])
    return [Path(sys.argv[0]).name if sys.argv else "fgc", *sys.argv[1:]]


def _resume_command(ctx: _Context, run_dir: Path) -> str:
    cmd = f"fgc run {run_dir} --resume"
    a = ctx.args
    if a.nproc is not None and (a.nnodes or 1) > 1:
        port = f" --master-port {a.master_port}" if a.master_port else ""
        return (f"{cmd} --output-dir {run_dir} --nproc {a.nproc} --nnodes {a.nnodes} --master-addr {a.master_addr}"
                f"{port} --node-rank R   (on every node, R its rank)")
    if a.nproc is not None:
        cmd += f" --nproc {a.nproc}"
    return cmd


def _finish(ctx: _Context, plan: Plan, status: str, code: int, message: str | None, **more: Any) -> int:
    if plan.run_dir is None:
        return code
    resume = None
    if status in (PREEMPTED, INTERRUPTED) and (status == PREEMPTED or _has_checkpoint(plan.run_dir)):
        resume = _resume_command(ctx, plan.run_dir)
    finish_record(plan.run_dir, status, code, message, resume_command=resume, **more)
    if status == COMPLETED and plan.runs_root is not None:
        point_latest(plan.runs_root, plan.run_dir)
    _say(f"run {status}: {plan.run_dir} (record: {plan.run_dir / 'fgc-run.json'})")
    if status == PREEMPTED and more.get("stopped"):
        stop = more["stopped"]
        _say(f"stopped at step {stop.get('step')} ({stop.get('reason')}), checkpoint {stop.get('checkpoint')}")
    if resume:
        _say(f"continue it with: {resume}")
    return code


def _has_checkpoint(run_dir: Path) -> bool:
    from forgather_files.checkpoints import latest_checkpoint

    return latest_checkpoint(run_dir) is not None


# ------------------------------------------------------------------------- building and running


class _Terminated(BaseException):
    """A stop signal outside training (where the runtime does not handle it): the run ends."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(signum)


@dataclass
class _Ending:
    """How building and running the target ended."""

    status: str
    exit_code: int
    error: str | None = None  # one line, for the record
    diagnostic: Diagnostic | None = None
    traceback: str | None = None
    stopped: dict[str, Any] | None = None
    signal: int | None = None

    def print(self, with_traceback: bool, stream: Any = None) -> None:
        stream = stream or sys.stderr
        if self.traceback and with_traceback:
            stream.write(self.traceback)
        if self.diagnostic is not None:
            print_diagnostics([self.diagnostic], stream=stream)

    def text(self, with_traceback: bool) -> str | None:
        if self.diagnostic is None:
            return None
        out = io.StringIO()
        self.print(with_traceback, out)
        return out.getvalue()


def _execute(ctx: _Context, plan: Plan) -> _Ending:
    from ..build import load

    build_dir = ctx.build_dir
    if is_run_dir(build_dir) and plan.run_dir != build_dir:
        sys.dont_write_bytecode = True  # a re-run adds nothing to the run it repeats (__pycache__)
    os.environ[BUILD_DIR_ENV] = str(build_dir)
    if plan.run_dir is not None:
        os.environ[RUN_DIR_ENV] = str(plan.run_dir)
    if plan.resume_from is not None:
        os.environ[RESUME_ENV] = str(plan.resume_from)
    # SIGINT is Python's KeyboardInterrupt; while training, the runtime handles them all itself
    previous = {s: signal.signal(s, _on_signal) for s in STOP_SIGNALS if s != signal.SIGINT}
    stage = "importing the build's config.py"
    try:
        config = load(build_dir, force=True)
        stage = f"building target `{ctx.args.target}`"
        obj = config.construct(ctx.args.target, **target_values(ctx.variables, plan))
        stage = f"running target `{ctx.args.target}`"
        if callable(getattr(obj, "run", None)):
            obj.run()
        elif callable(obj):
            result = obj()
            if result is not None:
                pprint.pprint(result)
        else:
            pprint.pprint(obj)
    except RunStopped as stop:
        error_line = f"stopped at step {stop.step} ({stop.reason})"
        return _Ending(PREEMPTED, stop_exit_code(stop.signal), error_line, stopped=stop.note(), signal=stop.signal)
    except KeyboardInterrupt:
        return _Ending(INTERRUPTED, 128 + signal.SIGINT, f"Ctrl-C while {stage}", signal=signal.SIGINT)
    except _Terminated as t:
        return _Ending(INTERRUPTED, 128 + t.signum, f"{signal_name(t.signum)} while {stage}", signal=t.signum)
    except Exception as exc:
        diagnostic = exception_diagnostic(exc, f"{stage} failed", ctx.manifest, build_dir)
        return _Ending(FAILED, EXIT_INPUT, f"{stage} failed: {type(exc).__name__}: {exc}", diagnostic,
                       "".join(traceback.format_exception(exc)))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return _Ending(COMPLETED, EXIT_OK)


# ------------------------------------------------------------------------- --nproc: the launchers


def _refuse_single_process_trainer(ctx: _Context) -> int | None:
    if ctx.opts.nproc * ctx.opts.nnodes <= 1:
        return None
    from ..build import load
    from ..runs.trainers import nproc_refusal

    # The trainer classes are looked up before any run directory is made.
    os.environ[BUILD_DIR_ENV] = str(ctx.build_dir)
    try:
        load(ctx.build_dir, force=True)
    except Exception as exc:
        print_diagnostics([exception_diagnostic(exc, "importing the build's config.py failed", ctx.manifest,
                                                ctx.build_dir)])
        return EXIT_INPUT
    refusal = nproc_refusal(ctx.build_dir, ctx.opts.nproc * ctx.opts.nnodes)
    if refusal:
        print_diagnostics([error("FG0708", refusal)])
        return EXIT_USAGE
    return None


def _child(ctx: _Context) -> list[str]:
    """What torchrun starts in each process: this command, as a worker."""
    cmd = ["-m", "fgc", "run", str(ctx.build_dir), "--target", ctx.args.target]
    if ctx.args.force:
        cmd.append("--force")
    if ctx.args.traceback:
        cmd.append("--traceback")
    return cmd


def _launch_env(run_dir: Path | None, launch_dir: Path, node: int, sets: dict[str, Any], verbose: bool) -> dict[str, str]:
    env = {**os.environ, LAUNCH_DIR_ENV: str(launch_dir), NODE_RANK_ENV: str(node), NODE_SETS_ENV: json.dumps(sets)}
    if run_dir is not None:
        env[RUN_DIR_ENV] = str(run_dir)
    env.pop(RESUME_ENV, None)  # each worker resumes from the newest checkpoint itself
    if verbose:
        env["FGC_TORCHRUN_LOGS"] = "1"
    return env


def _launcher(ctx: _Context) -> int:
    refused = _refuse_single_process_trainer(ctx)
    if refused is not None:
        return refused
    plan = _plan(ctx)
    if isinstance(plan, int):
        return plan
    launch = {"nproc": ctx.opts.nproc, "nnodes": ctx.opts.nnodes, "launcher": "torchrun",
              **({"slurm_job_id": os.environ["SLURM_JOB_ID"]} if "SLURM_JOB_ID" in os.environ else {})}
    _begin(ctx, plan, launch)
    if plan.run_dir is not None:
        launch_dir = process_dir(plan.run_dir)
    else:
        launch_dir = Path(tempfile.mkdtemp(prefix="fgc-launch-"))
    try:
        env = _launch_env(plan.run_dir, launch_dir, 0, plan.sets, ctx.args.traceback)
        result = Launch(ctx.opts, _child(ctx), env, launch_dir).run()
        out = outcome(launch_dir, result)
    finally:
        if plan.run_dir is None:
            shutil.rmtree(launch_dir, ignore_errors=True)
    if out.report:
        sys.stderr.write(out.report)
    elif out.status == FAILED and out.error:
        print_diagnostics([error("FG0736", out.error)])
    failures = [{k: v for k, v in f.items() if k != "report"} for f in out.failures] or None
    return _finish(ctx, plan, out.status, out.exit_code, out.error, stopped=out.stopped, failures=failures,
                   restarts=out.restarts or None)


def _node(ctx: _Context) -> int:
    """A node > 0: its agent and workers, writing into node 0's run directory."""
    refused = _refuse_single_process_trainer(ctx)
    if refused is not None:
        return refused
    run_dir = Path(ctx.args.output_dir).absolute()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print_diagnostics([error("FG0730", str(unwritable(run_dir, "--output-dir", e)))])
        return EXIT_USAGE
    launch_dir = process_dir(run_dir)
    env = _launch_env(run_dir, launch_dir, ctx.opts.node_rank, ctx.given, ctx.args.traceback)
    result = Launch(ctx.opts, _child(ctx), env, launch_dir).run()
    out = outcome(launch_dir, result)
    _say(f"node {ctx.opts.node_rank}: the job ended {out.status}"
         + (f" ({out.error})" if out.error else "") + f"; node 0 keeps the record: {run_dir / 'fgc-run.json'}")
    return out.exit_code


# ------------------------------------------------------------------------- the launched processes


def _worker(ctx: _Context) -> int:
    launch_dir = Path(os.environ[LAUNCH_DIR_ENV])
    me = worker.register(launch_dir, os.environ)
    die_with_parent()  # torchrun's agent gone: stop (with a checkpoint when training)
    run_dir = Path(os.environ[RUN_DIR_ENV]) if RUN_DIR_ENV in os.environ else None
    plan, differs = worker.worker_plan(run_dir, os.environ)
    if differs and process_rank(os.environ)[1] == 0:  # once per node
        print_diagnostics([warning("FG0731", differs)])
    ending = _execute(ctx, plan)
    if run_dir is not None and process_rank(os.environ)[0] == 0:
        note_data_files(run_dir)  # the launcher writes the rest of the record
    if ending.status == COMPLETED:
        worker.finish(me, worker.COMPLETED, exit_code=0)
        return EXIT_OK
    if ending.status == PREEMPTED:  # torchrun sees a normal end: no restart, every node ends
        worker.finish(me, worker.STOPPED, exit_code=0)
        return EXIT_OK
    if ending.status == INTERRUPTED:
        worker.finish(me, worker.INTERRUPTED, error=ending.error, signal=signal_name(ending.signal),
                      exit_code=ending.exit_code)
        return ending.exit_code
    worker.finish(me, worker.FAILED, error=ending.error, report=ending.text(ctx.args.traceback),
                  exit_code=ending.exit_code)
    return ending.exit_code


def _torchrun_process(ctx: _Context) -> int:
    """A process of a plain `torchrun -m fgc run BUILD`: one run directory for all."""
    from ..runs.rendezvous import RendezvousError, agree

    made: list[Plan] = []

    def make() -> str:
        plan = _plan(ctx)
        if isinstance(plan, int):
            raise RendezvousError("see rank 0's output")
        _begin(ctx, plan)
        made.append(plan)
        return str(plan.run_dir or "")

    try:
        value, mine = agree(os.environ, make)
    except RendezvousError as e:
        if process_rank(os.environ)[0] != 0:
            _say(str(e))
        return EXIT_USAGE
    run_dir = Path(value) if value else None
    if mine:
        plan = made[0]
    else:
        plan, _ = worker.worker_plan(run_dir, {NODE_SETS_ENV: json.dumps(ctx.given)})
    ending = _execute(ctx, plan)
    ending.print(ctx.args.traceback)
    if not mine:
        return EXIT_OK if ending.status == PREEMPTED else ending.exit_code
    return _finish(ctx, plan, ending.status, ending.exit_code, ending.error, stopped=ending.stopped)


# ------------------------------------------------------------------------------------ SLURM


def _submit(ctx: _Context) -> int:
    from ..runs import slurm

    a = ctx.args
    extra = ["--target", a.target, *[x for s in a.sets for x in ("--set", s)]]
    opts = slurm.SlurmOptions(
        launcher=a.launcher, nnodes=a.nnodes or 1, nproc=a.nproc, partition=a.partition,
        time_min=a.time_min or 24 * 60, gpus_per_node=a.gpus_per_node, cpus_per_task=a.cpus_per_task,
        mem_gb=a.mem_gb, signal_delay_s=a.signal_delay or 120, extra=extra)
    try:
        slurm.check_available(opts)
    except slurm.SubmitError as e:
        print_diagnostics([error("FG0737", str(e))])
        return EXIT_INPUT
    plan = _plan(ctx)
    if isinstance(plan, int):
        return plan
    if plan.run_dir is None:
        return usage_error("--launcher: the build's `output_dir` is null; pass --output-dir RUN_DIR")
    try:
        submitted, job = slurm.submit(ctx.build_dir, plan.run_dir, opts, plan.runs_root)
    except slurm.SubmitError as e:
        print_diagnostics([error("FG0737", str(e))])
        if not a.resume:
            shutil.rmtree(plan.run_dir, ignore_errors=True)  # made for this job, which never started
        return EXIT_INPUT
    _say(f"submitted job {submitted.job_id}: run directory {plan.run_dir}")
    if submitted.stdout:
        _say(f"its output: {submitted.stdout}")
    _say(f"watch it: fgc ctl {plan.run_dir} status")
    if not a.wait:
        return EXIT_OK
    failed = slurm.wait(job)
    from forgather_files.runs import read_record

    record = read_record(plan.run_dir)
    _say(f"job {submitted.job_id} ended: {record.get('status', 'no record')}" + (f" ({failed})" if failed else ""))
    return int(record.get("exit_code") or 0) if record else EXIT_INPUT
