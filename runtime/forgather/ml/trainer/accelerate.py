"""`AccelTrainer`: the Trainer's loop on Hugging Face Accelerate (data parallel, DDP).

Launch it in N processes (``fgc run BUILD --nproc N``, ``torchrun``, ``accelerate launch``); one
process is also fine. `AccelerateEngine` is the engine (see `engine.py`):

* placement: ``accelerator.prepare_model`` (DDP over gloo on the CPU, NCCL on CUDA);
* data: each process loads its own shard of every global batch (`dataloader.EpochSampler`),
  so ``per_device_train_batch_size * world_size`` samples make one batch, in the same order as
  one process with that batch size; the position stays exactly resumable;
* accumulation: the trainer accumulates ``gradient_accumulation_steps`` micro-batches itself,
  token-weighted over the tokens of every process, under ``accelerator.no_sync`` on the
  non-final micro-steps (one gradient all-reduce per step). The Accelerator's own
  ``gradient_accumulation_steps`` must stay 1: otherwise ``accelerator.backward`` would divide
  the loss a second time;
* mixed precision: ``bf16``/``fp16`` become the Accelerator's ``mixed_precision`` (its autocast
  and, for fp16, its grad scaler);
* clipping: ``accelerator.clip_grad_norm_`` (unscales first under fp16);
* logging, callbacks' files, checkpoints and the final model: written by the main process;
  every process runs the callbacks, so the control flags (log, evaluate, save, stop) agree;
* evaluation: each process evaluates its shard, loss sums and token counts are summed across
  processes;
* checkpoints: the state of the prepared optimizer, of Accelerate's grad scaler and of every
  object registered with ``accelerator.register_for_checkpointing``, saved by the main process
  through the checkpoint manager (safetensors weights, ``weights_only`` loads), plus one RNG
  state per process. (``Accelerator.save_state`` is not used: it pickles the RNG
  states and loads them with ``weights_only=False``.)

`AccelTrainer` is the Trainer with the `parallel.DataParallel` plan. Sharding is not done
here: an Accelerator set up for FSDP, DeepSpeed or Megatron (its distributed type, or
``ACCELERATE_USE_FSDP``/``ACCELERATE_USE_DEEPSPEED`` from ``accelerate launch``) is refused with
a message, never trained as DDP. (On a machine without CUDA, Accelerate itself drops an
``fsdp_plugin`` given to ``Accelerator(...)`` before the trainer can see it.)
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any, Iterable

import torch

from .checkpoint import capture_rng_state
from .distributed import destroy_at_exit
from .engine import Engine, compile_model, place
from .parallel import DataParallel
from .trainer import Trainer

if TYPE_CHECKING:
    from accelerate import Accelerator


class AccelerateEngine(Engine):
    """Data parallelism through an ``accelerate.Accelerator`` (built from the arguments if None)."""

    supports_multi_process = True

    def __init__(self, accelerator: "Accelerator | None" = None) -> None:
        super().__init__()
        self.accelerator = accelerator

    # ------------------------------------------------------------------------------ identity

    @property
    def world_size(self) -> int:
        return self.accelerator.num_processes

    @property
    def process_index(self) -> int:
        return self.accelerator.process_index

    @property
    def local_process_index(self) -> int:
        return self.accelerator.local_process_index

    @property
    def grad_scale(self) -> float:
        # DDP averages gradients over the processes; the loss is already normalised by the
        # global token count, so undo the average.
        return float(self.world_size)

    # ----------------------------------------------------------------------------- placement

    def setup(self, trainer: Trainer) -> torch.nn.Module:
        args = trainer.args
        refuse_sharding_launch()
        if self.accelerator is None:
            if args.fp16 and (args.use_cpu or not torch.cuda.is_available()):
                raise ValueError("fp16 mixed precision needs a CUDA device (the trainer runs on cpu); "
                                 "use bf16=True on the CPU")
            self.accelerator = make_accelerator(args)
        accelerator = self.accelerator
        check_accelerator(accelerator, args)
        if accelerator.num_processes > 1:
            destroy_at_exit()
        self.device = accelerator.device
        if args.fp16 and self.device.type != "cuda":
            raise ValueError(
                f"fp16 mixed precision needs a CUDA device (the trainer runs on {self.device}); "
                "use bf16=True on the CPU"
            )
        place(trainer.model, self.device)  # a model built on the meta device is materialised here
        wrapped = accelerator.prepare_model(trainer.model)
        return compile_model(wrapped, args)

    def prepare_optimizer(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        # The scheduler is NOT prepared: Accelerate's scheduler wrapper would step it
        # num_processes times per optimizer step.
        return self.accelerator.prepare_optimizer(optimizer)

    def unwrap(self, module: torch.nn.Module) -> torch.nn.Module:
        return self.accelerator.unwrap_model(module)

    # ---------------------------------------------------------------------------------- data

    def data_shard(self) -> tuple[int, int]:
        return self.world_size, self.process_index

    # ------------------------------------------------------------------------------ one step

    def autocast(self) -> contextlib.AbstractContextManager:
        return self.accelerator.autocast()

    def accumulate(self, module: torch.nn.Module, is_last: bool) -> contextlib.AbstractContextManager:
        if is_last or self.world_size == 1:
            return contextlib.nullcontext()
        return self.accelerator.no_sync(module)

    def backward(self, loss: torch.Tensor) -> None:
        self.accelerator.backward(loss * self.grad_scale)

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        """Nothing here: ``clip_grad_norm_`` unscales (Accelerate refuses to unscale twice)."""

    def clip_grad_norm_(self, parameters: Iterable[torch.nn.Parameter], max_norm: float | None) -> torch.Tensor:
        params = [p for p in parameters if p.grad is not None]
        if max_norm and max_norm > 0:
            return self.accelerator.clip_grad_norm_(params, max_norm)
        self.accelerator.unscale_gradients()
        return torch.nn.utils.get_total_norm([p.grad for p in params])

    def optimizer_step(self, optimizer: torch.optim.Optimizer) -> bool:
        optimizer.step()
        return not getattr(optimizer, "step_was_skipped", False)

    # -------------------------------------------------------------------------- across ranks

    def reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.world_size == 1:
            return tensor
        return self.accelerator.reduce(tensor, reduction="sum")  # reduces a copy

    def barrier(self) -> None:
        self.accelerator.wait_for_everyone()

    # --------------------------------------------------------------------------- checkpoints

    def checkpoint_objects(self, trainer: Trainer) -> tuple[dict[str, Any], dict[str, Any]]:
        shared: dict[str, Any] = {
            "optimizer": trainer.optimizer,
            "scheduler": trainer.lr_scheduler,
            "data_state": trainer.train_dataloader.state_dict(),
        }
        if self.accelerator.scaler is not None:
            shared["scaler"] = self.accelerator.scaler.state_dict()
        shared.update(self._registered_objects())
        return shared, {"rng_state": capture_rng_state()}

    def _registered_objects(self) -> dict[str, Any]:
        """Objects registered with ``accelerator.register_for_checkpointing``, saved and restored
        as Accelerate's ``save_state`` would (as ``custom_checkpoint_<i>``)."""
        registered = getattr(self.accelerator, "_custom_objects", [])  # Accelerate keeps them here
        return {f"custom_checkpoint_{i}": obj for i, obj in enumerate(registered)}

    def load_checkpoint(self, trainer: Trainer, manager: Any, path: Any) -> Any:
        loaded = manager.load(
            path,
            model=trainer.model,
            objects={"optimizer": trainer.optimizer, "scheduler": trainer.lr_scheduler,
                     **self._registered_objects()},
            process_index=self.process_index,
            world_size=self.world_size,
        )
        if self.accelerator.scaler is not None and loaded.scaler_state:
            self.accelerator.scaler.load_state_dict(loaded.scaler_state)
        return loaded


