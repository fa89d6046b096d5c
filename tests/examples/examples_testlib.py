"""Helpers of the example tests: run `fgc` and the examples' scripts in a subprocess, as a user
would, and read what a run left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
# One thread: CI's two cores are shared by the test workers.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def run(args: list, cwd: Path, python: str = sys.executable) -> subprocess.CompletedProcess:
    done = subprocess.run([python, *map(str, args)], capture_output=True, text=True, env=ENV, cwd=cwd)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def fgc(*args, cwd: Path) -> subprocess.CompletedProcess:
    return run(["-m", "fgc", *args], cwd)


def train(experiment: Path, tmp_path: Path, *sets: str, steps: int = 3) -> Path:
    """Compile `experiment` and run it for a few steps with `fgc run`; returns the run directory.
    The compilation is fgc's API in this process, what `fgc compile` calls (which the quick-start
    and `fgc new` tests run as a command): one torch import for all, not one per example."""
    build = tmp_path / "build" / experiment.stem
    import fgc as fgc_api

    fgc_api.compile(experiment, build)
    run_dir = tmp_path / "runs" / experiment.stem
    settings = [x for s in (f"max_steps={steps}", "logging_steps=1", *sets) for x in ("--set", s)]
    fgc("run", build, *settings, "--output-dir", run_dir, cwd=tmp_path)
    return run_dir


def losses(run_dir: Path) -> list[float]:
    """The training losses logged in a run directory, in step order."""
    (logs,) = run_dir.glob("**/trainer_logs.jsonl")
    records = [json.loads(line) for line in logs.read_text().splitlines()]
    return [r["loss"] for r in records if r.get("event") == "log" and "loss" in r]


# Refuse to import fgc or forgather: the exported model must not need them.
NO_FORGATHER = textwrap.dedent("""
    import sys
    class _Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("fgc", "forgather"):
                raise ImportError(f"{name} must not be imported here")
    sys.meta_path.insert(0, _Refuse())
    """)
