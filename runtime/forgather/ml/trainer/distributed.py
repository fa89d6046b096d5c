"""Joining the job's processes: backend, device, device mesh, and a clean exit.

The engines that use ``torch.distributed`` directly (fully sharded, pipeline) start here; the
Accelerate engine lets Accelerate make the same choices. On CUDA each process drives the GPU of
its ``LOCAL_RANK`` and collectives run on NCCL (with gloo beside it for the CPU tensors that
``torch.distributed.checkpoint`` gathers); on the CPU everything runs on gloo. Launched without
torchrun (no ``RANK``/``WORLD_SIZE``), a process makes a one-process group of its own, so the
same engine trains in one process.
"""

from __future__ import annotations

import atexit
import logging
import os

import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)

_EXIT_HOOK: list = []  # registered once per process


def uses_cuda(use_cpu: bool = False) -> bool:
    return torch.cuda.is_available() and not use_cpu


def local_device(use_cpu: bool = False) -> torch.device:
    """This process's device: ``cuda:LOCAL_RANK`` when CUDA is available (and not refused)."""
    if uses_cuda(use_cpu):
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def launched_world_size() -> int:
    """How many processes the launcher started (torchrun's ``WORLD_SIZE``; 1 without it)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_process_group(use_cpu: bool = False) -> bool:
    """Join the process group torchrun describes in the environment, or make a one-process
    group when launched without it; True if created here."""
    if dist.is_initialized():
        return False
    cuda = uses_cuda(use_cpu)
    # gloo beside NCCL: torch.distributed.checkpoint and gather_object move CPU tensors.
    backend = "cpu:gloo,cuda:nccl" if cuda else "gloo"
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        if cuda:
            torch.cuda.set_device(local_device())
        dist.init_process_group(backend)
    else:
        logger.info("no torchrun environment: a one-process group (launch N with `fgc run BUILD --nproc N`)")
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
    destroy_at_exit()
    return True


def destroy_at_exit() -> None:
    """Destroy the default process group when the interpreter exits (once per process).

    A gloo group left to its C++ destructor during interpreter teardown can abort the process
    ("terminate called without an active exception", SIGABRT) when its peers have already
    gone. Destroying it is local: no collective, so a failing process never waits here."""
    if not _EXIT_HOOK:
        _EXIT_HOOK.append(atexit.register(_destroy_process_group))


def _destroy_process_group() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def device_mesh(shape: tuple[int, ...], names: tuple[str, ...], device: torch.device):
    """A ``DeviceMesh`` over every process, outermost dimension first (ranks laid out row-major:
    with ``("pp", "dp")`` the ranks of one pipeline stage are consecutive)."""
    from torch.distributed.device_mesh import init_device_mesh

    return init_device_mesh(device.type, shape, mesh_dim_names=names)
