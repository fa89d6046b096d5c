"""Which part of a run this `fgc run` process plays, told from its command line and environment.

    SINGLE     `fgc run BUILD`: plans the run directory, writes the record, builds and runs the
               target in this process
    LAUNCHER   `fgc run BUILD --nproc N` (node 0 of several): plans, writes the record, starts
               torchrun's agent (fgc.runs.agent) and supervises it (fgc.runs.launcher)
    NODE       `fgc run BUILD --nproc N --node-rank R`, R > 0: starts its node's agent and
               supervises it; node 0 owns the run directory and the record
    WORKER     a process that an fgc launch started (torchrun's LOCAL_RANK and fgc's
               FGC_LAUNCH_DIR are set): takes the run directory, values and resume checkpoint
               from the launch, registers itself, builds and runs the target
    TORCHRUN   a process of a plain `torchrun ... -m fgc run BUILD`: rank 0 plans and writes the
               record, every rank agrees on the run directory through torchrun's store
    SUBMIT     `fgc run BUILD --launcher slurm`: submits the job (fgc.runs.slurm); each node of
               the job then runs `fgc run` as LAUNCHER or NODE

The environment between an fgc launch and its workers (besides the run contract's FGC_RUN_DIR and
FGC_BUILD_DIR): FGC_LAUNCH_DIR (where the processes register, report and find their values),
FGC_NODE_RANK (the launching node) and FGC_NODE_SETS (that node's own `--set` values, JSON).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

LAUNCH_DIR_ENV = "FGC_LAUNCH_DIR"
NODE_RANK_ENV = "FGC_NODE_RANK"
NODE_SETS_ENV = "FGC_NODE_SETS"


class Role(enum.Enum):
    SINGLE = "single"
    LAUNCHER = "launcher"
    NODE = "node"
    WORKER = "worker"
    TORCHRUN = "torchrun"
    SUBMIT = "submit"


def role_of(nproc: int | None, node_rank: int, launcher: str | None, environ: Mapping[str, str]) -> Role:
    under_torchrun = "LOCAL_RANK" in environ and "TORCHELASTIC_RUN_ID" in environ
    if under_torchrun and LAUNCH_DIR_ENV in environ:
        return Role.WORKER
    if under_torchrun:
        return Role.TORCHRUN
    if launcher is not None:
        return Role.SUBMIT
    if nproc is None:
        return Role.SINGLE
    return Role.LAUNCHER if node_rank == 0 else Role.NODE


def process_rank(environ: Mapping[str, str]) -> tuple[int, int, int]:
    """(rank, local rank, world size) of a process under torchrun."""
    return (int(environ.get("RANK", "0")), int(environ.get("LOCAL_RANK", "0")),
            int(environ.get("WORLD_SIZE", "1")))
