"""`fgc run`'s processes: what each role (fgc/runs/roles.py) does with a checked command line.

    SINGLE     plan, begin (snapshot, record), build and run the target, finish the record
    LAUNCHER   plan, begin, launch this node's agent (launcher.py), finish from the outcome
    NODE       launch this node's agent into node 0's run directory
    WORKER     register, take the run's values and newest checkpoint, build and run the target,
               hand how it ended to the launcher (its rank file): errors are printed once, there
    TORCHRUN   a process of a plain torchrun: agree on one run directory, rank 0 keeps the record
    SUBMIT     make the run directory and submit the job (slurm.py)

Building and running the target (`_execute`) returns how it ended (`_Ending`) instead of printing,
so that each role decides where an error goes. An exception of the target is described by the
command line's `describe` (fgc/cli/run_errors.py: at the user's template line).
"""

from __future__ import annotations

import io
import json
import os
import pprint
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from forgather_files.checkpoints import latest_checkpoint
from forgather_files.runs import (
    BUILD_DIR_ENV,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    PREEMPTED,
    RESUME_ENV,
    RUN_DIR_ENV,
    RunStopped,
    copy_snapshot,
    is_run_dir,
    process_dir,
    read_record,
    stop_exit_code,
)

from ..diagnostics import Diagnostic, error, print_diagnostics, warning
from . import control, worker
from .dirs import RunDirError, point_latest, unwritable
from .launcher import Launch, LaunchOptions, outcome
from .plan import Plan, Request, plan_run, resolved_variables, target_values
from .processes import STOP_SIGNALS, die_with_parent, signal_name
from .record import finish_record, note_data_files, start_record
from .roles import LAUNCH_DIR_ENV, NODE_RANK_ENV, NODE_SETS_ENV, Role, process_rank
from .slurm import SlurmOptions

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


def _say(message: str) -> None:
    print(f"fgc: {message}", file=sys.stderr, flush=True)


def _diagnose(ctx: "RunCommand", exc: BaseException, what: str) -> Diagnostic:
    if ctx.describe is not None:
        return ctx.describe(exc, what)
    return error("FG0710", f"{what}: {type(exc).__name__}: {exc}")


@dataclass
class RunCommand:
    """What `fgc run` was asked, checked (fgc/cli/run.py)."""

    build_dir: Path
    manifest: dict[str, Any]
    given: dict[str, Any]  # the --set values, parsed
    target: str = "main"
    output_dir: Path | None = None
    resume: bool = False
    force: bool = False
    traceback: bool = False
    nproc: int | None = None
    launch: LaunchOptions = field(default_factory=lambda: LaunchOptions(nproc=1))
    slurm: SlurmOptions | None = None
    wait: bool = False
    # how an exception of the target is reported at the user's line (fgc/cli/run_errors.py)
    describe: Callable[[BaseException, str], Diagnostic] | None = None

    @property
    def variables(self) -> dict[str, Any]:
        return dict(self.manifest.get("variables", {}))

    def request(self) -> Request:
        return Request(self.build_dir, self.variables, self.given, self.output_dir, self.resume)


def run(role: Role, cmd: RunCommand) -> int:
    """Play `role` in the run `cmd` asks for; the exit code of `fgc run`."""
    handlers: dict[Role, Callable[[RunCommand], int]] = {
        Role.SINGLE: _single, Role.LAUNCHER: _launcher, Role.NODE: _node, Role.WORKER: _worker,
        Role.TORCHRUN: _torchrun_process, Role.SUBMIT: _submit}
    return handlers[role](cmd)


def _plan(ctx: RunCommand) -> Plan | int:
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


def _single(ctx: RunCommand) -> int:
    plan = _plan(ctx)
    if isinstance(plan, int):
        return plan
    _begin(ctx, plan)
    ending = _execute(ctx, plan)
    ending.print(ctx.traceback)
    return _finish(ctx, plan, ending.status, ending.exit_code, ending.error, stopped=ending.stopped)


