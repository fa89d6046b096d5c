"""`fgc run BUILD --launcher slurm`, through submitit's local executor (the same pickled job, job
folder and logs as on a cluster, on this machine): the job runs `fgc run` for its node into the
run directory made at submission; the command each node of a multi-node job runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fgc.runs.slurm import PORT_BASE, SlurmOptions, node_command
from runs_testlib import fgc, record, write

pytest.importorskip("submitit")

EXP = """\
main: !singleton:dict
    output_dir: !var { name: output_dir, default: runs/demo }
    value: !var { name: value, default: 1 }
"""


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("slurm")
    write(root, {"exp.fg": EXP})
    assert fgc("compile", root / "exp.fg", "-o", root / "build").returncode == 0
    return root / "build"


@pytest.mark.parametrize("nproc", [None, 1])
def test_a_job_through_submitits_local_executor(build, tmp_path, nproc):
    more = ["--nproc", str(nproc)] if nproc else []
    done = fgc("run", build, "--launcher", "submitit-local", "--wait", "--set", "value=5", *more, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [run_dir] = [p for p in (tmp_path / "runs/demo").iterdir() if not p.is_symlink()]
    assert f"submitted job " in done.stderr and f"run directory {run_dir}" in done.stderr
    assert f"watch it: fgc ctl {run_dir} status" in done.stderr
    rec = record(run_dir)
    assert (rec["status"], rec["sets"]) == ("completed", {"value": 5})
    assert (rec["launch"] or {}).get("nproc") == nproc
    assert (tmp_path / "runs/demo/latest").resolve() == run_dir
    assert (run_dir / ".fgc" / "build" / "config.py").is_file()  # the nodes ran this copy
    assert list((run_dir / ".fgc" / "submitit").glob("*_result.pkl"))
    status = fgc("ctl", run_dir, "status")
    assert "status   : completed" in status.stdout and "job      : local job " in status.stdout


@pytest.mark.parametrize(
    "opts, node, resume, tail",
    [
        (SlurmOptions("slurm"), 0, False, []),
        (SlurmOptions("slurm", nproc=4), 0, True, ["--nproc", "4", "--nnodes", "1", "--node-rank", "0",
                                                   "--master-addr", "h0", "--master-port", str(PORT_BASE + 1234),
                                                   "--resume"]),
        (SlurmOptions("slurm", nnodes=2, nproc=8, extra=["--set", "a=1"]), 1, False,
         ["--set", "a=1", "--nproc", "8", "--nnodes", "2", "--node-rank", "1", "--master-addr", "h0",
          "--master-port", str(PORT_BASE + 1234)]),
    ],
)
def test_the_command_of_each_node(opts, node, resume, tail):
    cmd = node_command("/b", "/r", opts, node, "h0", "1234", resume)
    assert cmd[:7] == [sys.executable, "-m", "fgc", "run", "/b", "--output-dir", "/r"]
    assert cmd[7:] == tail


def test_a_cluster_that_is_not_there(build, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun
    done = fgc("run", build, "--launcher", "slurm", cwd=tmp_path)
    assert done.returncode == 1 and "error[FG0737]" in done.stderr and "no `srun` on PATH" in done.stderr
