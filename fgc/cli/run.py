"""`fgc run DIR`: construct a target of a build and run it in a new run directory (DESIGN §3.10).

Checks the build against its manifest (a modified config.py is refused unless --force), makes
the run directory (run_dirs.py), copies the build snapshot into it and writes the run record
(run_record.py), imports config.py, sets FGC_BUILD_DIR and FGC_RUN_DIR, constructs the target
with the --set variables (the build's `output_dir` variable is the run directory), then calls
its `.run()` if it has one, else calls it if it is callable, else pretty-prints it. The record
is updated at the end: completed, failed or interrupted (Ctrl-C, SIGTERM).

DIR may be a run directory (it holds a snapshot of its build): the run is made again with the
recorded --set values into a new run directory next to it, or continued with --resume.
`--nproc N` relaunches the same command in N processes through torchrun, after launch.py has
checked that the build's trainer runs in several processes.
An error while building a node is reported at the node's template position, never as a bare
traceback (--traceback adds the Python traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import pprint
import signal
import subprocess
import sys
from pathlib import Path

from ..diagnostics import did_you_mean, error, print_diagnostics, warning
from .common import EXIT_INPUT, EXIT_OK, EXIT_USAGE, UsageError, usage_error
from .run_dirs import RunDirError, copy_snapshot, explicit_run_dir, is_run_dir, latest_checkpoint, new_run_dir
from .absent_variable import why_absent
from .run_errors import report_exception
from .run_record import finish_record, note_data_files, read_record, start_record
from .run_sets import parse_sets

# The contract with the runtime (forgather.ml.training_script) and with the processes of a launch.
BUILD_DIR_ENV = "FGC_BUILD_DIR"
RUN_DIR_ENV = "FGC_RUN_DIR"
RESUME_ENV = "FGC_RESUME_FROM_CHECKPOINT"
_LAUNCH_SETS_ENV = "FGC_RUN_SETS"  # the effective --set values, JSON, for the launched processes
OUTPUT_DIR_VARIABLE = "output_dir"
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143

DESCRIPTION = """\
Run a build: import DIR/config.py, construct TARGET (default: main) and run it (call its run()
method if it has one, else call it if it is callable, else print it).

Every run gets a new run directory, never an existing one:
  <output_dir>/<YYYYmmdd-HHMMSS>[-N]/   with <output_dir>/latest pointing at the newest
where <output_dir> is the build's `output_dir` variable (the stdlib templates: runs/<config_name>,
relative to the working directory; change it with --set output_dir=DIR). The target gets the run
directory as its `output_dir`. A build without an `output_dir` variable gets no run directory
unless --output-dir is given.

The run directory holds a snapshot of the build (config.py, config.yaml, fgc-manifest.json,
graph.json, sources/, modules/, model/), the run record fgc-run.json (command line, --set
values, resolved variables, start and end time, status, host, installed packages, sha256 of the
local data files read), and what the target writes (checkpoints, logs, the final model).

DIR may also be a run directory:
  fgc run RUN_DIR             run it again with its recorded --set values (and any new ones)
                              into a new run directory next to it; RUN_DIR is not touched
  fgc run RUN_DIR --resume    continue RUN_DIR from its latest checkpoint, in RUN_DIR

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

exit codes: 0 the target ran, 1 a bad build or the target raised, 2 bad command line,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM)
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="construct a target of a build and run it in a new run directory",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("build", metavar="DIR", help="a build directory (`fgc compile -o DIR`) or a run directory")
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
    p.add_argument("--traceback", action="store_true", help="also print the Python traceback of an error")
    from .launch import add_torchrun_arguments

    add_torchrun_arguments(p)
    p.set_defaults(handler=run)


