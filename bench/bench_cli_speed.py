"""Whole-process speed of `fgc render`, `fgc graph --no-import` and `fgc check --no-import` on one
config, side by side with the reference's `forgather pp` / `forgather graph` where its CLI is found.

    python bench/bench_cli_speed.py [--repeat 7] [--project DIR --config NAME]
        [--reference-cli PATH] [--baseline CHECKOUT] [--quickstart]

    # the reference's own 4M Llama config, its CLI in a separate environment:
    python bench/bench_cli_speed.py --reference-cli /work/refvenv/bin/forgather \\
        --project /work/ref/examples/models/llama --config 4M.yaml

The project is one of the reference layout (`meta.yaml`, `forgather_workspace/`), which fgc reads
in project mode and the reference's CLI reads as is; by default the one `bench/bench_projects.py`
generates (one config). The pairs, each repeat running them one after another so that a busy
machine slows both sides alike:

    fgc render              vs  forgather pp
    fgc graph --no-import   vs  forgather graph     (neither imports the configured callables)
    fgc check --no-import   vs  forgather pp        (the reference has no check; pp is its floor)

fgc runs two ways. "cold": an empty cache directory (`FGC_CACHE_DIR`): no result cache, no
signature cache, no compiled templates. "no-result-cache": the result cache off (`--no-cache`, so
the whole pipeline runs) and the other caches (compiled templates, signatures) filled by a first
run: what an edit-and-rerun loop costs, and the measure issue 22 sets ("cold result cache").
The figures are medians of --repeat processes, in seconds of wall time and CPU time (user +
system: steadier than wall time on a shared machine); the ratios are fgc / reference of those
medians, and of the least CPU time of each side (on a shared machine the least is the steadier
estimate of a process's own cost; the goal is judged on the medians). `fgc check` exits 1 when the config has errors (a model project whose generated model
file does not exist yet, for instance): its time is still that of a whole check, and the count of
diagnostics is printed. The reference runs without PYTHONPATH (which would put this repository's
runtime package, also named `forgather`, before it). Every process writes and reads its modules'
bytecode, as an installed package does. Where the reference is absent, fgc's figures are printed
and the ratios are said to be unmeasured. `--quickstart` adds fgc's own figures on
`examples/quickstart/experiment.fg` (no reference counterpart). `--baseline CHECKOUT` runs
another checkout's fgc (a `git worktree` of main, say) in the same interleaving, with its own
cache directory, and prints this fgc / that one: medians, and the least CPU time of each (on a
busy machine the least is the steadier estimate of a process's own cost).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_projects import write_project  # noqa: E402

# As an installed package runs: Python writes and reads the bytecode of the modules.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# The reference's package is also named `forgather`: keep this repository's off its path.
REF_ENV = {k: v for k, v in ENV.items() if k != "PYTHONPATH"}

# (fgc command, the reference's counterpart, exit codes that mean "ran to the end")
PAIRS = (
    (["render"], "pp", (0,)),
    (["graph", "--no-import"], "graph", (0,)),
    (["check", "--no-import"], "pp", (0, 1)),
)


class Times(NamedTuple):
    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:6.3f} {self.cpu:6.3f}"


def timed(cmd: list[str], env: dict, ok: tuple[int, ...] = (0,)) -> tuple[Times, str]:
    """Run `cmd` in the checkout its PYTHONPATH names first (`python -m fgc` puts the working
    directory before PYTHONPATH), else in this one."""
    first = env.get("PYTHONPATH", "").split(os.pathsep)[0]
    cwd = first if first and Path(first, "fgc").is_dir() else str(ROOT)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Times(elapsed, cpu), done.stderr


def median(runs: list[Times]) -> Times:
    return Times(statistics.median(t.wall for t in runs), statistics.median(t.cpu for t in runs))


def reference_cli(given: str | None) -> str | None:
    """The reference's `forgather` command: --reference-cli, else one on PATH whose help lists `pp`."""
    exe = given or shutil.which("forgather")
    if exe is None:
        return None
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, env=REF_ENV)
    if " pp" not in done.stdout:
        if given:
            raise SystemExit(f"{given} does not look like the reference's CLI (its --help lists no `pp`)")
        return None
    return exe


def diagnostics_summary(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if re.match(r"\d+ (errors?|warnings?)", line)]
    return lines[-1] if lines else "no diagnostics"


