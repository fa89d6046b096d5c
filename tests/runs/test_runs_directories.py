"""Run directories and run records with small plain-Python targets (no training): where a run
writes, what is refused, how a failed or interrupted run is marked, what the record holds."""

from __future__ import annotations

import importlib.metadata
import os
import json
import socket
from pathlib import Path

import pytest

from fgc.runs.dirs import new_run_dir, point_latest
from runs_testlib import fgc, record, run_dirs, tree_digest, write

FILES = {
    "exp.fg": """\
main: !singleton:.jobs:Job
    output_dir: !var { name: output_dir, default: runs/demo }
    steps: !var { name: steps, default: 3 }
    mode: !var { name: mode, default: ok }
""",
    "jobs.py": """\
import os
from pathlib import Path


class Job:
    def __init__(self, output_dir, steps, mode):
        if steps < 0:
            raise ValueError(f"steps must be at least 0, got {steps}")
        self.output_dir, self.steps, self.mode = Path(output_dir), steps, mode

    def run(self):
        if self.mode == "fail":
            raise ValueError("the job failed on purpose")
        if self.mode == "interrupt":
            raise KeyboardInterrupt
        (self.output_dir / "result.txt").write_text(f"{self.steps} steps in {os.getcwd()}")
        print(f"wrote {self.steps}")
""",
}


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dirs")
    write(root, FILES)
    done = fgc("compile", root / "exp.fg", "-o", root / "build")
    assert done.returncode == 0, done.stderr
    return root / "build"


