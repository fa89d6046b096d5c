"""The engine seam: how one training loop executes on its hardware.

`Trainer` runs one loop (epochs, steps, callbacks, logging, evaluation, checkpoints) and composes
one `Engine`, built from the trainer's parallel plan (`parallel`), that owns everything that
depends on where and how the step runs:

    placement         setup(trainer)                 put the model on its device(s): shard it,
                                                     split it into stages or wrap it
                      prepare_optimizer(opt)         wrap the optimizer when the engine needs to
                      trainable_parameters(model)    what this process's optimizer updates
    data              data_shard()                   (num_shards, shard_index) of this process
                      eval_batches(loader)           the eval batches, in lockstep when the
                                                     forward is a collective (sharded weights)
    one step          forward_backward(trainer, mbs) forward + backward of a step's micro-batches
                      accumulate(is_last)            no_sync on non-final micro-steps
                      autocast() / backward(loss)    mixed precision and loss scaling
                      clip_grad_norm_(params, max)   gradient norm (clipping when max > 0)
                      optimizer_step(opt)            step; False when a grad scaler skipped it
    across ranks      reduce_sum(t), barrier()       collectives (identity on one process)
    files             prepare_output_dir(...)        existing checkpoints: refuse or delete
                      checkpoint_manager(args)       the manager of this engine's checkpoints
                      save_checkpoint / load_checkpoint   rank-aware: only the main process
                                                     writes shared files
                      save_model(trainer, dir)       the final model as one ordinary directory
    identity          world_size, process_index, local_process_index, is_main_process, device

Every method the loop calls is called by every process, in the same order, so an engine's
collectives always meet: no method runs on the main process alone (a collective added to one
would deadlock the others). Writing only on the main process happens inside the engine.

The protocol of one step, as torchtitan splits ``forward_backward_step`` (data parallel) from
``pp_forward_backward_step`` (pipeline): ``forward_backward`` receives the step's micro-batches
(the batches of THIS process) and returns a detached scalar, this process's contribution to the
step's loss, such that the SUM over processes is the step's loss (the token-weighted mean over
the global batch). The loop adds it to its log window and reduces the window across processes
only when it logs (one collective per log line, none per step).

Token-weighted accumulation across ranks: a micro-batch loss is its summed token loss divided by
the number of target tokens in the whole GLOBAL step (counted on every rank and summed with
``reduce_sum``); data-parallel gradient averaging divides by the world size, so the engine
back-propagates ``loss * world_size`` (`grad_scale`) and the averaged gradient equals that of one
batch of all ranks' samples. The loss is never divided by the accumulation steps a second time.

What an engine may use of the trainer: ``args``, ``model`` (the plain module: saved, handed to
callbacks), ``forward_module`` (what ``setup`` returned), ``compute_micro_loss(batch, num_items,
mean_divisor)`` (forward + loss of one micro-batch on the device), ``substep_end()`` (between
micro-batches), ``eval_loss(module, batch)``, ``optimizer``, ``lr_scheduler``,
``train_dataloader``, ``state``, ``processing_class``. The engine's ``world_size``/
``process_index`` are what ``TrainingArguments.world_size``/``process_index``/``should_save``
report.

`SingleDeviceEngine` is the first engine (one process, CUDA if available, else CPU);
``accelerate.AccelerateEngine`` is data parallel, ``fsdp.FSDPEngine`` fully sharded,
``pipeline.PipelineEngine`` pipeline parallel (times data parallel). A new engine subclasses
`Engine` and overrides what differs; a new strategy is a new plan in `parallel`, never a new
Trainer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

import torch
import torch.distributed as dist

from ..loss import count_target_tokens
from .distributed import init_process_group
from .checkpoint import CheckpointManager, LoadedCheckpoint, capture_rng_state, list_checkpoints, load_weights
from .model_io import save_model_files
from .precision import MixedPrecision

if TYPE_CHECKING:  # only for annotations: the trainer imports this module
    from .trainer import Trainer

logger = logging.getLogger(__name__)


class Engine:
    """Base engine: one process; subclasses change placement, collectives and checkpoints."""

    #: True when the engine runs as one of several processes (``fgc run --nproc N``).
    supports_multi_process = False
    #: False when the logits of an evaluation never reach `Trainer.eval_loss` (a pipeline's
    #: schedule computes the loss in its last stage): compute_metrics and predict() refuse then.
    supports_predictions = True

    def __init__(self, device: torch.device | str | None = None) -> None:
        self._requested_device = torch.device(device) if device is not None else None
        self.device = self._requested_device or torch.device("cpu")
        self.precision: MixedPrecision | None = None

    # ------------------------------------------------------------------------------ identity

    @property
    def world_size(self) -> int:
        return 1

    @property
    def process_index(self) -> int:
        return 0

    @property
    def local_process_index(self) -> int:
        return 0

    @property
    def is_main_process(self) -> bool:
        """The process that writes shared files (checkpoints, logs, the final model)."""
        return self.process_index == 0

    @property
    def is_local_main_process(self) -> bool:
        return self.local_process_index == 0

    @property
    def grad_scale(self) -> float:
        """Factor applied to the loss before backward so that gradient averaging over the
        processes of a data-parallel group yields the global token-weighted gradient."""
        return 1.0

    # ----------------------------------------------------------------------------- placement

    def setup(self, trainer: "Trainer") -> torch.nn.Module:
        """Place ``trainer.model``; return the module the step calls (compiled, wrapped)."""
        args = trainer.args
        self.device = self._requested_device or args.device
        place(trainer.model, self.device)
        self.precision = MixedPrecision(self.device, bf16=args.bf16, fp16=args.fp16)
        return compile_model(trainer.model, args)

    def prepare_optimizer(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        return optimizer

    def unwrap(self, module: torch.nn.Module) -> torch.nn.Module:
        return module

    def trainable_parameters(self, model: torch.nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
        """(name, parameter) of what this process's optimizer updates; ValueError if none."""
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError("the model has no trainable parameters")
        return named

    def end_training(self) -> None:
        """Called once after the last step (before ``on_train_end``)."""

    # ---------------------------------------------------------------------------------- data

    def data_shard(self) -> tuple[int, int]:
        """``(num_shards, shard_index)``: which part of every global batch this process loads."""
        return 1, 0

    def eval_batches(self, loader: Iterable[Any]) -> Iterator[tuple[Any, bool]]:
        """``(batch, real)`` pairs of this process's eval shard. Engines whose forward is a
        collective (sharded weights) keep the processes in lockstep: a process whose shard ran
        out runs its last batch again with ``real=False`` (the trainer discards the result)."""
        for batch in loader:
            yield batch, True

    def to_device(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        return {
            k: v.to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()
        }

    # ------------------------------------------------------------------------------ one step

    def autocast(self) -> contextlib.AbstractContextManager:
        return self.precision.autocast()

    def accumulate(self, module: torch.nn.Module, is_last: bool) -> contextlib.AbstractContextManager:
        """Context of one micro-step; data-parallel engines skip the gradient sync unless last."""
        return contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        self.precision.backward(loss * self.grad_scale if self.grad_scale != 1.0 else loss)

    def forward_backward(self, trainer: "Trainer", micro_batches: list[dict[str, Any]]) -> torch.Tensor:
        """Forward and backward over this process's micro-batches of one step.

        Returns this process's detached contribution to the step loss (summed over processes it
        is the step's loss). Calls ``trainer.substep_end()`` between micro-batches.
        """
        num_items = None
        if all("labels" in b for b in micro_batches):
            local = sum(count_target_tokens(b["labels"]) for b in micro_batches)
            num_items = self.reduce_sum(torch.as_tensor(local, device=self.device))
        # Without labels the model returns a mean loss: average micro-batches and processes.
        mean_divisor = len(micro_batches) * self.world_size
        step_loss = torch.zeros((), device=self.device)
        for i, batch in enumerate(micro_batches):
            is_last = i == len(micro_batches) - 1
            with self.accumulate(trainer.forward_module, is_last):
                loss = trainer.compute_micro_loss(self.to_device(batch), num_items, mean_divisor)
                self.backward(loss)
            step_loss += loss.detach()
            if not is_last:
                trainer.substep_end()
        return step_loss

    def prediction_step(self, trainer: "Trainer", batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed token loss, target tokens) of one eval batch of this process, in float64.
        Evaluation calls the unwrapped module: no collective per batch, so shards may differ
        in length."""
        return trainer.eval_loss(self.unwrap(trainer.forward_module), self.to_device(batch))

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        self.precision.unscale_(optimizer)

    def clip_grad_norm_(self, parameters: Iterable[torch.nn.Parameter], max_norm: float | None) -> torch.Tensor:
        """The total gradient norm; gradients are clipped to ``max_norm`` when it is > 0."""
        params = [p for p in parameters if p.grad is not None]
        if max_norm and max_norm > 0:
            return torch.nn.utils.clip_grad_norm_(params, max_norm)
        return torch.nn.utils.get_total_norm([p.grad for p in params])

    def optimizer_step(self, optimizer: torch.optim.Optimizer) -> bool:
        return self.precision.step(optimizer)

    # -------------------------------------------------------------------------- across ranks

    def reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum of ``tensor`` over the processes (a new tensor; the input is left unchanged)."""
        return tensor

    def barrier(self) -> None:
        """Wait until every process reaches this point."""

    # --------------------------------------------------------------------------- checkpoints

    def checkpoint_objects(self, trainer: "Trainer") -> tuple[dict[str, Any], dict[str, Any]]:
        """``(shared, per_process)`` mappings of stateful objects (``state_dict()`` or a plain
        state) a checkpoint saves besides the weights and the trainer state. Shared ones are
        written once by the main process; per-process ones by every process."""
        shared: dict[str, Any] = {
            "optimizer": trainer.optimizer,
            "scheduler": trainer.lr_scheduler,
            "data_state": trainer.train_dataloader.state_dict(),
        }
        scaler = self.precision.state_dict()
        if scaler is not None:
            shared["scaler"] = scaler
        return shared, {"rng_state": capture_rng_state()}

    def sharded_state(self, trainer: "Trainer") -> Any:
        """What each process saves of its own shards through torch.distributed.checkpoint
        (a `distributed_checkpoint.TrainState`), or None: the weights are saved whole."""
        return None

    def save_checkpoint(self, trainer: "Trainer", manager: CheckpointManager, step: int,
                        protect: str | None) -> None:
        shared, per_process = self.checkpoint_objects(trainer)
        manager.save(
            step,
            model=trainer.model,
            trainer_state=trainer.state,
            objects=shared,
            per_process=per_process,
            sharded=self.sharded_state(trainer),
            protect=protect,
            process_index=self.process_index,
            world_size=self.world_size,
            barrier=self.barrier,
            before_commit=trainer.checkpoint_written,
        )

    def load_checkpoint(self, trainer: "Trainer", manager: CheckpointManager, path: Any) -> LoadedCheckpoint:
        loaded = manager.load(
            path,
            model=trainer.model,
            objects={"optimizer": trainer.optimizer, "scheduler": trainer.lr_scheduler},
            process_index=self.process_index,
            world_size=self.world_size,
        )
        self.precision.load_state_dict(loaded.scaler_state)
        return loaded


    def load_best_weights(self, trainer: "Trainer", path: Any) -> None:
        """Load the weights of checkpoint ``path`` into the model (``load_best_model_at_end``)."""
        load_weights(trainer.model, path)

    # ------------------------------------------------------------------- output dir and model

    def checkpoint_manager(self, args: Any) -> CheckpointManager:
        """The manager of this engine's checkpoints in ``args.output_dir``."""
        return CheckpointManager(args.output_dir, save_total_limit=args.save_total_limit,
                                 save_safetensors=args.save_safetensors)

    def prepare_output_dir(self, output_dir: str | os.PathLike, *, resume: Any, overwrite: bool) -> None:
        """Before training: an output directory that holds checkpoints is refused unless the run
        resumes, or cleared with ``overwrite``. Every process calls it; the main process looks
        and decides for all (the others may not even see the directory), and deletes."""
        existing = list_checkpoints(output_dir) if self.is_main_process else []
        found = int(self.reduce_sum(torch.tensor(len(existing), device=self.device)).item())
        if resume or not found:
            return
        if not overwrite:
            shown = existing[-1].name if existing else "checkpoint-*"
            raise ValueError(
                f"{output_dir} already holds checkpoints ({shown}, ...): pass "
                "resume_from_checkpoint=True to continue that run, or overwrite_output_dir=True "
                "to delete them and start over"
            )
        self.barrier()  # nobody is still reading them
        if self.is_main_process:
            for path in existing:
                shutil.rmtree(path)
        self.barrier()

    def save_model(self, trainer: "Trainer", output_dir: Path) -> Path:
        """Write the final model (and the tokenizer) into ``output_dir`` as one ordinary model
        directory; every process calls it, the main process writes."""
        if self.is_main_process:
            save_model_files(trainer.model, output_dir, tokenizer=trainer.processing_class,
                             safe_serialization=trainer.args.save_safetensors)
            logger.info("saved the model to %s", output_dir)
        self.barrier()  # nobody reads it before it is there
        return output_dir


class ProcessGroupEngine(Engine):
    """An engine whose processes form one torch.distributed process group (FullyShard,
    TensorParallel, Pipeline): its identity and collectives are the group's. A subclass calls
    `_join_process_group` once its own arguments are checked."""

    supports_multi_process = True

    def _join_process_group(self, use_cpu: bool) -> None:
        init_process_group(use_cpu)
        self.rank, self._world_size = dist.get_rank(), dist.get_world_size()
        self._local_rank = int(os.environ.get("LOCAL_RANK", 0))

    @property
    def world_size(self) -> int:
        return self._world_size

    @property
    def process_index(self) -> int:
        return self.rank

    @property
    def local_process_index(self) -> int:
        return self._local_rank

    def reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.detach().clone()
        dist.all_reduce(total)
        return total

    def barrier(self) -> None:
        dist.barrier()


class SingleDeviceEngine(Engine):
    """One process on one device: ``args.device`` (CUDA when available and not ``use_cpu``)."""


def place(model: torch.nn.Module, device: torch.device) -> None:
    """Put the whole model on ``device``: a model built on the meta device is materialised there
    (its weights read from their files, or initialised), one copy in memory."""
    from ..models import materialize

    if materialize.has_meta_parameters(model):
        materialize.materialize(model, device)
    else:
        model.to(device)


def compile_model(model: torch.nn.Module, args: Any) -> torch.nn.Module:
    """``torch.compile`` the module when ``args.torch_compile``; else the module itself."""
    if not args.torch_compile:
        return model
    return torch.compile(model, backend=args.torch_compile_backend or "inductor", mode=args.torch_compile_mode)
