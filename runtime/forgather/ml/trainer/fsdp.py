"""Fully sharded data parallel: FSDP2 (``torch.distributed.fsdp.fully_shard``) as an engine.

`apply_fully_shard` is the parallelize function (torchtitan's ``parallelize_fn``): it shards each
transformer block, then the root, over a 1-D device mesh, so every process holds 1/N of each
parameter (a ``DTensor`` sharded on its first dimension), and a block's full weights exist only
while its forward or backward runs. `FSDPEngine` is the Trainer's engine for the
`parallel.FullyShard` plan:

* placement: the model is sharded in place (no wrapper: ``trainer.model`` is the sharded module);
  a model built on the meta device (`forgather.ml.models.materialize`) is sharded first and then
  materialised shard by shard, from its pretrained weights or its initialisation, so no process
  ever holds the whole model;
* data: each process loads its shard of every global batch, as data parallel does;
* a step: gradients are reduce-scattered after each micro-batch's backward (``loss * N``:
  FSDP averages over the processes); the gradient norm is the whole model's (DTensor
  reductions), then clipped;
* optimizers: any ``torch.optim.Optimizer`` whose update is elementwise on the (sharded)
  parameters works unchanged (AdamW, SGD, Adafactor of `forgather.ml.optim`, torch's own);
  GaLore and APOLLO project whole matrices and refuse sharded ones with a message;
* evaluation: under sharding (every forward gathers weights: the processes run their eval
  shards in lockstep, see `Engine.eval_batches`);
* checkpoints: model and optimizer state through ``torch.distributed.checkpoint`` (each process
  writes its shards; any number of processes resumes them, one included, and so does the
  single-device Trainer), the rest as for every engine (`checkpoint`);
* the final model: gathered, tensor by tensor, on process 0 into one ordinary model directory
  (the stand-alone export for a Forgather model).

On CUDA the collectives run on NCCL and ``cpu_offload`` keeps the sharded parameters, gradients
and optimizer step in pinned CPU memory; on the CPU everything runs on gloo.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import torch
from torch import nn

from .checkpoint import CheckpointError, capture_rng_state
from .distributed import device_mesh, local_device
from .distributed_checkpoint import TrainState, full_model_state_dict, is_distributed_checkpoint
from .engine import ProcessGroupEngine, compile_model
from .model_io import save_model_files
from .precision import MixedPrecision

if TYPE_CHECKING:
    from .parallel import FullyShard
    from .trainer import Trainer

logger = logging.getLogger(__name__)

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32, None: None}


def shard_units(model: nn.Module, class_names: Iterable[str] | None = None) -> list[nn.Module]:
    """The modules sharded one by one (each gathered only for its own forward and backward):
    those whose class is named in ``class_names``, else in the model's ``_no_split_modules``
    (Hugging Face's list of blocks), else the layers of its layer stack; and, as torchtitan
    does, the token embedding and the output head, each on its own unless they share their
    weight (a parameter belongs to one unit: tied, they stay with the root). Without this the
    root would hold them gathered through the whole step, the largest tensors of a small model."""
    names = set(class_names or getattr(model, "_no_split_modules", None) or ())
    if names:
        units = [m for m in model.modules() if type(m).__name__ in names and m is not model]
    else:
        units = next((list(module) for name, module in model.named_modules()
                      if name.rsplit(".", 1)[-1] == "layers" and isinstance(module, nn.ModuleList)), [])
    ends = [getattr(model, f"get_{side}_embeddings", lambda: None)() for side in ("input", "output")]
    ends = [m for m in ends if isinstance(m, nn.Module) and m is not model]
    weights = [getattr(m, "weight", None) for m in ends]
    if len(ends) == 2 and weights[0] is not None and weights[0] is weights[1]:
        ends = []  # tied: one parameter, one unit (the root)
    inside = {id(p) for unit in units for p in unit.parameters()}
    return units + [m for m in ends if not any(id(p) in inside for p in m.parameters())]


def apply_fully_shard(model: nn.Module, mesh: Any, plan: "FullyShard", device: torch.device) -> nn.Module:
    """Shard ``model`` in place with FSDP2 over ``mesh``: each unit of `shard_units` (the blocks,
    the embedding and the head), then the root (which keeps what no unit holds: the final norm,
    a tied embedding). Returns the model."""
    from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, OffloadPolicy, fully_shard

    for field in ("param_dtype", "reduce_dtype"):
        if getattr(plan, field) not in DTYPES:
            raise ValueError(f"FullyShard: {field}={getattr(plan, field)!r} is not one of "
                             f"{', '.join(repr(k) for k in DTYPES if k)} or None")
    if plan.cpu_offload and device.type != "cuda":
        raise ValueError("FullyShard(cpu_offload=True) offloads from an accelerator to the CPU; the "
                         f"processes run on {device}, where the shards already are")
    options = dict(
        mesh=mesh,
        reshard_after_forward=plan.reshard_after_forward,
        mp_policy=MixedPrecisionPolicy(param_dtype=DTYPES[plan.param_dtype], reduce_dtype=DTYPES[plan.reduce_dtype]),
        offload_policy=CPUOffloadPolicy(pin_memory=True) if plan.cpu_offload else OffloadPolicy(),
    )
    units = shard_units(model, plan.shard_modules)
    if plan.shard_modules and not any(type(u).__name__ in plan.shard_modules for u in units):
        raise ValueError(f"FullyShard(shard_modules={list(plan.shard_modules)}): the model has no module of "
                         "those classes")
    for unit in units:
        fully_shard(unit, **options)
    fully_shard(model, **options)
    return model


class FSDPEngine(ProcessGroupEngine):
    """The engine of the `parallel.FullyShard` plan (see the module doc)."""

    plan_name = "FullyShard"

    def __init__(self, plan: "FullyShard", *, use_cpu: bool = False) -> None:
        super().__init__()
        self.plan = plan
        self._join_process_group(use_cpu)

    # ------------------------------------------------------------------------------ identity


    @property
    def grad_scale(self) -> float:
        return float(self._world_size)  # FSDP averages the reduce-scattered gradients

    # ----------------------------------------------------------------------------- placement

    def setup(self, trainer: "Trainer") -> nn.Module:
        from ..models import materialize

        args = trainer.args
        self.device = local_device(args.use_cpu)
        self.precision = MixedPrecision(self.device, bf16=args.bf16, fp16=args.fp16)
        if args.fp16:
            raise ValueError("FullyShard: fp16=True is not supported (its grad scaler would need FSDP's "
                             "sharded unscale); use bf16=True, or FullyShard(param_dtype='bfloat16')")
        self.mesh = device_mesh((self._world_size,), ("dp_shard",), self.device)
        model = trainer.model
        on_meta = materialize.has_meta_parameters(model)
        if not on_meta and not self.plan.cpu_offload:
            model.to(self.device)
        apply_fully_shard(model, self.mesh, self.plan, self.device)
        if on_meta:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(args.seed + self.rank)  # each shard its own draw of the init
                materialize.materialize(model, self.device, offload=self.plan.cpu_offload)
        logger.info("fully sharded over %d processes (%d blocks sharded one by one)", self._world_size,
                    len(shard_units(model, self.plan.shard_modules)))
        return compile_model(model, args)

    # ---------------------------------------------------------------------------------- data

    def data_shard(self) -> tuple[int, int]:
        return self._world_size, self.rank

    def eval_batches(self, loader: Iterable[Any]) -> Iterator[tuple[Any, bool]]:
        """Every forward gathers weights from all processes: each process runs as many eval
        batches as the process with the most, repeating its last one (``real=False``)."""
        batches = iter(loader)
        last = None
        while True:
            batch = next(batches, None)
            if not int(self.reduce_sum(torch.tensor(int(batch is not None), device=self.device)).item()):
                return
            if batch is not None:
                last = batch
                yield batch, True
            elif last is not None:
                yield last, False
            else:  # this shard is empty: a two-token stand-in keeps the collectives together
                yield {"input_ids": torch.zeros((1, 2), dtype=torch.long),
                       "labels": torch.full((1, 2), -100, dtype=torch.long)}, False

    # ------------------------------------------------------------------------------ one step

    def clip_grad_norm_(self, parameters: Iterable[nn.Parameter], max_norm: float | None) -> torch.Tensor:
        """The norm of the whole model's gradient (reduced over the shards), then clipping."""
        params = [p for p in parameters if p.grad is not None]
        norm = torch.nn.utils.get_total_norm([p.grad for p in params])
        if hasattr(norm, "full_tensor"):  # a DTensor: the sum over shards is still pending
            norm = norm.full_tensor()
        if max_norm and max_norm > 0 and params:
            torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm)
        return norm

    # -------------------------------------------------------------------------- across ranks


    # --------------------------------------------------------------------------- checkpoints

    def checkpoint_objects(self, trainer: "Trainer") -> tuple[dict[str, Any], dict[str, Any]]:
        shared = {"scheduler": trainer.lr_scheduler, "data_state": trainer.train_dataloader.state_dict()}
        return shared, {"rng_state": capture_rng_state()}

    def sharded_state(self, trainer: "Trainer") -> TrainState:
        return TrainState(trainer.model, trainer.optimizer)

    def load_checkpoint(self, trainer: "Trainer", manager: Any, path: Any) -> Any:
        if not is_distributed_checkpoint(path):
            raise CheckpointError(
                f"{path}: written by a run whose weights were not sharded (model.safetensors, "
                f"optimizer.pt); a {self.plan_name} run resumes from its own checkpoints "
                "(torch.distributed.checkpoint: .metadata and __<rank>_0.distcp)"
            )
        return manager.load(
            path,
            model=trainer.model,
            objects={"optimizer": trainer.optimizer, "scheduler": trainer.lr_scheduler},
            process_index=self.rank,
            world_size=self._world_size,
        )

    # ----------------------------------------------------------------------------- the model

    def save_model(self, trainer: "Trainer", output_dir: Path) -> Path:
        """Gather the full weights on process 0 (tensor by tensor, into CPU memory) and write
        one ordinary model directory there."""
        state = full_model_state_dict(trainer.model)  # a collective; empty except on process 0
        if self.is_main_process:
            save_model_files(trainer.model, output_dir, tokenizer=trainer.processing_class,
                             safe_serialization=trainer.args.save_safetensors, state_dict=state)
            logger.info("saved the model (gathered from %d shards) to %s", self._world_size, output_dir)
        self.barrier()
        return output_dir