def make_accelerator(args: Any) -> "Accelerator":
    """An Accelerator for these arguments: their mixed precision; the CPU (gloo) without CUDA."""
    from accelerate import Accelerator

    mixed = "bf16" if args.bf16 else "fp16" if args.fp16 else "no"
    # Without cpu=True, Accelerate on a machine without CUDA ignores the torchrun environment
    # and every process would train alone.
    cpu = args.use_cpu or not torch.cuda.is_available()
    return Accelerator(mixed_precision=mixed, cpu=cpu)


#: Accelerate's distributed types that are data parallel (a replica per process).
DATA_PARALLEL_TYPES = {"NO", "MULTI_CPU", "MULTI_GPU", "MULTI_XPU", "MULTI_NPU", "MULTI_MLU", "MULTI_SDAA",
                       "MULTI_MUSA", "MULTI_HPU", "MULTI_NEURON", "XLA"}


#: What `accelerate launch --use_fsdp/--use_deepspeed` sets.
SHARDING_ENV = ("ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED", "ACCELERATE_USE_MEGATRON_LM")


def refuse_sharding_launch() -> None:
    """Refuse what `accelerate launch --use_fsdp` (or DeepSpeed, Megatron) asked for in the
    environment: on the CPU Accelerate itself would quietly keep DDP."""
    asked = [name for name in SHARDING_ENV if os.environ.get(name, "").lower() in ("1", "true")]
    if asked:
        _refuse_sharding(f"{asked[0]}=true in the environment")


