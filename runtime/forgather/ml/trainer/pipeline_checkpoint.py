"""Pipeline checkpoints: one safetensors shard per stage, under the whole model's names.

``checkpoint-<step>/`` holds what a Trainer checkpoint holds, except that the weights are a
Hugging Face sharded set, each shard written by the process that runs its stage:

    model.safetensors.index.json       {"metadata": {...}, "weight_map": {name: shard}}
    model-00001-of-0000S.safetensors   stage 0's tensors (a tied weight once, by its first stage)
    optimizer_<rank>.pt, rng_state_<rank>.pt    per process
    scheduler.pt, data_state.pt, trainer_state.json

Names are the whole model's, so a checkpoint loads into any split (another stage count, another
schedule) and into the unsplit model (`load_merged`). All processes write into one temporary
directory that process 0 renames into place once everyone is done (a shared file system is
needed, as for any multi-process checkpoint).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import safetensors
import safetensors.torch
import torch
from transformers import TrainerState

from .checkpoint import (
    TRAINER_STATE,
    CheckpointError,
    CheckpointManager,
    LoadedCheckpoint,
    _load,
    per_process_file,
)
from .pipeline_split import PipelineSplit

INDEX = "model.safetensors.index.json"


def shard_name(stage: int, num_stages: int) -> str:
    return f"model-{stage + 1:05d}-of-{num_stages:05d}.safetensors"


class PipelineCheckpointManager(CheckpointManager):
    """A `CheckpointManager` whose weights are per-stage shards (discovery, rotation and
    resolution are the base class's)."""

    def __init__(self, output_dir: str | os.PathLike, *, split: PipelineSplit, stage_ids: list[int],
                 load_stage_ids: list[int] | None = None, save_total_limit: int | None = None) -> None:
        """``stage_ids``: the stages whose shards this process writes (none on the replicas of a
        pipeline x data parallel run but the first); ``load_stage_ids``: those it loads
        (default: the same)."""
        super().__init__(output_dir, save_total_limit=save_total_limit, save_safetensors=True)
        self.split = split
        self.stage_ids = stage_ids
        self.load_stage_ids = stage_ids if load_stage_ids is None else load_stage_ids

    def index(self) -> dict[str, Any]:
        return self.index_of(self.split)

    @staticmethod
    def index_of(split: PipelineSplit) -> dict[str, Any]:
        """The Hugging Face index of the stage shards (from the shapes: no tensor is read)."""
        n = len(split.stages)
        sizes = {}
        for i in range(n):
            for key, tensor in split.stage_state_dict(i).items():
                sizes[key] = (shard_name(i, n), tensor.numel() * tensor.element_size())
        return {
            "metadata": {
                "total_size": sum(size for _, size in sizes.values()),
                "pipeline_stages": n,
                "stage_layers": [[r.start, r.stop] for r in split.layer_ranges],
            },
            "weight_map": {key: shard for key, (shard, _) in sorted(sizes.items())},
        }

    def _write_process_weights(self, model: torch.nn.Module, directory: Path) -> None:
        """Every process writes its stages' shards."""
        n = len(self.split.stages)
        for i in self.stage_ids:
            tensors = {k: v.detach().contiguous().cpu() for k, v in self.split.stage_state_dict(i).items()}
            safetensors.torch.save_file(tensors, str(directory / shard_name(i, n)), metadata={"format": "pt"})

    def _write_weights(self, model: torch.nn.Module, directory: Path) -> None:
        """Process 0 writes the index of the shards."""
        (directory / INDEX).write_text(json.dumps(self.index(), indent=2))

    def load(
        self,
        path: str | os.PathLike,
        *,
        model: torch.nn.Module,
        objects: Mapping[str, Any] | None = None,
        per_process: Mapping[str, Any] | None = None,
        process_index: int = 0,
        world_size: int = 1,
        **_: Any,
    ) -> LoadedCheckpoint:
        """Load this process's stages (by name, from whichever shard holds each tensor), the
        shared `objects` and the `per_process` ones in place; return the rest."""
        path = Path(path)
        try:
            self.load_stages(path)
            for key, target in (objects or {}).items():
                if target is not None:
                    target.load_state_dict(_load(path / f"{key}.pt", required=True))
            for key, target in (per_process or {}).items():
                file = path / per_process_file(key, process_index, world_size)
                if not file.is_file():
                    raise CheckpointError(
                        f"{file}: missing; the checkpoint was saved by a different number of processes "
                        "(the optimizer state is per pipeline rank)"
                    )
                target.load_state_dict(_load(file, required=True))
            state = TrainerState.load_from_json(str(path / TRAINER_STATE))
        except CheckpointError:
            raise
        except Exception as e:
            raise CheckpointError(f"{path}: cannot restore: {type(e).__name__}: {e}") from e
        return LoadedCheckpoint(
            path=path,
            trainer_state=state,
            data_state=_load(path / "data_state.pt"),
            rng_state=_load(path / per_process_file("rng_state", process_index, world_size)),
            scaler_state=None,
        )

    def load_stages(self, path: Path) -> None:
        """Copy every tensor of this process's stages from the checkpoint's shards, strictly."""
        weight_map = read_index(path)
        wanted: dict[str, list[torch.Tensor]] = {}
        for i in self.load_stage_ids:
            for name, tensor in self.split.stages[i].state_dict(keep_vars=True).items():
                key = self.split.canonical[self.split.prefix + name]
                wanted.setdefault(key, []).append(tensor)
        copy_from_shards(path, weight_map, wanted)


def read_index(path: Path) -> dict[str, str]:
    index = path / INDEX
    if not index.is_file():
        raise CheckpointError(f"{path}: no {INDEX} (not a pipeline checkpoint)")
    return json.loads(index.read_text())["weight_map"]


def copy_from_shards(path: Path, weight_map: dict[str, str], wanted: dict[str, list[torch.Tensor]]) -> None:
    missing = sorted(set(wanted) - set(weight_map))
    if missing:
        raise CheckpointError(f"{path}: the checkpoint has no {', '.join(missing[:5])}")
    by_shard: dict[str, list[str]] = {}
    for key in wanted:
        by_shard.setdefault(weight_map[key], []).append(key)
    with torch.no_grad():
        for shard, keys in by_shard.items():
            with safetensors.safe_open(str(path / shard), framework="pt") as f:
                for key in keys:
                    value = f.get_tensor(key)
                    for tensor in wanted[key]:
                        if tensor.shape != value.shape:
                            raise CheckpointError(
                                f"{path / shard}: {key} has shape {tuple(value.shape)}, the model "
                                f"expects {tuple(tensor.shape)}"
                            )
                        tensor.copy_(value)


def load_merged(model: torch.nn.Module, path: str | os.PathLike) -> None:
    """Load a pipeline checkpoint's shards into the whole (unsplit) model, strictly."""
    path = Path(path)
    wanted: dict[str, list[torch.Tensor]] = {}
    first: dict[int, str] = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        wanted.setdefault(first.setdefault(id(tensor), key), []).append(tensor)
    copy_from_shards(path, read_index(path), wanted)