def _begin(ctx: RunCommand, plan: Plan, launch: dict[str, Any] | None = None) -> None:
    if plan.run_dir is None:
        return
    copy_snapshot(ctx.build_dir, plan.run_dir)
    control.reset(plan.run_dir)
    start_record(
        plan.run_dir,
        argv=_command_line(),
        build_dir=ctx.build_dir,
        manifest=ctx.manifest,
        target=ctx.target,
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


def _resume_command(ctx: RunCommand, run_dir: Path) -> str:
    cmd = f"fgc run {run_dir} --resume"
    o = ctx.launch
    if ctx.nproc is not None and o.nnodes > 1:
        port = f" --master-port {o.master_port}" if o.master_port else ""
        return (f"{cmd} --output-dir {run_dir} --nproc {ctx.nproc} --nnodes {o.nnodes} --master-addr {o.master_addr}"
                f"{port} --node-rank R   (on every node, R its rank)")
    if ctx.nproc is not None:
        cmd += f" --nproc {ctx.nproc}"
    return cmd


def _finish(ctx: RunCommand, plan: Plan, status: str, code: int, message: str | None, **more: Any) -> int:
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


def _execute(ctx: RunCommand, plan: Plan) -> _Ending:
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
        stage = f"building target `{ctx.target}`"
        obj = config.construct(ctx.target, **target_values(ctx.variables, plan))
        stage = f"running target `{ctx.target}`"
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
        # failing already: a stop signal now (torchrun stopping the other ranks after the first
        # failed) must not cut this rank's report short, which can take a recompile to explain
        for s in previous:
            signal.signal(s, signal.SIG_IGN)
        diagnostic = _diagnose(ctx, exc, f"{stage} failed")
        return _Ending(FAILED, EXIT_INPUT, f"{stage} failed: {type(exc).__name__}: {exc}", diagnostic,
                       "".join(traceback.format_exception(exc)))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return _Ending(COMPLETED, EXIT_OK)


# ------------------------------------------------------------------------- --nproc: the launchers


def _refuse_single_process_trainer(ctx: RunCommand) -> int | None:
    if ctx.launch.nproc * ctx.launch.nnodes <= 1:
        return None
    from ..build import load
    from .trainers import nproc_refusal

    # The trainer classes are looked up before any run directory is made.
    os.environ[BUILD_DIR_ENV] = str(ctx.build_dir)
    try:
        load(ctx.build_dir, force=True)
    except Exception as exc:
        print_diagnostics([_diagnose(ctx, exc, "importing the build's config.py failed")])
        return EXIT_INPUT
    refusal = nproc_refusal(ctx.build_dir, ctx.launch.nproc * ctx.launch.nnodes)
    if refusal:
        print_diagnostics([error("FG0708", refusal)])
        return EXIT_USAGE
    return None


def _child(ctx: RunCommand) -> list[str]:
    """What torchrun starts in each process: this command, as a worker."""
    cmd = ["-m", "fgc", "run", str(ctx.build_dir), "--target", ctx.target]
    if ctx.force:
        cmd.append("--force")
    if ctx.traceback:
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


def _launcher(ctx: RunCommand) -> int:
    refused = _refuse_single_process_trainer(ctx)
    if refused is not None:
        return refused
    plan = _plan(ctx)
    if isinstance(plan, int):
        return plan
    launch = {"nproc": ctx.launch.nproc, "nnodes": ctx.launch.nnodes, "launcher": "torchrun",
              **({"slurm_job_id": os.environ["SLURM_JOB_ID"]} if "SLURM_JOB_ID" in os.environ else {})}
    _begin(ctx, plan, launch)
    if plan.run_dir is not None:
        launch_dir = process_dir(plan.run_dir)
    else:
        launch_dir = Path(tempfile.mkdtemp(prefix="fgc-launch-"))
    try:
        env = _launch_env(plan.run_dir, launch_dir, 0, plan.sets, ctx.traceback)
        result = Launch(ctx.launch, _child(ctx), env, launch_dir).run()
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


def _node(ctx: RunCommand) -> int:
    """A node > 0: its agent and workers, writing into node 0's run directory."""
    refused = _refuse_single_process_trainer(ctx)
    if refused is not None:
        return refused
    assert ctx.output_dir is not None  # check_options: --nnodes > 1 needs --output-dir
    run_dir = ctx.output_dir.absolute()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print_diagnostics([error("FG0730", str(unwritable(run_dir, "--output-dir", e)))])
        return EXIT_USAGE
    launch_dir = process_dir(run_dir)
    env = _launch_env(run_dir, launch_dir, ctx.launch.node_rank, ctx.given, ctx.traceback)
    result = Launch(ctx.launch, _child(ctx), env, launch_dir).run()
    out = outcome(launch_dir, result)
    _say(f"node {ctx.launch.node_rank}: the job ended {out.status}"
         + (f" ({out.error})" if out.error else "") + f"; node 0 keeps the record: {run_dir / 'fgc-run.json'}")
    return out.exit_code


# ------------------------------------------------------------------------- the launched processes


def _worker(ctx: RunCommand) -> int:
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
    worker.finish(me, worker.FAILED, error=ending.error, report=ending.text(ctx.traceback),
                  exit_code=ending.exit_code)
    return ending.exit_code


def _torchrun_process(ctx: RunCommand) -> int:
    """A process of a plain `torchrun -m fgc run BUILD`: one run directory for all."""
    from .rendezvous import RendezvousError, agree

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
    else:  # another rank, or rank 0 of a restarted round: the record's values, the newest checkpoint
        plan, _ = worker.worker_plan(run_dir, {NODE_SETS_ENV: json.dumps(ctx.given)})
    ending = _execute(ctx, plan)
    ending.print(ctx.traceback)
    if process_rank(os.environ)[0] != 0:
        return EXIT_OK if ending.status == PREEMPTED else ending.exit_code
    return _finish(ctx, plan, ending.status, ending.exit_code, ending.error, stopped=ending.stopped)


# ------------------------------------------------------------------------------------ SLURM


def _submit(ctx: RunCommand) -> int:
    from . import slurm

    opts = ctx.slurm
    assert opts is not None  # the SUBMIT role is --launcher
    try:
        slurm.check_available(opts)
    except slurm.SubmitError as e:
        print_diagnostics([error("FG0737", str(e))])
        return EXIT_INPUT
    plan = _plan(ctx)
    if isinstance(plan, int):
        return plan
    if plan.run_dir is None:
        print_diagnostics([error("FG0737", "--launcher: the build's `output_dir` is null; pass --output-dir RUN_DIR")])
        return EXIT_USAGE
    try:
        submitted, job = slurm.submit(ctx.build_dir, plan.run_dir, opts, plan.runs_root)
    except slurm.SubmitError as e:
        print_diagnostics([error("FG0737", str(e))])
        if not ctx.resume:
            shutil.rmtree(plan.run_dir, ignore_errors=True)  # made for this job, which never started
        return EXIT_INPUT
    _say(f"submitted job {submitted.job_id}: run directory {plan.run_dir}")
    if submitted.stdout:
        _say(f"its output: {submitted.stdout}")
    _say(f"watch it: fgc ctl {plan.run_dir} status")
    if not ctx.wait:
        return EXIT_OK
    failed = slurm.wait(job)
    record = read_record(plan.run_dir)
    _say(f"job {submitted.job_id} ended: {record.get('status', 'no record')}" + (f" ({failed})" if failed else ""))
    return int(record.get("exit_code") or 0) if record else EXIT_INPUT