def _refuse_sharding(what: str) -> None:
    raise ValueError(
        f"the Accelerator is set up for sharding ({what}): AccelTrainer (parallel=DataParallel) "
        "trains a whole replica per process and would not shard. For FSDP use the Trainer with "
        "parallel=forgather.ml.trainer.parallel.FullyShard(...) (FSDP2 on torch.distributed; "
        "trainers/fsdp_trainer.fg), and give AccelTrainer an Accelerator without the plugin"
    )


def check_accelerator(accelerator: "Accelerator", args: Any) -> None:
    """Refuse an Accelerator whose settings would silently change the training."""
    refuse_sharding_launch()
    kind = str(getattr(accelerator.distributed_type, "name", accelerator.distributed_type))
    if kind not in DATA_PARALLEL_TYPES:
        _refuse_sharding(f"distributed_type {kind}")
    if accelerator.gradient_accumulation_steps != 1:
        raise ValueError(
            f"the Accelerator has gradient_accumulation_steps={accelerator.gradient_accumulation_steps}: "
            "set gradient_accumulation_steps in the TrainingArguments instead (AccelTrainer "
            "accumulates itself, token-weighted; Accelerate would divide the loss a second time)"
        )
    wanted = "bf16" if args.bf16 else "fp16" if args.fp16 else "no"
    if str(accelerator.mixed_precision) != wanted:
        raise ValueError(
            f"the Accelerator's mixed_precision={accelerator.mixed_precision!r} disagrees with the "
            f"arguments (bf16={args.bf16}, fp16={args.fp16}): set one of them to match"
        )
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and accelerator.num_processes != launched:
        raise ValueError(
            f"{launched} processes were launched (WORLD_SIZE) but the Accelerator sees "
            f"{accelerator.num_processes}: on a machine without CUDA build it with cpu=True"
        )


class AccelTrainer(Trainer):
    """The `Trainer` with the `parallel.DataParallel` plan: data parallel over every launched
    process on Accelerate.

    ``AccelTrainer(model, args, ..., accelerator=None)``: the same arguments as `Trainer`, plus an
    optional ``accelerate.Accelerator`` (built from ``args`` when omitted: mixed precision from
    ``bf16``/``fp16``, CPU processes over gloo when there is no CUDA). ``per_device_*_batch_size``
    is per process: the global batch is ``world_size`` times larger.
    """

    def __init__(self, *args: Any, accelerator: "Accelerator | None" = None, **kwargs: Any) -> None:
        if "parallel" in kwargs:
            raise TypeError("AccelTrainer is the Trainer with parallel=DataParallel(accelerator): "
                            "pass parallel to Trainer instead")
        super().__init__(*args, parallel=DataParallel(accelerator=accelerator), **kwargs)

    @property
    def accelerator(self) -> "Accelerator":
        return self.engine.accelerator