def test_each_run_gets_its_own_directory_under_output_dir(build, tmp_path):
    for steps in (1, 2):
        done = fgc("run", build, "--set", f"steps={steps}", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    first, second = run_dirs(tmp_path / "runs" / "demo")
    assert (first / "result.txt").read_text().startswith("1 steps")
    assert (second / "result.txt").read_text().startswith("2 steps")
    assert (tmp_path / "runs/demo/latest").resolve() == second
    assert (first / "config.py").is_file() and (first / "sources" / "exp.fg").is_file()


def test_set_output_dir_moves_the_runs_root(build, tmp_path):
    done = fgc("run", build, "--set", f"output_dir={tmp_path / 'elsewhere'}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [run_dir] = run_dirs(tmp_path / "elsewhere")
    assert record(run_dir)["sets"] == {"output_dir": str(tmp_path / "elsewhere")}
    assert record(run_dir)["variables"]["output_dir"] == str(run_dir)


def test_the_record(build, tmp_path):
    done = fgc("run", build, "--set", "steps=7", "--output-dir", tmp_path / "run")
    assert done.returncode == 0, done.stderr
    rec = record(tmp_path / "run")
    assert rec["fgc_run"] == 1 and rec["run_dir"] == str(tmp_path / "run")
    assert rec["command"]["argv"][-4:] == ["--set", "steps=7", "--output-dir", str(tmp_path / "run")]
    assert rec["sets"] == {"steps": 7}
    assert rec["variables"] == {"output_dir": str(tmp_path / "run"), "steps": 7, "mode": "ok"}
    assert (rec["status"], rec["exit_code"], rec["error"], rec["target"]) == ("completed", 0, None, "main")
    assert rec["host"]["hostname"] == socket.gethostname()
    assert rec["packages"]["torch"] == importlib.metadata.version("torch")
    assert len(rec["packages"]) == len({d.metadata["Name"] for d in importlib.metadata.distributions()})
    assert rec["build"]["dir"] == str(build)
    assert (
        rec["build"]["config_sha256"]
        == json.loads((build / "fgc-manifest.json").read_text())["config_sha256"]
    )


@pytest.mark.parametrize(
    "mode, exit_code, status, error",
    [
        ("fail", 1, "failed", "running target `main` failed: ValueError: the job failed on purpose"),
        ("interrupt", 130, "interrupted", "Ctrl-C while running target `main`"),
    ],
)
def test_a_failed_or_interrupted_run_is_marked(build, tmp_path, mode, exit_code, status, error):
    done = fgc("run", build, "--set", f"mode={mode}", "--output-dir", tmp_path / "run")
    assert done.returncode == exit_code, done.stderr
    rec = record(tmp_path / "run")
    assert (rec["status"], rec["exit_code"], rec["error"]) == (status, exit_code, error)
    assert rec["sessions"][-1]["status"] == status and rec["end_time"]
    assert f"run {status}: {tmp_path / 'run'}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_construction_error_is_marked_failed(build, tmp_path):
    done = fgc("run", build, "--set", "steps=-1", "--output-dir", tmp_path / "run")
    assert done.returncode == 1 and "exp.fg:1:7" in done.stderr
    rec = record(tmp_path / "run")
    assert rec["status"] == "failed"
    assert rec["error"] == "building target `main` failed: ValueError: steps must be at least 0, got -1"


@pytest.mark.parametrize(
    "prepare, message",
    [
        (lambda d: (d / "notes.txt").write_text("mine"), "holds files and is not a run directory"),
        (lambda d: (d / "fgc-run.json").write_text("{}"), "holds a run; refusing to write over it"),
    ],
)
def test_output_dir_that_holds_files_is_refused_and_left_as_it_is(build, tmp_path, prepare, message):
    target = tmp_path / "taken"
    target.mkdir()
    prepare(target)
    before = tree_digest(target)
    done = fgc("run", build, "--output-dir", target)
    assert done.returncode == 2 and "error[FG0706]" in done.stderr and message in done.stderr
    assert tree_digest(target) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--resume"], "is a build, not a run directory"),
        (["--resume", "--output-dir", "new"], "holds no run to continue"),
    ],
)
def test_resume_needs_a_run(build, tmp_path, args, message):
    done = fgc("run", build, *args, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr


def test_resume_needs_a_checkpoint(build, tmp_path):
    assert fgc("run", build, "--set", "mode=fail", "--output-dir", tmp_path / "run").returncode == 1
    done = fgc("run", tmp_path / "run", "--resume")
    assert done.returncode == 2 and "has no checkpoint to continue from" in done.stderr
    assert "stopped before its first checkpoint" in done.stderr


def test_resume_says_why_a_run_that_saves_no_checkpoint_cannot_continue(tmp_path):
    write(tmp_path, {"exp.fg": "main: !singleton:operator:truediv\n    - 1\n    - !var { name: d, default: 0 }\n"
                     "out: !var { name: output_dir, default: runs/x }\n"
                     "strategy: !var { name: save_strategy, default: 'no' }\n"})
    assert fgc("compile", tmp_path / "exp.fg", "-o", tmp_path / "build").returncode == 0
    assert fgc("run", tmp_path / "build", "--output-dir", tmp_path / "run").returncode == 1  # 1 / 0
    done = fgc("run", tmp_path / "run", "--resume")
    assert done.returncode == 2, done.stderr
    assert "its trainer saves none (save_strategy='no')" in done.stderr and "fgc ctl stop" in done.stderr


def test_resume_of_a_completed_run_has_nothing_to_do(build, tmp_path):
    assert fgc("run", build, "--output-dir", tmp_path / "run").returncode == 0
    before = tree_digest(tmp_path / "run")
    done = fgc("run", tmp_path / "run", "--resume")
    assert done.returncode == 0 and "nothing to do" in done.stderr and "completed" in done.stderr
    assert tree_digest(tmp_path / "run") == before


def test_resume_with_another_build_is_refused(build, tmp_path):
    assert fgc("run", build, "--output-dir", tmp_path / "run").returncode == 0
    (tmp_path / "run" / "checkpoint-1").mkdir()
    (tmp_path / "run" / "checkpoint-1" / "trainer_state.json").write_text("{}")
    write(tmp_path / "other", {"exp.fg": "main: !singleton:dict { output_dir: !var output_dir }\n"})
    assert fgc("compile", tmp_path / "other/exp.fg", "-o", tmp_path / "other/build").returncode == 0
    done = fgc("run", tmp_path / "other/build", "--output-dir", tmp_path / "run", "--resume")
    assert done.returncode == 2 and "was made by another build" in done.stderr


def test_a_build_without_output_dir_makes_no_run_directory(tmp_path):
    write(tmp_path / "src", {"exp.fg": "main: !singleton:dict { a: !var { name: a, default: 1 } }\n"})
    assert fgc("compile", tmp_path / "src/exp.fg", "-o", tmp_path / "src/build").returncode == 0
    (tmp_path / "cwd").mkdir()
    done = fgc("run", tmp_path / "src/build", "--set", "a=2", cwd=tmp_path / "cwd")
    assert done.returncode == 0 and done.stdout.strip() == "{'a': 2}"
    assert list((tmp_path / "cwd").iterdir()) == []
    done = fgc("run", tmp_path / "src/build", "--output-dir", tmp_path / "cwd/run")  # unless asked
    assert done.returncode == 0 and record(tmp_path / "cwd/run")["status"] == "completed"


def test_rerun_next_to_the_original_with_new_sets_added(build, tmp_path):
    assert fgc("run", build, "--set", "steps=5", "--output-dir", tmp_path / "runs" / "one").returncode == 0
    done = fgc("run", tmp_path / "runs" / "one", "--set", "mode=ok")
    assert done.returncode == 0, done.stderr
    [new] = [d for d in run_dirs(tmp_path / "runs") if d.name != "one"]
    assert record(new)["sets"] == {"steps": 5, "mode": "ok"}
    assert (new / "result.txt").read_text().startswith("5 steps")


def test_compile_refuses_a_build_directory_with_other_files(tmp_path):
    write(tmp_path, {"exp.fg": "main: 1\n"})
    assert fgc("compile", tmp_path / "exp.fg", "-o", tmp_path / "out").returncode == 0
    (tmp_path / "out" / "weights.bin").write_bytes(b"\0" * 8)
    before = tree_digest(tmp_path / "out")
    done = fgc("compile", tmp_path / "exp.fg", "-o", tmp_path / "out")
    assert done.returncode == 1 and "holds files that are not part of its build (weights.bin)" in done.stderr
    assert tree_digest(tmp_path / "out") == before
    (tmp_path / "out" / "weights.bin").unlink()
    assert fgc("compile", tmp_path / "exp.fg", "-o", tmp_path / "out").returncode == 0


def test_new_run_dirs_in_one_second_get_numbered(tmp_path):
    made = [new_run_dir(tmp_path) for _ in range(3)]
    assert len(set(made)) == 3 and all(p.is_dir() and p.parent == tmp_path for p in made)
    assert not (tmp_path / "latest").exists()  # `latest` moves when a run completes
    assert sorted(made, key=lambda p: p.name) == made  # names sort in the order they were made


def test_a_file_called_latest_is_never_replaced(tmp_path):
    (tmp_path / "latest").write_text("mine")
    point_latest(tmp_path, new_run_dir(tmp_path))
    assert (tmp_path / "latest").read_text() == "mine"


def test_latest_points_at_the_last_completed_run(build, tmp_path):
    assert fgc("run", build, cwd=tmp_path).returncode == 0
    [completed] = run_dirs(tmp_path / "runs/demo")
    for mode in ("fail", "interrupt"):
        assert fgc("run", build, "--set", f"mode={mode}", cwd=tmp_path).returncode != 0
    assert len(run_dirs(tmp_path / "runs/demo")) == 3
    assert (tmp_path / "runs/demo/latest").resolve() == completed
    done = fgc("run", tmp_path / "runs/demo/latest", cwd=tmp_path)  # a re-run next to it moves it
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "runs/demo/latest").resolve() == run_dirs(tmp_path / "runs/demo")[-1] != completed


