"""Checkpoints as both layers see them: their names, and when one is complete.

    <output_dir>/checkpoint-<step>/         one checkpoint, complete when it holds
        trainer_state.json                  the trainer's state (written last), and
        the weights in one of WEIGHTS       safetensors, a torch pickle, a sharded set, or DCP's
                                            index of distributed shards
    <output_dir>/.tmp-checkpoint-<step>-*/  one being written (renamed into place when done)

The runtime writes a checkpoint into a temporary directory and renames it into place, so a
`checkpoint-<step>` directory is complete unless something outside the trainer removed files from
it; the files are checked all the same, by this one definition (`fgc run --resume`, the trainer's
resume and rotation, a restarted worker all pick "the newest complete checkpoint" through it).
An engine that stores weights another way adds the file that marks them to WEIGHTS.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PREFIX = "checkpoint-"
TMP_PREFIX = f".tmp-{PREFIX}"
TRAINER_STATE = "trainer_state.json"
WEIGHTS_SAFETENSORS = "model.safetensors"
WEIGHTS_TORCH = "pytorch_model.bin"
WEIGHTS_SHARDED_INDEX = "model.safetensors.index.json"  # a sharded set (one shard per pipeline stage)
WEIGHTS_DISTRIBUTED = ".metadata"  # torch.distributed.checkpoint's index (FSDP2's shards, DCP)
# Any one of these marks a checkpoint's weights.
WEIGHTS = (WEIGHTS_SAFETENSORS, WEIGHTS_TORCH, WEIGHTS_SHARDED_INDEX, WEIGHTS_DISTRIBUTED)

_NAME = re.compile(rf"^{PREFIX}(\d+)$")


def checkpoint_name(step: int) -> str:
    return f"{PREFIX}{step}"


def checkpoint_step(path: str | os.PathLike[str]) -> int | None:
    """The step in a `checkpoint-<step>` name, else None."""
    match = _NAME.match(Path(path).name)
    return int(match.group(1)) if match else None


def is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """A complete checkpoint: named `checkpoint-<step>`, with the trainer state and weights."""
    path = Path(path)
    return (
        checkpoint_step(path) is not None
        and (path / TRAINER_STATE).is_file()
        and any((path / name).is_file() for name in WEIGHTS)
    )


def list_checkpoints(output_dir: str | os.PathLike[str]) -> list[Path]:
    """The complete checkpoints under `output_dir`, oldest (lowest step) first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = [p for p in output_dir.iterdir() if p.is_dir() and is_checkpoint(p)]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def latest_checkpoint(output_dir: str | os.PathLike[str]) -> Path | None:
    """The complete checkpoint with the highest step, or None."""
    found = list_checkpoints(output_dir)
    return found[-1] if found else None
