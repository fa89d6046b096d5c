"""`fgc run --nproc`: torchrun's arguments for one node and several, and the usage errors.
Jobs of several processes and nodes, for real: tests/runs/test_runs_jobs.py."""

import pytest

from fgc.runs.launcher import LaunchOptions, check_options, torchrun_arguments

STOP = ["--signals-to-handle=SIGTERM,SIGINT,SIGHUP,SIGUSR1,SIGUSR2", "--shutdown-timeout=300"]

COMMANDS = [
    ({}, ["--nproc-per-node=2", "--standalone", *STOP]),
    ({"torchrun_args": ["--max-restarts=1"]}, ["--nproc-per-node=2", "--standalone", *STOP, "--max-restarts=1"]),
    ({"nnodes": 2, "node_rank": 1, "master_addr": "host0", "run_id": "fgc-x"},
     ["--nproc-per-node=2", "--nnodes=2", "--rdzv-backend=c10d", "--rdzv-endpoint=host0:29500", "--rdzv-id=fgc-x",
      "--rdzv-conf=is_host=0,read_timeout=300", *STOP]),
    ({"nnodes": 2, "master_addr": "h", "master_port": 1234, "stop_timeout": 60},
     ["--nproc-per-node=2", "--nnodes=2", "--rdzv-backend=c10d", "--rdzv-endpoint=h:1234", "--rdzv-id=fgc",
      "--rdzv-conf=is_host=1,read_timeout=300", STOP[0], "--shutdown-timeout=60"]),
]


@pytest.mark.parametrize("given,flags", COMMANDS)
def test_torchrun_arguments(given, flags):
    opts = LaunchOptions(nproc=2, **given)
    check_options(opts, "run")
    assert torchrun_arguments(opts) == flags


ERRORS = [
    ({"nnodes": 0}, "--nnodes must be at least 1"),
    ({"nnodes": 2, "node_rank": 2, "master_addr": "h"}, r"--node-rank 2 is not in 0\.\.1"),
    ({"nnodes": 2}, "--nnodes > 1 needs --master-addr"),
    ({"nnodes": 2, "master_addr": "h", "output_dir": None}, "--nnodes > 1 needs --output-dir RUN_DIR, the same on every node"),
    ({"master_port": 29501}, "--master-port needs --master-addr"),
    ({"stop_timeout": 0}, "--stop-timeout must be at least 1 second"),
]


@pytest.mark.parametrize("given,message", ERRORS)
def test_launch_option_errors(given, message):
    output_dir = given.pop("output_dir", "run")
    with pytest.raises(ValueError, match=message):
        check_options(LaunchOptions(nproc=2, **given), output_dir)


def test_bad_launch_options_are_usage_errors(tmp_path):
    from fgc.cli.main import main

    assert main(["run", str(tmp_path), "--nproc", "2", "--nnodes", "2"]) == 2
