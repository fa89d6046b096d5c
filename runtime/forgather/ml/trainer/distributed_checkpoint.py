"""Model and optimizer state through ``torch.distributed.checkpoint`` (DCP).

A sharded model (FSDP2's DTensors) cannot be written by one process, and its optimizer state is
sharded the same way. DCP writes what each process holds (``__<rank>_0.distcp``) plus one
``.metadata`` that says which piece of which tensor is where, so any number of processes reads
it back, each taking the slices of its own shards: a checkpoint of N processes resumes on M
(one included, and into a model that is not sharded at all). ``get_state_dict`` /
``set_state_dict`` name the state by the model's parameter names (for the optimizer too), which
is what makes that possible.

`TrainState` is the DCP ``Stateful`` of a model and its optimizer; `save`/`load` write and read
it in a checkpoint directory; `full_model_state_dict` gathers the whole model on process 0 (the
final export).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

METADATA = ".metadata"  # DCP's index of a checkpoint: its presence marks one


class TrainState:
    """The model's and (when given) the optimizer's state, by parameter name, as DCP saves and
    loads it (a ``torch.distributed.checkpoint.stateful.Stateful``)."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> None:
        self.model, self.optimizer = model, optimizer

    def state_dict(self) -> dict[str, Any]:
        from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_state_dict

        if self.optimizer is None:
            return {"model": get_model_state_dict(self.model)}
        model, optimizer = get_state_dict(self.model, self.optimizer)
        return {"model": model, "optimizer": optimizer}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_state_dict

        if self.optimizer is None:
            set_model_state_dict(self.model, state["model"])
        else:
            set_state_dict(self.model, self.optimizer, model_state_dict=state["model"],
                           optim_state_dict=state["optimizer"])


def is_distributed_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / METADATA).is_file()


def save(state: TrainState, directory: Path) -> None:
    """Every process writes its part of ``state`` into ``directory`` (a collective)."""
    import torch.distributed.checkpoint as dcp

    dcp.save({"train": state}, checkpoint_id=str(directory))


def load(state: TrainState, directory: Path) -> None:
    """Read ``state`` in place from ``directory``, each process its own slices (a collective
    when a process group is running; works in a single process without one)."""
    if state.optimizer is not None:
        _load({"train": state}, directory)
        return
    # the weights alone: read the model entry only (the optimizer's stays on disk)
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, set_model_state_dict

    model_state = get_model_state_dict(state.model)
    wanted = {"train": {"model": model_state}}
    _load(wanted, directory)
    set_model_state_dict(state.model, wanted["train"]["model"])


def _load(state: dict[str, Any], directory: Path) -> None:
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp

    with warnings.catch_warnings():
        if not (dist.is_available() and dist.is_initialized()):
            # one process reading every shard is the intended use here (resuming N processes'
            # checkpoint in the single-device Trainer), not something to warn about
            warnings.filterwarnings("ignore", message="torch.distributed is disabled", category=UserWarning)
        dcp.load(state, checkpoint_id=str(directory))


def full_model_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every tensor of ``model`` whole, on the CPU of process 0 (an empty dict elsewhere); a
    collective when the model is sharded, gathering one tensor at a time."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
