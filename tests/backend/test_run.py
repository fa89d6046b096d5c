"""`fgc run`: construct a target and run it; --set, --target, --force, --nproc (torchrun), and
errors reported at the node's template position (no bare traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def fgc(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fgc", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


FILES = {
    "exp.fg": """\
-- extends 'base.fg'
[job]
    == super()
    steps: !var { name: steps, default: 3 }
""",
    "base.fg": """\
[job]
main: !singleton:.jobs:Job
    name: demo
[others]
value: !singleton:dict { a: !var { name: a, default: 1.0 } }  ## a float: --set checks the type
where: !singleton:os:getenv [FGC_BUILD_DIR]
bad_value: !singleton:.jobs:explode
    level: 2
bad_partial: !partial:.jobs:explode
    level: 1
adder: !partial:operator:add [40]
""",
    "jobs.py": """\
class Job:
    def __init__(self, name, steps):
        self.name, self.steps = name, steps

    def run(self):
        print(f"running {self.name} for {self.steps} steps")


def explode(level):
    raise ValueError(f"level {level} is too high")
""",
}


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run")
    write(root, FILES)
    done = fgc("compile", str(root / "exp.fg"), "-o", str(root / "build"))
    assert done.returncode == 0, done.stderr
    return root / "build"


def test_runs_main(build):
    done = fgc("run", str(build))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "running demo for 3 steps"


def test_set_variable(build):
    done = fgc("run", str(build), "--set", "steps=7")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "running demo for 7 steps"


def test_pretty_prints_a_plain_value(build):
    done = fgc("run", str(build), "--target", "value", "--set", "a=2.5e-1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'a': 0.25}"


def test_build_dir_in_the_environment(build):
    done = fgc("run", str(build), "--target", "where")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == repr(str(build.absolute()))


def test_calls_a_callable_target(build):
    done = fgc("run", str(build), "--target", "adder")
    assert done.returncode == 1  # add(40) misses an argument: reported at the partial
    assert "running target `adder` failed: TypeError" in done.stderr
    assert "in a call of !partial:operator:add" in done.stderr
    assert "base.fg:11:8" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_variable_did_you_mean(build):
    done = fgc("run", str(build), "--set", "stpes=1")
    assert done.returncode == 2
    assert "no variable `stpes`" in done.stderr and "did you mean `steps`?" in done.stderr


def test_unknown_target_did_you_mean(build):
    done = fgc("run", str(build), "--target", "mian")
    assert done.returncode == 2
    assert "no target `mian`" in done.stderr and "did you mean `main`?" in done.stderr


def test_construction_error_at_the_template_position(build):
    done = fgc("run", str(build), "--target", "bad_value")
    assert done.returncode == 1
    err = done.stderr
    assert "error[FG0710]: building target `bad_value` failed: ValueError: level 2 is too high" in err
    assert "while building !singleton:.jobs:explode" in err
    assert "base.fg:7:12" in err and "bad_value: !singleton:.jobs:explode" in err  # the source line
    assert "Traceback" not in err


def test_error_inside_a_partial_call(build):
    done = fgc("run", str(build), "--target", "bad_partial")
    assert done.returncode == 1
    assert "running target `bad_partial` failed: ValueError: level 1 is too high" in done.stderr
    assert "base.fg:9:14" in done.stderr


def test_traceback_on_request(build):
    done = fgc("run", str(build), "--target", "bad_value", "--traceback")
    assert (
        "Traceback" in done.stderr and "while building !singleton:.jobs:explode (base.fg:7:12)" in done.stderr
    )


def test_missing_build(tmp_path):
    done = fgc("run", str(tmp_path / "nothing"))
    assert done.returncode == 1
    assert "is not an fgc build" in done.stderr


def test_modified_build_refused_then_forced(build, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(build, copy)
    config = copy / "config.py"
    config.write_text(config.read_text().replace('"demo"', '"edited"'))
    done = fgc("run", str(copy))
    assert done.returncode == 1 and "modified after `fgc compile`: config.py" in done.stderr
    done = fgc("run", str(copy), "--force")
    assert done.returncode == 0, done.stderr
    assert "warning[FG0705]" in done.stderr
    assert done.stdout.strip() == "running edited for 3 steps"


DIST = """\
main: !singleton:.dist_job:Job
    size: !var { name: size, default: 2 }
"""

DIST_JOB = """\
import os
import sys

import torch
import torch.distributed as dist


class Job:
    def __init__(self, size):
        self.size = size

    def run(self):
        dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        t = torch.full((self.size,), float(rank + 1))
        dist.all_reduce(t)
        # one write per line: print() writes the text and the newline separately, and the two
        # ranks share stdout
        sys.stdout.write(f"rank {rank}/{world} sum {t.tolist()} build {os.path.basename(os.environ['FGC_BUILD_DIR'])}\\n")
        sys.stdout.flush()
        dist.destroy_process_group()
"""


def test_nproc_runs_under_torchrun(tmp_path):
    write(tmp_path, {"dist.fg": DIST, "dist_job.py": DIST_JOB})
    done = fgc("compile", str(tmp_path / "dist.fg"), "-o", str(tmp_path / "dbuild"))
    assert done.returncode == 0, done.stderr
    done = fgc(
        "run", str(tmp_path / "dbuild"), "--nproc", "2", "--set", "size=3", env={"OMP_NUM_THREADS": "1"}
    )
    assert done.returncode == 0, done.stderr
    lines = sorted(line for line in done.stdout.splitlines() if line.startswith("rank"))
    assert lines == ["rank 0/2 sum [3.0, 3.0, 3.0] build dbuild", "rank 1/2 sum [3.0, 3.0, 3.0] build dbuild"]
