"""`fgc sweep FILE ...`: compile and run every combination of a few values into one sweep
directory, with a summary table and a combined loss plot (fgc/sweep/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..sweep.store import now
from .common import EXIT_INPUT, EXIT_OK, UsageError, check_input_file

DESCRIPTION = """\
Run an experiment many times with a few values changed, into one sweep directory.

Each axis is a value with several choices, NAME=v1,v2,... (commas inside quotes or brackets do
not split; a single choice is a value every run gets):
  --override KEY.PATH=v1,v2   a config path, at compile time (`fgc compile --override`)
  -D NAME=v1,v2               a template variable, at compile time (`fgc compile -D`)
  --set NAME=v1,v2            a variable of the build, at run time (`fgc run --set`)
Every combination is compiled into its own build and run into its own run directory:
  SWEEP_DIR/sweep.json                the sweep: its definition, each run and its status
  SWEEP_DIR/<name>/build/  run/  output.log
                                      <name> comes from the run's values (hidden_size=64,lr=1e-3)
  SWEEP_DIR/summary.md, summary.csv   final and best eval loss, final train loss, steps, wall
                                      time, peak memory (RSS of the run's processes) and peak
                                      GPU memory (torch's, on a GPU) per run
  SWEEP_DIR/loss.png                  every run's loss curves (needs matplotlib)
The table is also printed. A run that fails is listed with the last error line of its log, and
the sweep exits 1. The compile warnings of each run are printed as it ends (and kept in
sweep.json). A compile-time axis whose values all give the same build (a knob that the
experiment's own `-- set` hides, a name no template reads) is refused before anything runs.

Searches: grid (every combination, the default), random (--trials N combinations drawn with
--seed) and optuna (--trials N trials of an Optuna study, the choices as categorical parameters,
minimising the final eval loss, else the final train loss; the study is kept in
SWEEP_DIR/optuna.db).

Resuming: the same command again skips the runs that completed, continues an unfinished run from
its latest checkpoint (`fgc run --resume`) and runs again one that has none (the old attempt is
kept as <name>/attempt-N). A sweep directory keeps one definition: a different FILE, axis,
choice, search, seed or target is refused (use a new -o); only --trials may grow.

Launchers: local processes (--jobs at once, each with cores/jobs threads unless OMP_NUM_THREADS
is set), or SLURM through submitit (--launcher slurm, one job per run, at most --jobs queued at
once; the sweep directory must be on a file system the nodes share); --launcher submitit-local
runs the same submitit jobs on this machine.
"""

EPILOG = """\
examples:
  fgc sweep exp.fg -D hidden_size=64,128 --set max_steps=200 -o sweeps/width
  fgc sweep exp.fg --override optimizer.lr=1e-3,3e-4 -D hidden_size=64,128 --jobs 2
  fgc sweep exp.fg --set seed=1,2,3,4,5 --set warmup_steps=0,30 --search random --trials 4
  fgc sweep exp.fg -D hidden_size=64,128,256 --search optuna --trials 6
  fgc sweep exp.fg -D hidden_size=64,128 --launcher slurm --slurm-partition gpu --gpus-per-node 1 --jobs 16

exit codes: 0 every run completed, 1 a run failed, 2 bad command line or sweep directory, or an
axis whose values give identical builds
"""

SEARCHES = ("grid", "random", "optuna")
LAUNCHERS = ("local", "slurm", "submitit-local")
MAX_GRID = 10_000  # a larger grid is a typo or wants sampling, not a week of runs


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="compile and run every combination of a few values; summary table and plot",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", help="the experiment template (.fg)")
    p.add_argument("-I", dest="include_dirs", metavar="DIR", action="append", default=[],
                   help="add DIR to the template search path (as `fgc compile -I`)")
    p.add_argument("--override", dest="overrides", metavar="KEY.PATH=V1,V2", action="append", default=[],
                   help="an axis of config-path overrides (compile time; repeatable)")
    p.add_argument("-D", dest="defines", metavar="NAME=V1,V2", action="append", default=[],
                   help="an axis of template-variable values (compile time; repeatable)")
    p.add_argument("--set", dest="sets", metavar="NAME=V1,V2", action="append", default=[],
                   help="an axis of values of a build variable (run time; repeatable)")
    p.add_argument("-o", "--output", dest="output", metavar="SWEEP_DIR", default=None,
                   help="the sweep directory (default: sweeps/<FILE's name>); a re-run continues it")
    p.add_argument("--target", "-t", default="main", help="the target each run constructs (default: main)")
    p.add_argument("--search", choices=SEARCHES, default="grid", help="how combinations are chosen (default: grid)")
    p.add_argument("--trials", type=int, default=None, metavar="N",
                   help="random and optuna: how many combinations (trials) to run")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random and optuna: the seed of the sampler (default: 0)")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="runs at once (default: 1)")
    p.add_argument("--launcher", choices=LAUNCHERS, default="local", help="where runs run (default: local processes)")
    p.add_argument("--slurm-partition", metavar="NAME", default=None, help="slurm: the partition")
    p.add_argument("--timeout-min", type=int, default=24 * 60, metavar="MIN",
                   help="slurm and submitit-local: the time limit of one run's job (default: 1440)")
    p.add_argument("--cpus-per-task", type=int, default=None, metavar="N", help="slurm: CPUs of one run's job")
    p.add_argument("--gpus-per-node", type=int, default=None, metavar="N", help="slurm: GPUs of one run's job")
    p.add_argument("--mem-gb", type=float, default=None, metavar="GB", help="slurm: memory of one run's job")
    p.set_defaults(handler=run)


def _tqdm():
    import importlib

    return importlib.import_module("tqdm").tqdm  # tqdm ships no annotations


def _say(message: str) -> None:
    _tqdm().write(f"fgc: sweep: {message}", file=sys.stderr)


def _definition(args, file: Path, axes) -> dict:
    return {
        "file": str(file),
        "include_dirs": [str(Path(d).absolute()) for d in args.include_dirs],
        "target": args.target,
        "search": args.search,
        "seed": args.seed if args.search != "grid" else None,
        "axes": [a.to_json() for a in axes],
    }


def _launcher(args, sweep_dir: Path):
    if args.launcher == "local":
        from ..sweep.launch_local import LocalLauncher

        return LocalLauncher(args.jobs)
    from ..sweep.launch_submitit import LauncherUnavailable, SubmititLauncher

    try:
        return SubmititLauncher(sweep_dir / "submitit", "slurm" if args.launcher == "slurm" else "local",
                                jobs=args.jobs, partition=args.slurm_partition, timeout_min=args.timeout_min,
                                cpus_per_task=args.cpus_per_task, gpus_per_node=args.gpus_per_node,
                                mem_gb=args.mem_gb)
    except LauncherUnavailable as e:
        raise UsageError(str(e)) from None


def _thread_env(args) -> dict[str, str]:
    """N local runs at once share the cores: each gets cores/N threads (torch would take them all
    in each run), unless OMP_NUM_THREADS is set already."""
    import os

    if args.launcher != "local" or args.jobs == 1 or "OMP_NUM_THREADS" in os.environ:
        return {}
    return {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // args.jobs))}


def _check_args(args) -> None:
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.search == "grid" and args.trials is not None:
        raise UsageError("--trials is for --search random or optuna (a grid runs every combination)")
    if args.search != "grid" and (args.trials is None or args.trials < 1):
        raise UsageError(f"--search {args.search} needs --trials N (N >= 1)")
    if args.slurm_partition and args.launcher != "slurm":
        raise UsageError("--slurm-partition is for --launcher slurm")


def run(args) -> int:
    from ..sweep.plan import PlanError, grid, grid_size, parse_axes, random_search
    from ..sweep.store import SweepDirError, locked, open_sweep

    _check_args(args)
    if Path(args.file).is_dir():
        raise UsageError(f"{args.file}: a directory; fgc sweep takes an experiment file (.fg)")
    file = check_input_file(args.file).absolute()
    try:
        axes = parse_axes(args.defines, args.overrides, args.sets)
    except PlanError as e:
        raise UsageError(str(e)) from None
    if args.search == "grid" and grid_size(axes) > MAX_GRID:
        raise UsageError(f"the grid has {grid_size(axes)} combinations (more than {MAX_GRID}); "
                         "sample it with --search random --trials N or --search optuna --trials N")
    if args.search == "optuna":
        from ..sweep.optuna_search import OptunaUnavailable, check_available

        try:
            check_available()
        except OptunaUnavailable as e:
            raise UsageError(str(e)) from None
    _refuse_unchanged_axes(file, args.include_dirs, axes)
    sweep_dir = Path(args.output or Path("sweeps") / file.stem).absolute()
    if sweep_dir.exists() and not sweep_dir.is_dir():
        raise UsageError(f"-o {sweep_dir}: exists and is not a directory")
    launcher = _launcher(args, sweep_dir)  # an unusable launcher is refused before anything is written
    try:
        with locked(sweep_dir):
            record = open_sweep(sweep_dir, _definition(args, file, axes), args.trials)
            from ..sweep.runner import Runner

            runner = Runner(sweep_dir, record, axes, file, _definition(args, file, axes)["include_dirs"], args.target,
                            env=_thread_env(args))
            if args.search == "optuna":
                _optuna_loop(args, runner, launcher, sweep_dir, axes)
            else:
                planned = grid(axes) if args.search == "grid" else random_search(axes, args.trials, args.seed)
                _run_all(runner, launcher, [runner.entry(values) for values in planned])
            return _finish(runner, sweep_dir, axes, file)
    except SweepDirError as e:
        raise UsageError(str(e)) from None


def _refuse_unchanged_axes(file: Path, include_dirs: list[str], axes) -> None:
    """A compile-time axis whose values all give the same build would run copies of one
    experiment and tabulate them as if they differed: refused, with the warnings that say why."""
    from ..diagnostics import print_diagnostics
    from ..sweep.identical import unchanged_axes

    same = unchanged_axes(file, include_dirs, axes)
    if not same:
        return
    print_diagnostics([d for u in same for d in u.warnings], "human", sys.stderr)
    why = " (the warnings above say why)" if any(u.warnings for u in same) else ""
    raise UsageError(
        "; ".join(u.describe() for u in same) + why + ": nothing would differ between its runs; "
        "fix the template (a knob written `name | default(value)` yields to -D) or drop the axis"
    )


def _progress(total: int):
    return _tqdm()(total=total, desc="sweep", unit="run", file=sys.stderr, disable=None)


def _run_all(runner, launcher, runs: list[dict]) -> None:
    """Run the planned runs that have not completed; report each as it ends."""
    todo = [r for r in runs if not runner.finished(r)]
    skipped = len(runs) - len(todo)
    runner.save()
    if skipped:
        _say(f"{skipped} of {len(runs)} runs already completed: skipped")
    if not todo:
        return
    _say(f"{len(todo)} runs to do in {runner.dir} ({launcher.name} launcher)")
    jobs = [runner.job(r) for r in todo]
    with _progress(len(jobs)) as bar:
        def done(result):
            run = runner.done(result)
            bar.update(1)
            what = run["status"] + (f": {run['error']}" if run["status"] == "failed" else "")
            _say(f"{run['name']}: {what} ({run['seconds']:.1f} s; log {runner.dir / run['name'] / 'output.log'})")
            _say_warnings(run["name"], result.warnings)

        _launch(runner, launcher, jobs, done)


def _say_warnings(name: str, warnings: list[str]) -> None:
    """A run's compile warnings, in the sweep's own output (they may say the run is not what the
    axis meant: a knob nothing reads, a value a template hides)."""
    for line in warnings:
        _say(f"{name}: {line}")


def _launch(runner, launcher, jobs, done) -> None:
    """launcher.run, and on Ctrl-C the runs it had started are marked interrupted (a re-run
    continues them) before the interruption goes on."""
    try:
        launcher.run(jobs, runner.started, done)
    except KeyboardInterrupt:
        for run in runner.record["runs"]:
            if run["status"] == "running":
                run.update({"status": "interrupted", "end_time": now()})
        runner.save()
        raise


def _optuna_loop(args, runner, launcher, sweep_dir: Path, axes) -> None:
    """Ask the study for up to --jobs trials at a time, run those whose combination has not run,
    tell it each result; until the study has --trials finished trials."""
    from ..sweep.optuna_search import Study
    from ..sweep.summary import metrics, objective

    study = Study(sweep_dir, axes, args.seed)
    with _progress(max(0, args.trials - study.finished())) as bar:
        while study.finished() < args.trials:
            waiting: dict[str, list[int]] = {}  # run name -> trials answered by that run
            runs = []
            for _ in range(min(args.jobs, args.trials - study.finished())):
                number, values = study.ask()
                run = runner.entry(values)
                run.setdefault("trials", []).append(number)
                if runner.finished(run):
                    study.tell(number, objective(metrics(runner.run_dir(run["name"]))))
                    bar.update(1)
                    _say(f"trial {number}: {run['name']} already ran")
                    continue
                if run["name"] not in waiting:
                    runs.append(run)
                waiting.setdefault(run["name"], []).append(number)
            runner.save()
            if not runs:
                continue

            def done(result):
                run = runner.done(result)
                value = objective(metrics(runner.run_dir(run["name"]))) if run["status"] == "completed" else None
                for number in waiting[run["name"]]:
                    study.tell(number, value)
                    bar.update(1)
                _say(f"trial {waiting[run['name']]}: {run['name']} {run['status']} (objective {value})")
                _say_warnings(run["name"], result.warnings)

            _launch(runner, launcher, [runner.job(r) for r in runs], done)
    best = study.best()
    if best is not None:
        runner.record["optuna_best"] = {"value": best[0], "params": best[1]}
        runner.save()
        _say(f"best trial: objective {best[0]:.4f} with {best[1]}")


def _finish(runner, sweep_dir: Path, axes, file: Path) -> int:
    from ..sweep.summary import write_summary

    names = [a.name for a in axes if len(a.values) > 1]
    title = f"sweep of {file.name}: " + (", ".join(names) or "one combination")
    table, plotted = write_summary(runner.record, sweep_dir, names, title)
    print(table, end="")
    written = "summary.md, summary.csv" + (", loss.png" if plotted else "")
    _say(f"wrote {sweep_dir}: {written}")
    if not plotted:
        _say("loss.png skipped: matplotlib is not installed")
    failed = [r["name"] for r in runner.record["runs"] if r["status"] != "completed"]
    if failed:
        _say(f"{len(failed)} of {len(runner.record['runs'])} runs did not complete: {', '.join(failed)}")
        return EXIT_INPUT
    return EXIT_OK
