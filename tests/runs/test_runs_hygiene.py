"""`fgc run` with mistakes on the command line, with plain-Python targets (no training): an output
path that cannot be made is a clear FG0730/FG0702 (never "internal error"), an experiment file
runs through a temporary build, a build whose sources changed warns, launch and job options that
would change nothing are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from runs_testlib import fgc, record, run_dirs, write

EXP = """\
main: !singleton:dict
    output_dir: !var { name: output_dir, default: runs/demo }
    value: !var { name: value, default: 1 }
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hygiene")
    write(root, {"exp.fg": EXP, "a-file": "not a directory\n"})
    done = fgc("compile", root / "exp.fg", "-o", root / "build")
    assert done.returncode == 0, done.stderr
    return root


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--output-dir", "/proc/fgc-test/run"], "FG0730", "--output-dir `/proc/fgc-test/run` cannot be made"),
        (["--output-dir", "{root}/a-file/run"], "FG0730", "`{root}/a-file` is a file, not a directory"),
        (["--output-dir", "{root}/a-file"], "FG0730", "exists and is not a directory"),
        (["--set", "output_dir={root}/a-file/runs"], "FG0730", "`{root}/a-file` is a file, not a directory"),
        (["--nnodes", "2"], "FG0013", "--nnodes without --nproc"),
        (["--master-addr", "h", "--node-rank", "1"], "FG0013", "--node-rank, --master-addr without --nproc"),
        (["--torchrun-arg=--max-restarts=1"], "FG0013", "--torchrun-arg without --nproc"),
        (["--partition", "gpu"], "FG0014", "--partition without --launcher"),
        (["--wait"], "FG0014", "--wait without --launcher"),
    ],
)
def test_a_bad_output_path_or_an_option_that_changes_nothing(project, tmp_path, args, code, message):
    args = [a.replace("{root}", str(project)) for a in args]
    done = fgc("run", project / "build", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"error[{code}]" in done.stderr and message.replace("{root}", str(project)) in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


def test_compile_into_a_path_under_a_file(project):
    done = fgc("compile", project / "exp.fg", "-o", project / "a-file" / "build")
    assert done.returncode == 1
    assert f"error[FG0702]: cannot write the build `{project}/a-file/build`: `{project}/a-file` is a file, " \
           "not a directory" in done.stderr


def test_an_experiment_file_runs_through_a_temporary_build(project, tmp_path):
    done = fgc("run", project / "exp.fg", "--set", "value=7", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"compiled {project / 'exp.fg'} into a temporary build" in done.stderr
    [run_dir] = run_dirs(tmp_path / "runs/demo")
    rec = record(run_dir)
    assert rec["status"] == "completed" and rec["sets"] == {"value": 7}
    assert (run_dir / "config.py").is_file() and (run_dir / "sources" / "exp.fg").read_text() == EXP
    assert not Path(rec["build"]["dir"]).exists()  # the temporary build is gone; the snapshot stays
    again = fgc("run", run_dir, cwd=tmp_path)  # and the run directory runs again without it
    assert again.returncode == 0, again.stderr


def test_an_experiment_that_does_not_compile(tmp_path):
    write(tmp_path, {"bad.fg": "main: !singleton:dict { a: *nowhere }\n"})
    done = fgc("run", tmp_path / "bad.fg", cwd=tmp_path)
    assert done.returncode == 1 and "error[FG0501]" in done.stderr and "Traceback" not in done.stderr


def test_neither_a_build_nor_a_file(tmp_path):
    done = fgc("run", tmp_path / "nothing", cwd=tmp_path)
    assert done.returncode == 1 and "error[FG0703]" in done.stderr
    assert "is not an fgc build, a run directory or an experiment file" in done.stderr


def test_latest_of_a_root_without_a_completed_run_names_the_newest_run(tmp_path):
    """`latest` points at completed runs only: a preempted run's root has none, and `fgc run
    ROOT/latest --resume` says which run to continue instead of 'not an fgc build'."""
    preempted = tmp_path / "runs" / "20261207-050847"
    preempted.mkdir(parents=True)
    (preempted / "fgc-run.json").write_text('{"status": "preempted"}')
    done = fgc("run", tmp_path / "runs" / "latest", "--resume", cwd=tmp_path)
    assert done.returncode == 1 and "error[FG0703]" in done.stderr, done.stderr
    assert "has none yet" in done.stderr and f"fgc run {preempted} --resume" in done.stderr


def test_a_build_whose_sources_changed_runs_with_a_warning(tmp_path):
    write(tmp_path, {"exp.fg": EXP})
    assert fgc("compile", tmp_path / "exp.fg", "-o", tmp_path / "build").returncode == 0
    clean = fgc("run", tmp_path / "build", cwd=tmp_path)
    assert clean.returncode == 0 and "FG0732" not in clean.stderr
    (tmp_path / "exp.fg").write_text(EXP.replace("default: 1", "default: 2"))
    done = fgc("run", tmp_path / "build", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"warning[FG0732]: the build's sources changed since `fgc compile`: {tmp_path / 'exp.fg'}" in done.stderr
    assert record(run_dirs(tmp_path / "runs/demo")[-1])["variables"]["value"] == 1  # as compiled
    rerun = fgc("run", run_dirs(tmp_path / "runs/demo")[-1], cwd=tmp_path)  # a run directory: its snapshot
    assert rerun.returncode == 0 and "FG0732" not in rerun.stderr
