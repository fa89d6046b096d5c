"""Checkpoints: layout, atomic writes, rotation, discovery and loading.

``<output_dir>/checkpoint-<step>/`` holds

    model.safetensors   weights (tied tensors stored once; ``pytorch_model.bin`` if safetensors is off)
    optimizer.pt        optimizer.state_dict()
    scheduler.pt        lr_scheduler.state_dict()
    scaler.pt           the fp16 grad scaler, when there is one
    trainer_state.json  transformers.TrainerState (step, epoch, log history, best metric, ...)
    rng_state.pt        python, numpy, torch CPU and CUDA generator states (``rng_state_<rank>.pt``
                        per process when several processes train)
    data_state.pt       the training data position

A sharded model (FSDP) writes its weights and optimizer state through
``torch.distributed.checkpoint`` instead (`distributed_checkpoint`): ``.metadata`` plus one
``__<rank>_0.distcp`` per process, in place of ``model.safetensors`` and ``optimizer.pt``.
Loading follows what the directory holds, so any engine resumes either kind.

Each checkpoint is written into a hidden temporary directory and renamed into place, so a process
killed mid-write leaves the previous checkpoints intact and no partial ``checkpoint-*``. Every
``.pt`` file is read with ``torch.load(weights_only=True)``.

The manager saves a mapping of stateful objects (``objects``: file stem -> object), so an engine
with more state adds a key, not a parameter. With several processes only process 0 writes the
shared files; every process writes its own per-process files into the same temporary directory.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import safetensors.torch
import torch
from forgather_files.atomic import replace
# names and completeness: the run contract's (fgc picks checkpoints by the same definition)
from forgather_files.checkpoints import (
    PREFIX,
    TRAINER_STATE,
    WEIGHTS_SAFETENSORS,
    WEIGHTS_TORCH,
    checkpoint_step,
    is_checkpoint,
    latest_checkpoint,
    list_checkpoints,
)
from forgather_files.checkpoints import TMP_PREFIX as _TMP_PREFIX
from transformers import TrainerState

from . import distributed_checkpoint

logger = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be found or loaded."""


@dataclass
class LoadedCheckpoint:
    """What a checkpoint restores besides weights, optimizer and scheduler (loaded in place)."""

    path: Path
    trainer_state: TrainerState
    data_state: dict[str, Any] | None
    rng_state: dict[str, Any] | None
    scaler_state: dict[str, Any] | None


# ----------------------------------------------------------------------------------- RNG state