class _Terminated(BaseException):
    """SIGTERM, turned into an exception so that the run record is finished."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _say(message: str) -> None:
    print(f"fgc: {message}", file=sys.stderr, flush=True)


def _resolved_variables(declared: dict, values: dict) -> dict:
    """The value each variable gets: the one given, else its default, else how it is made."""
    out = {}
    for name, entry in declared.items():
        if name in values:
            out[name] = values[name]
        elif "default" in entry:
            out[name] = entry["default"]
        else:
            out[name] = "<required>" if entry.get("required") else "<built from the config>"
    return out


class _Plan:
    """Where a run writes and with which values (decided before anything is imported)."""

    def __init__(self) -> None:
        self.run_dir: Path | None = None
        self.sets: dict = {}
        self.resume_from: Path | None = None


def _plan(args, build_dir: Path, manifest: dict, given: dict) -> _Plan:
    """Raise RunDirError when the command would write into a run or lose a file."""
    plan = _Plan()
    declared = manifest.get("variables", {})
    source_is_run = is_run_dir(build_dir)
    recorded = dict(read_record(build_dir).get("sets") or {}) if source_is_run else {}
    if not args.resume:
        recorded.pop(OUTPUT_DIR_VARIABLE, None)  # a re-run goes to a new directory of its own
    if args.output_dir is not None:
        plan.run_dir = explicit_run_dir(Path(args.output_dir).absolute(), args.resume)
        if args.resume:
            theirs = plan.run_dir / "fgc-manifest.json"
            if not theirs.is_file() or theirs.read_bytes() != (build_dir / "fgc-manifest.json").read_bytes():
                raise RunDirError(
                    f"--resume: {plan.run_dir} was made by another build; continue it with "
                    f"`fgc run {plan.run_dir} --resume`"
                )
            recorded = dict(read_record(plan.run_dir).get("sets") or {})
    elif args.resume:
        if not source_is_run:
            raise RunDirError(
                f"--resume: {build_dir} is a build, not a run directory; pass the run to continue "
                "(`fgc run RUN_DIR --resume`, or --output-dir RUN_DIR --resume)"
            )
        plan.run_dir = build_dir
    elif source_is_run:  # a re-run goes next to the run it repeats
        root = Path(str(given[OUTPUT_DIR_VARIABLE])) if OUTPUT_DIR_VARIABLE in given else build_dir.parent
        plan.run_dir = new_run_dir(root.absolute())
    elif OUTPUT_DIR_VARIABLE in declared:
        entry = declared[OUTPUT_DIR_VARIABLE]
        root = given.get(OUTPUT_DIR_VARIABLE, entry.get("default"))
        if root is None and (OUTPUT_DIR_VARIABLE in given or "default" in entry):
            pass  # `output_dir: ~`: the config writes no output, so there is no run directory
        elif not isinstance(root, str) or not root:
            raise RunDirError(
                f"the build's `{OUTPUT_DIR_VARIABLE}` variable has no directory as its value; "
                f"pass --set {OUTPUT_DIR_VARIABLE}=DIR or --output-dir RUN_DIR"
            )
        else:
            plan.run_dir = new_run_dir(Path(root).absolute())
    if args.resume:
        if plan.run_dir is None:  # `output_dir: ~`
            raise RunDirError(f"--resume: the build's `{OUTPUT_DIR_VARIABLE}` is null, so there is no run to continue")
        _refuse_a_live_run(plan.run_dir)
        plan.resume_from = latest_checkpoint(plan.run_dir)
        if plan.resume_from is None:
            raise RunDirError(f"--resume: {plan.run_dir} has no checkpoint to continue from")
    plan.sets = {**recorded, **given}
    return plan


def _refuse_a_live_run(run_dir: Path) -> None:
    """Two processes never write one run: a run still marked running by a live process of this
    host is refused."""
    import socket

    rec = read_record(run_dir)
    pid = (rec.get("host") or {}).get("pid")
    if rec.get("status") != "running" or rec["host"].get("hostname") != socket.gethostname() or not pid:
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return  # killed without a chance to mark the record: safe to continue
    except PermissionError:
        pass
    raise RunDirError(f"--resume: {run_dir} is still running (pid {pid})")


def _torchrun(args, plan: _Plan) -> int:
    from .launch import torchrun_command

    cmd = torchrun_command(args, ["-m", "fgc", "run", args.build, "--target", args.target])
    if args.force:
        cmd.append("--force")
    if args.traceback:
        cmd.append("--traceback")
    env = {**os.environ, _LAUNCH_SETS_ENV: json.dumps(plan.sets)}
    if plan.run_dir is not None:
        env[RUN_DIR_ENV] = str(plan.run_dir)
    if plan.resume_from is not None:
        env[RESUME_ENV] = str(plan.resume_from)
    return subprocess.run(cmd, env=env).returncode


def run(args) -> int:
    from ..build import BuildError, load, modified_files, read_manifest

    if args.nproc is not None and args.nproc < 1:
        return usage_error("--nproc must be at least 1")
    if args.nproc is not None:
        from .launch import torchrun_command

        try:
            torchrun_command(args, [])
        except ValueError as e:
            return usage_error(str(e))
    launched = "LOCAL_RANK" in os.environ and _LAUNCH_SETS_ENV in os.environ  # a process of a launch
    build_dir = Path(args.build).absolute()
    if build_dir.is_symlink():  # runs/<name>/latest
        build_dir = build_dir.resolve()
    try:
        manifest = read_manifest(build_dir)
        changed = modified_files(build_dir, manifest)
    except BuildError as e:
        diagnostic = e.diagnostic
        if (build_dir / "latest").is_dir():  # a runs root, not a run
            diagnostic = error(diagnostic.code, diagnostic.message, hint=f"did you mean `{Path(args.build) / 'latest'}`?")
        print_diagnostics([diagnostic])
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
        if not launched:
            print_diagnostics([warning("FG0705", f"running a modified build (--force): {', '.join(changed)}")])
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

    if launched:  # the parent decided the run directory and the values
        plan = _Plan()
        plan.sets = json.loads(os.environ[_LAUNCH_SETS_ENV])
        plan.run_dir = Path(os.environ[RUN_DIR_ENV]) if RUN_DIR_ENV in os.environ else None
        code = _run_target(args, build_dir, manifest, plan, record=False)
        if plan.run_dir is not None and os.environ.get("RANK", "0") == "0":
            note_data_files(plan.run_dir)  # the launching process writes the rest of the record
        return code

    if args.nproc is not None and args.nproc > 1:
        # The trainer classes are looked up before any run directory is made.
        os.environ[BUILD_DIR_ENV] = str(build_dir)
        try:
            load(build_dir, force=True)
        except Exception as exc:
            report_exception(exc, "importing the build's config.py failed", manifest, build_dir, args.traceback)
            return EXIT_INPUT
        from .launch import nproc_refusal

        refusal = nproc_refusal(build_dir, args.nproc)
        if refusal:
            print_diagnostics([error("FG0708", refusal)])
            return EXIT_USAGE
    if args.nproc is not None and args.node_rank > 0:
        # Another node of a multi-node job: node 0 makes the run directory and its record; the
        # processes of this node write into the same directory (a shared file system).
        plan = _Plan()
        plan.sets, plan.run_dir = given, Path(args.output_dir).absolute()
        plan.run_dir.mkdir(parents=True, exist_ok=True)
        plan.resume_from = latest_checkpoint(plan.run_dir) if args.resume else None
        return _torchrun(args, plan)
    try:
        plan = _plan(args, build_dir, manifest, given)
    except RunDirError as e:
        print_diagnostics([error("FG0706", str(e))])
        return EXIT_USAGE
    if args.nproc is not None:
        return _launch(args, build_dir, manifest, plan)
    return _run_target(args, build_dir, manifest, plan, record=True)


def _values(manifest: dict, plan: _Plan) -> dict:
    values = dict(plan.sets)
    if plan.run_dir is not None and OUTPUT_DIR_VARIABLE in manifest.get("variables", {}):
        values[OUTPUT_DIR_VARIABLE] = str(plan.run_dir)
    return values


def _begin(args, build_dir: Path, manifest: dict, plan: _Plan) -> None:
    if plan.run_dir is None:
        return
    copy_snapshot(build_dir, plan.run_dir)
    start_record(
        plan.run_dir,
        argv=_command_line(),
        build_dir=build_dir,
        manifest=manifest,
        target=args.target,
        sets=plan.sets,
        variables=_resolved_variables(manifest.get("variables", {}), _values(manifest, plan)),
        resumed_from=str(plan.resume_from) if plan.resume_from else None,
    )
    what = f"continuing {plan.run_dir} from {plan.resume_from.name}" if plan.resume_from else f"run directory {plan.run_dir}"
    _say(what)


def _command_line() -> list[str]:
    """The command as typed: `fgc ...`, or the interpreter's whole command line for
    `python -m fgc ...`."""
    if sys.argv and Path(sys.argv[0]).name == "__main__.py":
        return list(getattr(sys, "orig_argv", None) or [sys.executable, "-m", "fgc", *sys.argv[1:]])
    return [Path(sys.argv[0]).name if sys.argv else "fgc", *sys.argv[1:]]


def _end(plan: _Plan, status: str, code: int, message: str | None = None) -> int:
    if plan.run_dir is None:
        return code
    finish_record(plan.run_dir, status, code, message)
    _say(f"run {status}: {plan.run_dir} (record: {plan.run_dir / 'fgc-run.json'})")
    return code


def _launch(args, build_dir: Path, manifest: dict, plan: _Plan) -> int:
    _begin(args, build_dir, manifest, plan)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = _torchrun(args, plan)
    except KeyboardInterrupt:
        return _end(plan, "interrupted", EXIT_INTERRUPTED, "KeyboardInterrupt")
    except _Terminated:
        return _end(plan, "interrupted", EXIT_TERMINATED, "SIGTERM")
    finally:
        signal.signal(signal.SIGTERM, previous)
    return _end(plan, "completed" if code == 0 else "failed", code, None if code == 0 else f"exit status {code}")


def _run_target(args, build_dir: Path, manifest: dict, plan: _Plan, record: bool) -> int:
    from ..build import load

    if record:
        _begin(args, build_dir, manifest, plan)
    if is_run_dir(build_dir) and plan.run_dir != build_dir:
        sys.dont_write_bytecode = True  # a re-run adds nothing to the run it repeats (__pycache__)
    os.environ[BUILD_DIR_ENV] = str(build_dir)
    if plan.run_dir is not None:
        os.environ[RUN_DIR_ENV] = str(plan.run_dir)
    if plan.resume_from is not None:
        os.environ[RESUME_ENV] = str(plan.resume_from)
    finish = (lambda status, code, message=None: _end(plan, status, code, message)) if record else (
        lambda status, code, message=None: code
    )
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    stage = "importing the build's config.py"
    try:
        config = load(build_dir, force=True)
        stage = f"building target `{args.target}`"
        obj = config.construct(args.target, **_values(manifest, plan))
        stage = f"running target `{args.target}`"
        if callable(getattr(obj, "run", None)):
            obj.run()
        elif callable(obj):
            result = obj()
            if result is not None:
                pprint.pprint(result)
        else:
            pprint.pprint(obj)
    except KeyboardInterrupt:
        _say("interrupted")
        return finish("interrupted", EXIT_INTERRUPTED, f"KeyboardInterrupt while {stage}")
    except _Terminated:
        _say("terminated (SIGTERM)")
        return finish("interrupted", EXIT_TERMINATED, f"SIGTERM while {stage}")
    except Exception as exc:
        report_exception(exc, f"{stage} failed", manifest, build_dir, args.traceback)
        return finish("failed", EXIT_INPUT, f"{stage} failed: {type(exc).__name__}: {exc}")
    finally:
        signal.signal(signal.SIGTERM, previous)
    return finish("completed", EXIT_OK)
