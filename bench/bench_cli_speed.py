"""Whole-process speed of `fgc render`, `fgc graph --no-import` and `fgc check --no-import` on one
config, against the reference's `forgather pp` / `forgather graph` where its CLI is installed.

    python bench/bench_cli_speed.py [--repeat 5] [--project DIR --config NAME]

Inputs: `examples/quickstart/experiment.fg` (a whole training project: model, data, trainer,
through stdlib/scripts/causal_lm.fg) and a project of the reference layout (`--project`/`--config`,
default: the one `bench/bench_projects.py` generates, one config), which the reference's CLI can
read too. Each figure is the median of --repeat whole processes, in seconds, every one with an
empty cache directory (`FGC_CACHE_DIR`): no result cache, signature cache or compiled templates
from an earlier run. The second column runs with those caches warm (`--no-cache`: the result
cache, which replays a whole command, stays off): what an edit-and-rerun loop costs. `python -c
pass` and `python -c "import jinja2, yaml, lark"` are printed as the floor of any process. The
processes run without PYTHONDONTWRITEBYTECODE, as an installed package does (its modules'
bytecode written once and read after).
"""

from __future__ import annotations

import argparse
import os
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

# As an installed package runs: Python writes and reads the bytecode of fgc's modules.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class Times(NamedTuple):
    wall: float
    cpu: float  # user + system of the process: steadier than wall time on a busy machine

    def __str__(self) -> str:
        return f"{self.wall:6.3f} {self.cpu:6.3f}"


def timed(cmd: list[str], env: dict) -> Times:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Times(elapsed, cpu)


def median(runs: list[Times]) -> Times:
    return Times(statistics.median(t.wall for t in runs), statistics.median(t.cpu for t in runs))


def cold(cmd: list[str], repeat: int, scratch: Path) -> Times:
    """Median of `repeat` runs, each with a fresh, empty fgc cache directory."""
    runs = []
    for i in range(repeat):
        cache = scratch / f"cold-{len(list(scratch.iterdir()))}-{i}"
        runs.append(timed(cmd, {**ENV, "FGC_CACHE_DIR": str(cache)}))
    return median(runs)


def warm(cmd: list[str], repeat: int, scratch: Path) -> Times:
    """Median of `repeat` runs sharing one cache directory filled by a first run, result cache off."""
    env = {**ENV, "FGC_CACHE_DIR": str(scratch / f"warm-{len(list(scratch.iterdir()))}")}
    timed(cmd + ["--no-cache"], env)
    return median([timed(cmd + ["--no-cache"], env) for _ in range(repeat)])


def reference_cli() -> str | None:
    """The reference's `forgather` command, if one is on PATH (its help lists `pp`)."""
    exe = shutil.which("forgather")
    if exe is None:
        return None
    done = subprocess.run([exe, "--help"], capture_output=True, text=True)
    return exe if "pp" in done.stdout else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--project", type=Path, help="a project of the reference layout (default: generated)")
    parser.add_argument("--config", help="its config (default: meta.yaml's default_config)")
    args = parser.parse_args()
    fgc = [sys.executable, "-m", "fgc"]
    with tempfile.TemporaryDirectory() as d:
        scratch = Path(d) / "caches"
        scratch.mkdir()
        project = args.project or write_project(Path(d) / "ws", 1)
        config = ["-t", args.config] if args.config else []
        inputs = {
            "quickstart": [str(ROOT / "examples" / "quickstart" / "experiment.fg")],
            "project": [str(project), *config],
        }
        print(f"median of {args.repeat} whole processes, seconds of wall and CPU time (cold: an empty cache")
        print("directory; warm: caches filled by a first run, the result cache off)")
        print(f"  {'':48s} {'cold':>13s}  {'warm':>13s}")
        for label, code in (("python -c pass", "pass"), ("python -c 'import jinja2, yaml, lark'", "import jinja2, yaml, lark")):
            print(f"  {label:48s} {median([timed([sys.executable, '-c', code], ENV) for _ in range(args.repeat)])}")
        results: dict[tuple[str, str], Times] = {}
        for name, target in inputs.items():
            for command in (["render"], ["graph", "--no-import"], ["check", "--no-import"]):
                cmd = fgc + [command[0], *target, *command[1:]]
                results[(name, command[0])] = c = cold(cmd, args.repeat, scratch)
                w = warm(cmd, args.repeat, scratch)
                print(f"  {name:10s} fgc {' '.join(command):33s} {c}  {w}")
        ref = reference_cli()
        if ref is None:
            print("the reference's CLI (`forgather` with `pp`) is not installed here: no ratio printed")
            return
        where = ["-p", str(project), *config]
        for command, ours in (("pp", "render"), ("graph", "graph"), ("pp", "check")):
            t = median([timed([ref, *where, command], ENV) for _ in range(args.repeat)])
            ratio = results[("project", ours)].wall / t.wall
            print(f"  project    forgather {command:8s} {t}   fgc {ours} / forgather {command} (wall): {ratio:.2f}x")


if __name__ == "__main__":
    main()