def capture_rng_state() -> dict[str, Any]:
    """Every generator a training step may draw from, in weights-only-loadable form."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        if len(state["cuda"]) != torch.cuda.device_count():
            logger.warning(
                "checkpoint has CUDA RNG states for %d devices, this machine has %d: CUDA RNG not restored",
                len(state["cuda"]),
                torch.cuda.device_count(),
            )
        else:
            torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------------- the manager


class CheckpointManager:
    """Writes, rotates and reads the checkpoints of one output directory."""

    def __init__(
        self,
        output_dir: str | os.PathLike,
        *,
        save_total_limit: int | None = None,
        save_safetensors: bool = True,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.save_total_limit = save_total_limit
        self.save_safetensors = save_safetensors

    def save(
        self,
        step: int,
        *,
        model: torch.nn.Module,
        trainer_state: TrainerState,
        objects: Mapping[str, Any] | None = None,
        per_process: Mapping[str, Any] | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        lr_scheduler: Any = None,
        scaler_state: dict[str, Any] | None = None,
        data_state: dict[str, Any] | None = None,
        protect: str | os.PathLike | None = None,
        process_index: int = 0,
        world_size: int = 1,
        barrier: Callable[[], None] | None = None,
        before_commit: Callable[[Path], None] | None = None,
        sharded: "distributed_checkpoint.TrainState | None" = None,
    ) -> Path:
        """Write ``checkpoint-<step>`` atomically, then rotate (never deleting it or ``protect``).

        ``objects`` maps a file stem to a stateful object (its ``state_dict()`` is saved) or to a
        plain state: ``{"optimizer": opt}`` writes ``optimizer.pt``. The keywords ``optimizer``,
        ``lr_scheduler``, ``scaler_state`` and ``data_state`` are shorthands for the keys
        ``optimizer``, ``scheduler``, ``scaler`` and ``data_state``. Shared files (weights,
        ``objects``, the trainer state) are written by process 0 only; ``per_process`` entries by
        every process, as ``<key>_<process_index>.pt`` when ``world_size > 1`` (the RNG state
        defaults to one). Every process must call ``save`` (``barrier`` orders their writes).
        ``before_commit(directory)`` runs on process 0 when every file is in the temporary
        directory, before it is renamed into place (the trainer's ``on_checkpoint_written`` event).
        ``sharded``: the model and optimizer, written by every process through
        ``torch.distributed.checkpoint`` instead of ``model.safetensors`` and ``optimizer.pt``.
        """
        objects = dict(objects or {})
        for key, value in (("optimizer", optimizer), ("scheduler", lr_scheduler),
                           ("scaler", scaler_state), ("data_state", data_state)):
            if value is not None:
                objects[key] = value
        per_process = dict(per_process) if per_process is not None else {"rng_state": capture_rng_state()}
        wait = barrier or (lambda: None)
        main = process_index == 0
        final = self.output_dir / f"{PREFIX}{step}"
        # Every process must find the same temporary directory: no pid in its name then.
        suffix = os.getpid() if world_size == 1 else "ranks"
        tmp = self.output_dir / f"{_TMP_PREFIX}{step}-{suffix}"
        if main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            self._remove_stale_temporaries()
            tmp.mkdir()
        wait()
        try:
            if sharded is not None:
                distributed_checkpoint.save(sharded, tmp)
            else:
                self._write_process_weights(model, tmp)
            for key, value in per_process.items():
                torch.save(_state_of(value), tmp / per_process_file(key, process_index, world_size))
            wait()
            if main:
                if sharded is None:
                    self._write_weights(model, tmp)
                for key, value in objects.items():
                    if value is not None:
                        torch.save(_state_of(value), tmp / f"{key}.pt")
                trainer_state.save_to_json(str(tmp / TRAINER_STATE))  # last: marks completeness
                if before_commit is not None:
                    before_commit(tmp)
                replace(tmp, final)
        except BaseException:
            if main:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        if main:
            self.rotate(protect={final, Path(protect)} if protect else {final})
        wait()  # nobody reads or rotates before the checkpoint is in place
        return final

    def _write_process_weights(self, model: torch.nn.Module, directory: Path) -> None:
        """The weights every process writes (a pipeline's stage shards); none here."""

    def _write_weights(self, model: torch.nn.Module, directory: Path) -> None:
        """The weights process 0 writes."""
        if self.save_safetensors:
            # save_model (unlike save_file) stores tied/shared tensors once and re-ties on load.
            safetensors.torch.save_model(model, str(directory / WEIGHTS_SAFETENSORS))
        else:
            torch.save(model.state_dict(), directory / WEIGHTS_TORCH)

    def _remove_stale_temporaries(self) -> None:
        for leftover in self.output_dir.glob(f"{_TMP_PREFIX}*"):
            logger.info("removing an incomplete checkpoint left by an interrupted save: %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)

    def rotate(self, protect: set[Path] | None = None) -> list[Path]:
        """Delete the oldest checkpoints beyond ``save_total_limit``; never the newest or ``protect``."""
        checkpoints = list_checkpoints(self.output_dir)
        if self.save_total_limit is None or len(checkpoints) <= self.save_total_limit:
            return []
        keep = {p.resolve() for p in (protect or set())} | {checkpoints[-1].resolve()}
        excess = len(checkpoints) - self.save_total_limit
        deleted = []
        for path in checkpoints:
            if len(deleted) == excess:
                break
            if path.resolve() not in keep:
                shutil.rmtree(path)
                deleted.append(path)
        for path in deleted:
            logger.info("deleted %s (save_total_limit=%d)", path, self.save_total_limit)
        return deleted

    def resolve(self, resume_from_checkpoint: str | os.PathLike | bool) -> Path:
        """The checkpoint to resume from: the latest for ``True``, else the given path."""
        if resume_from_checkpoint is True:
            latest = latest_checkpoint(self.output_dir)
            if latest is None:
                raise CheckpointError(
                    f"resume_from_checkpoint=True but {self.output_dir} holds no checkpoint-<step> directory"
                )
            return latest
        path = Path(resume_from_checkpoint)
        if not path.is_dir():
            raise CheckpointError(f"{path}: no such checkpoint directory")
        if not is_checkpoint(path):
            raise CheckpointError(
                f"{path}: not a complete checkpoint (expected {TRAINER_STATE} and "
                f"{WEIGHTS_SAFETENSORS}, {WEIGHTS_TORCH} or a torch.distributed.checkpoint)"
            )
        return path

    def load(
        self,
        path: str | os.PathLike,
        *,
        model: torch.nn.Module,
        objects: Mapping[str, Any] | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        lr_scheduler: Any = None,
        process_index: int = 0,
        world_size: int = 1,
    ) -> LoadedCheckpoint:
        """Load the weights and every object of ``objects`` (``load_state_dict``) in place, each
        from its required ``<key>.pt``; return the rest. Any mismatch raises CheckpointError.
        A checkpoint of sharded weights (``torch.distributed.checkpoint``) gives the model and the
        optimizer their state by parameter name, whatever the number of processes now."""
        path = Path(path)
        objects = dict(objects or {})
        if optimizer is not None:
            objects["optimizer"] = optimizer
        if lr_scheduler is not None:
            objects["scheduler"] = lr_scheduler
        try:
            if distributed_checkpoint.is_distributed_checkpoint(path):
                state = distributed_checkpoint.TrainState(model, objects.pop("optimizer", None))
                distributed_checkpoint.load(state, path)
            else:
                load_weights(model, path)
            for key, target in objects.items():
                if target is not None:
                    target.load_state_dict(_load(path / f"{key}.pt", required=True))
            state = TrainerState.load_from_json(str(path / TRAINER_STATE))
        except CheckpointError:
            raise
        except Exception as e:  # a shape or key mismatch: say which checkpoint did not fit
            raise CheckpointError(f"{path}: cannot restore: {type(e).__name__}: {e}") from e
        rng_file = path / per_process_file("rng_state", process_index, world_size)
        if not rng_file.is_file() and any(path.glob("rng_state*.pt")):
            logger.warning("%s was saved by a different number of processes: %s missing, RNG not "
                           "restored", path, rng_file.name)
        return LoadedCheckpoint(
            path=path,
            trainer_state=state,
            data_state=_load(path / "data_state.pt"),
            rng_state=_load(rng_file),
            scaler_state=_load(path / "scaler.pt"),
        )


def per_process_file(key: str, process_index: int, world_size: int) -> str:
    """``<key>.pt`` for one process, ``<key>_<index>.pt`` for each of several."""
    return f"{key}.pt" if world_size == 1 else f"{key}_{process_index}.pt"


def _state_of(value: Any) -> Any:
    return value.state_dict() if callable(getattr(value, "state_dict", None)) else value


def load_weights(model: torch.nn.Module, directory: str | os.PathLike) -> None:
    """Load ``model.safetensors`` (or ``pytorch_model.bin``, or a torch.distributed.checkpoint's
    weights) from ``directory`` into ``model``, strictly."""
    directory = Path(directory)
    if distributed_checkpoint.is_distributed_checkpoint(directory):
        distributed_checkpoint.load(distributed_checkpoint.TrainState(model), directory)
    elif (directory / WEIGHTS_SAFETENSORS).is_file():
        device = next(model.parameters(), torch.empty(0)).device
        safetensors.torch.load_model(model, str(directory / WEIGHTS_SAFETENSORS), strict=True, device=str(device))
    elif (directory / WEIGHTS_TORCH).is_file():
        model.load_state_dict(_load(directory / WEIGHTS_TORCH, required=True), strict=True)
    else:
        raise CheckpointError(f"{directory}: no {WEIGHTS_SAFETENSORS} or {WEIGHTS_TORCH}")


def _load(path: Path, *, required: bool = False) -> Any:
    if not path.is_file():
        if required:
            raise CheckpointError(f"{path}: missing from the checkpoint")
        return None
    return torch.load(path, map_location="cpu", weights_only=True)