def test_resume_refuses_a_run_that_is_still_running(build, tmp_path):
    assert fgc("run", build, "--output-dir", tmp_path / "run").returncode == 0
    rec = record(tmp_path / "run")
    rec["status"], rec["host"]["pid"] = "running", os.getpid()  # this test process: alive
    (tmp_path / "run" / "fgc-run.json").write_text(json.dumps(rec))
    done = fgc("run", tmp_path / "run", "--resume")
    assert done.returncode == 2 and f"is still running (pid {os.getpid()})" in done.stderr


@pytest.mark.parametrize(
    "declaration, sets, made, message",
    [
        ("!var { name: output_dir, default: ~ }", [], False, None),  # writes nowhere: no run directory
        ("!var { name: output_dir, default: out }", [], True, None),
        ("!var output_dir", [], False, "has no directory as its value"),  # required, not given
        ("!var output_dir", ["--set", "output_dir=given"], True, None),
        ("!var { name: output_dir, default: 3 }", [], False, "has no directory as its value"),
    ],
)
def test_the_output_dir_variable_decides_the_runs_root(tmp_path, declaration, sets, made, message):
    write(tmp_path / "src", {"exp.fg": f"main: !singleton:dict {{ output_dir: {declaration} }}\n"})
    assert fgc("compile", tmp_path / "src/exp.fg", "-o", tmp_path / "src/build").returncode == 0
    (tmp_path / "cwd").mkdir()
    done = fgc("run", tmp_path / "src/build", *sets, cwd=tmp_path / "cwd")
    if message:
        assert done.returncode == 2 and message in done.stderr
    else:
        assert done.returncode == 0, done.stderr
    roots = [p for p in (tmp_path / "cwd").iterdir()]
    assert bool(roots) == made
    if made:
        [run_dir] = run_dirs(roots[0])
        assert record(run_dir)["variables"]["output_dir"] == str(run_dir)


def test_a_runs_root_is_not_a_run_but_latest_is(build, tmp_path):
    assert fgc("run", build, cwd=tmp_path).returncode == 0
    done = fgc("run", "runs/demo", cwd=tmp_path)
    assert done.returncode == 1 and "is not an fgc build" in done.stderr
    assert "did you mean `runs/demo/latest`?" in done.stderr
    done = fgc("run", "runs/demo/latest", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(run_dirs(tmp_path / "runs/demo")) == 2
