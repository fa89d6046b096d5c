"""`fgc run --nproc`: the torchrun command line for one node and several, its usage errors, a
two-node job simulated on one machine (two `fgc run` commands, one process each, static
rendezvous on a fresh local port) writing one run directory, and `--resume` of a two-process run."""

import json
import shutil
import sys
from argparse import Namespace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import fgc
from fgc.cli.launch import torchrun_command

sys.path.insert(0, str(Path(__file__).parent))
from launcher import free_port, run_job, run_jobs_together, worker_env  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compare_trainers"


def launch_args(**given) -> Namespace:
    values = dict(nproc=2, nnodes=1, node_rank=0, master_addr=None, master_port=None, torchrun_args=[],
                  output_dir=None)
    return Namespace(**{**values, **given})


COMMANDS = [
    ({}, ["--nproc-per-node=2", "--standalone"]),
    ({"torchrun_args": ["--max-restarts=1"]}, ["--nproc-per-node=2", "--standalone", "--max-restarts=1"]),
    ({"nnodes": 2, "node_rank": 1, "master_addr": "host0", "output_dir": "run"},
     ["--nproc-per-node=2", "--nnodes=2", "--node-rank=1", "--master-addr=host0", "--master-port=29500"]),
    ({"nnodes": 2, "master_addr": "h", "master_port": 1234, "output_dir": "run"},
     ["--nproc-per-node=2", "--nnodes=2", "--node-rank=0", "--master-addr=h", "--master-port=1234"]),
]


@pytest.mark.parametrize("given,flags", COMMANDS)
def test_torchrun_command(given, flags):
    cmd = torchrun_command(launch_args(**given), ["-m", "fgc", "run", "b"])
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert cmd[3:] == flags + ["-m", "fgc", "run", "b"]


ERRORS = [
    ({"nnodes": 0}, "--nnodes must be at least 1"),
    ({"nnodes": 2, "node_rank": 2, "master_addr": "h"}, r"--node-rank 2 is not in 0\.\.1"),
    ({"nnodes": 2}, "--nnodes > 1 needs --master-addr"),
    ({"nnodes": 2, "master_addr": "h"}, "--nnodes > 1 needs --output-dir RUN_DIR, the same on every node"),
    ({"master_port": 29501}, "--master-port needs --master-addr"),
]


@pytest.mark.parametrize("given,message", ERRORS)
def test_torchrun_command_errors(given, message):
    with pytest.raises(ValueError, match=message):
        torchrun_command(launch_args(**given), [])


def test_bad_launch_options_are_usage_errors(tmp_path):
    from fgc.cli.main import main

    assert main(["run", str(tmp_path), "--nproc", "2", "--nnodes", "2"]) == 2


def test_two_nodes_write_one_run_directory(tmp_path):
    build = tmp_path / "build"
    fgc.compile(EXAMPLE / "accel_trainer.fg", build)
    run_dir, port = tmp_path / "run", free_port()
    node = [sys.executable, "-m", "fgc", "run", str(build), "--nproc", "1", "--nnodes", "2",
            "--master-addr", "127.0.0.1", "--master-port", str(port), "--output-dir", str(run_dir),
            "--set", "max_steps=2", "--set", "batch_size=4", "--set", "save_strategy=steps", "--set", "save_steps=2"]
    run_jobs_together([node + ["--node-rank", "0"], node + ["--node-rank", "1"]], cwd=tmp_path)
    record = json.loads((run_dir / "fgc-run.json").read_text())
    assert record["status"] == "completed"
    checkpoint = run_dir / "checkpoint-2"
    assert (checkpoint / "rng_state_0.pt").is_file() and (checkpoint / "rng_state_1.pt").is_file()
    logs = list(run_dir.glob("**/trainer_logs.jsonl"))
    assert len(logs) == 1
    losses = [json.loads(line) for line in logs[0].read_text().splitlines()]
    assert [r["global_step"] for r in losses if r.get("event") == "log" and "loss" in r] == [1, 2]
    assert not list(run_dir.glob(".tmp-*"))


def test_resumed_two_process_run_ends_with_the_uninterrupted_weights(tmp_path):
    """`fgc run RUN_DIR --resume --nproc 2` from the step-2 checkpoint of a 4-step run gives the
    4-step weights bit for bit (each process restores its own RNG state and data shard)."""
    build = tmp_path / "build"
    fgc.compile(EXAMPLE / "accel_trainer.fg", build)
    run_dir = tmp_path / "run"
    common = ["--nproc", "2", "--set", "batch_size=4"]
    run_job([sys.executable, "-m", "fgc", "run", str(build), *common, "--output-dir", str(run_dir),
             "--set", "max_steps=4", "--set", "save_strategy=steps", "--set", "save_steps=2"],
            cwd=tmp_path, env=worker_env(), outputs=[run_dir])
    uninterrupted = load_file(run_dir / "model.safetensors")
    shutil.rmtree(run_dir / "checkpoint-4")
    run_job([sys.executable, "-m", "fgc", "run", str(run_dir), "--resume", *common], cwd=tmp_path, env=worker_env(),
            outputs=[run_dir])
    resumed = load_file(run_dir / "model.safetensors")
    assert resumed.keys() == uninterrupted.keys()
    for name, value in uninterrupted.items():
        assert torch.equal(resumed[name], value), name
    assert (run_dir / "checkpoint-4").is_dir()