def fgc_env(env: dict, checkout: Path | None) -> dict:
    """`env` with PYTHONPATH naming `checkout` (and its runtime package) first, when given."""
    if checkout is None:
        return env
    return {**env, "PYTHONPATH": f"{checkout}{os.pathsep}{checkout / 'runtime'}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--project", type=Path, help="a project of the reference layout (default: generated)")
    parser.add_argument("--config", help="its config (default: meta.yaml's default_config)")
    parser.add_argument("--reference-cli", help="the reference's `forgather` executable (default: on PATH)")
    parser.add_argument("--baseline", type=Path, help="another checkout of fgc to run beside this one")
    parser.add_argument("--quickstart", action="store_true", help="also time fgc on examples/quickstart")
    args = parser.parse_args()
    fgc = [sys.executable, "-m", "fgc"]
    ref = reference_cli(args.reference_cli)
    with tempfile.TemporaryDirectory() as d:
        scratch = Path(d)
        project = args.project.resolve() if args.project else write_project(scratch / "ws", 1)
        config = ["-t", args.config] if args.config else []
        target = [str(project), *config]
        print(f"project: {project} {' '.join(config)}")
        print(f"reference: {ref or 'not found'}")
        print(f"median of {args.repeat} whole processes, seconds of wall and CPU time")
        floors = {"python -c pass": "pass", "python -c 'import jinja2, yaml, lark'": "import jinja2, yaml, lark"}
        for label, code in floors.items():
            runs = [timed([sys.executable, "-c", code], ENV)[0] for _ in range(args.repeat)]
            print(f"  {label:48s} {median(runs)}")

        here = ROOT if args.baseline is not None else None
        sides = {"fgc": here, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
        warm_envs = {side: fgc_env({**ENV, "FGC_CACHE_DIR": str(scratch / f"warm-{side}")}, tree) for side, tree in sides.items()}
        summaries: dict[str, str] = {}
        for side in sides:  # fill the compiled-template, parse and signature caches once
            for command, _, ok in PAIRS:
                _, err = timed(fgc + [command[0], *target, *command[1:], "--no-cache"], warm_envs[side], ok)
                summaries.setdefault(command[0], diagnostics_summary(err))
        cold_runs: dict[tuple[str, str], list[Times]] = {(s, c[0]): [] for s in sides for c, _, _ in PAIRS}
        warm_runs: dict[tuple[str, str], list[Times]] = {(s, c[0]): [] for s in sides for c, _, _ in PAIRS}
        theirs: dict[str, list[Times]] = {"pp": [], "graph": []}
        where = ["-p", str(project), *config]
        for i in range(args.repeat):
            for command, counterpart, ok in PAIRS:
                if ref is not None and not (counterpart == "pp" and len(theirs["pp"]) > i):
                    theirs[counterpart].append(timed([ref, *where, counterpart], REF_ENV)[0])
                cmd = fgc + [command[0], *target, *command[1:]]
                for side, tree in sides.items():
                    cold_env = fgc_env({**ENV, "FGC_CACHE_DIR": str(scratch / f"cold-{side}-{command[0]}-{i}")}, tree)
                    cold_runs[(side, command[0])].append(timed(cmd, cold_env, ok)[0])
                    warm_runs[(side, command[0])].append(timed(cmd + ["--no-cache"], warm_envs[side], ok)[0])
        ours_cold = {c[0]: cold_runs[("fgc", c[0])] for c, _, _ in PAIRS}
        ours_warm = {c[0]: warm_runs[("fgc", c[0])] for c, _, _ in PAIRS}

        print(f"  {'':40s} {'cold':>13s}  {'no-result-cache':>15s}")
        for command, _, _ in PAIRS:
            name = " ".join(command)
            note = f"  ({summaries[command[0]]})" if command[0] == "check" else ""
            print(f"  fgc {name:36s} {median(ours_cold[command[0]])}  {median(ours_warm[command[0]])}{note}")
        if args.baseline is not None:
            print(f"this fgc / the baseline's ({args.baseline}), CPU, median and least:")
            for command, _, _ in PAIRS:
                cells = []
                for label, runs in (("cold", cold_runs), ("no-result-cache", warm_runs)):
                    mine, base = runs[("fgc", command[0])], runs[("baseline", command[0])]
                    med = median(mine).cpu / median(base).cpu
                    least = min(t.cpu for t in mine) / min(t.cpu for t in base)
                    cells.append(f"{label} {med:4.2f}x {least:4.2f}x")
                print(f"  baseline fgc {' '.join(command):22s} {median(warm_runs[('baseline', command[0])])}   {'   '.join(cells)}")
        if ref is None:
            print("the reference's CLI (`forgather` with `pp`) was not found: the ratios are unmeasured")
            print("summary: reference absent; fgc / reference unmeasured")
        else:
            for counterpart in ("pp", "graph"):
                print(f"  forgather {counterpart:30s} {median(theirs[counterpart])}")
            print("ratios fgc / reference (medians of wall and CPU; least CPU of each):")
            worst = {"cold": 0.0, "no-result-cache": 0.0}
            worst_least = 0.0
            for command, counterpart, _ in PAIRS:
                t = median(theirs[counterpart])
                t_least = min(r.cpu for r in theirs[counterpart])
                cells = []
                for label, runs in (("cold", ours_cold), ("no-result-cache", ours_warm)):
                    m = median(runs[command[0]])
                    wall, cpu = m.wall / t.wall, m.cpu / t.cpu
                    least = min(r.cpu for r in runs[command[0]]) / t_least
                    worst[label] = max(worst[label], cpu)
                    if label == "no-result-cache":
                        worst_least = max(worst_least, least)
                    cells.append(f"{label} {wall:4.2f}x {cpu:4.2f}x {least:4.2f}x")
                print(f"  fgc {' '.join(command):22s} / forgather {counterpart:6s} {'   '.join(cells)}")
            print(
                f"summary: worst fgc / reference CPU ratio {worst['no-result-cache']:.2f}x with the result cache "
                f"cold (goal 0.5x: {'met' if worst['no-result-cache'] <= 0.5 else 'not met'}; of the least CPU "
                f"times {worst_least:.2f}x), {worst['cold']:.2f}x with every cache cold"
            )

        if args.quickstart:
            qs = [str(ROOT / "examples" / "quickstart" / "experiment.fg")]
            for command, _, ok in PAIRS:
                cmd = fgc + [command[0], *qs, *command[1:]]
                cold = [timed(cmd, {**ENV, "FGC_CACHE_DIR": str(scratch / f"qs-{command[0]}-{i}")}, ok)[0] for i in range(args.repeat)]
                warm = [timed(cmd + ["--no-cache"], warm_envs["fgc"], ok)[0] for _ in range(args.repeat + 1)][1:]
                print(f"  quickstart fgc {' '.join(command):25s} {median(cold)}  {median(warm)}")


if __name__ == "__main__":
    main()
