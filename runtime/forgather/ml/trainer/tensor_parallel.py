"""Tensor parallel: each block's matrices split over the processes (Megatron-LM's split), on
``torch.distributed.tensor.parallel``.

The model's blocks declare how they split: a module with a ``tp_plan(degree)`` method returns
the ``parallelize_module`` plan of its children (`forgather.ml.models`: `CausalSelfAttention`
splits q/k/v by output rows, that is by heads, and the output projection by input columns;
`MLP` and `GLUFeedforward` split up/gate by rows and down by columns), so every block costs one
all-reduce in its forward and one in its backward, and each process holds 1/N of the blocks'
weights, gradients and optimizer state. What no plan names (embedding, norms, output head)
stays whole on every process; its gradient is the same on all of them (the replicated input of
a split layer sums its gradient over the processes). `apply_tensor_parallel` is the parallelize
function (torchtitan's ``parallelize_llama`` without the table: the plan lives with the block).
A Hugging Face model has no such method; its config's ``base_model_tp_plan`` (Llama, Mistral,
Qwen2: the same split, by name patterns) is applied instead when it uses the plain styles only
(`hf_tp_plan`; the attention of those models already takes its head count from the shape).

`TensorParallelEngine` is the Trainer's engine for the `parallel.TensorParallel` plan. Every
process reads the same whole batch (they compute one model together), so the loss is divided
by the world size before ``backward`` and multiplied back (`grad_scale`): each process's share
of the step loss sums to the step's loss, as the engine contract asks. Checkpoints (DTensor
state dicts through ``torch.distributed.checkpoint``) and the final export (gathered into one
ordinary model directory) are FullyShard's (`fsdp.FSDPEngine`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from .distributed import device_mesh, local_device
from .engine import Engine, compile_model, place
from .fsdp import FSDPEngine
from .precision import MixedPrecision

if TYPE_CHECKING:
    from .trainer import Trainer

logger = logging.getLogger(__name__)


def tp_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every module of ``model`` that declares a tensor-parallel plan."""
    return [(name, m) for name, m in model.named_modules() if callable(getattr(m, "tp_plan", None))]


def apply_tensor_parallel(model: nn.Module, mesh: Any) -> nn.Module:
    """Split ``model`` in place over the 1-D ``mesh``: each module with a ``tp_plan(degree)``
    is parallelized by its plan (without any: a Hugging Face model by `hf_tp_plan`); parameters no plan names stay whole on every process and are
    made identical (broadcast from the first process). Returns the model."""
    from torch.distributed.tensor.parallel import parallelize_module

    from ..models.alibi import ALiBi

    degree = mesh.size()
    blocks = tp_blocks(model)
    if blocks:
        if any(isinstance(m, ALiBi) for m in model.modules()):
            raise ValueError("TensorParallel: the model uses ALiBi, whose per-head biases are not split with "
                             "the heads; use rotary or learned positions, or FullyShard")
        for _, block in blocks:
            parallelize_module(block, mesh, block.tp_plan(degree))
    else:
        base, plan = hf_tp_plan(model, degree)
        parallelize_module(base, mesh, plan)
    group = mesh.get_group()
    src = dist.get_global_rank(group, 0)
    for tensor in [*model.parameters(), *model.buffers()]:
        if not hasattr(tensor, "placements"):  # whole on every process: start identical
            dist.broadcast(tensor.data, src=src, group=group)
    return model


def hf_tp_plan(model: nn.Module, degree: int) -> tuple[nn.Module, dict[str, Any]]:
    """A Hugging Face model's own plan (its config's ``base_model_tp_plan``, as Llama, Mistral
    and Qwen2 have), in torch's styles: ``(base model, plan)``. Only the plain styles
    ("colwise", "rowwise": the attention projections and the MLP) are taken; a model without a
    plan, or whose plan needs transformers' own styles, is refused with its class named."""
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel

    styles = {"colwise": ColwiseParallel, "rowwise": RowwiseParallel}
    config = getattr(model, "config", None)
    plan = getattr(config, "base_model_tp_plan", None) or {}
    base = getattr(model, "base_model", None)
    others = sorted({style for style in plan.values() if style not in styles})
    if not plan or others or not isinstance(base, nn.Module):
        blocks = getattr(model, "_no_split_modules", None) or [
            type(m[0]).__name__ for n, m in model.named_modules()
            if n.rsplit(".", 1)[-1] == "layers" and isinstance(m, nn.ModuleList) and len(m)][:1]
        raise ValueError(
            f"TensorParallel: no module of {type(model).__name__}"
            + (f" (its blocks are {', '.join(blocks)})" if blocks else "")
            + " declares a tensor-parallel plan (a `tp_plan(degree)` method returning a "
            "parallelize_module plan, as forgather.ml.models' CausalSelfAttention, MLP and "
            "GLUFeedforward do)"
            + (f", and its Hugging Face plan uses styles other than colwise/rowwise ({', '.join(others)})"
               if others else ", nor a Hugging Face `base_model_tp_plan`")
            + "; use FullyShard or Pipeline for it"
        )
    for name in ("num_attention_heads", "num_key_value_heads"):
        heads = getattr(config, name, None)
        if isinstance(heads, int) and heads % degree:
            raise ValueError(f"tensor parallel over {degree} processes splits attention by heads: "
                             f"{type(config).__name__}.{name}={heads} is not a multiple of {degree}")
    return base, {pattern: styles[style]() for pattern, style in plan.items()}


def total_grad_norm(parameters: Iterable[nn.Parameter]) -> torch.Tensor:
    """The 2-norm of all gradients, split (DTensor) and whole alike: a split gradient's norm is
    reduced over its processes, a whole one (the same everywhere) counted once."""
    squares = []
    for p in parameters:
        norm = torch.linalg.vector_norm(p.grad, dtype=torch.float32)
        if hasattr(norm, "full_tensor"):
            norm = norm.full_tensor()
        squares.append(norm.square())
    return torch.stack(squares).sum().sqrt() if squares else torch.zeros(())


class TensorParallelEngine(FSDPEngine):
    """The engine of the `parallel.TensorParallel` plan (see the module doc)."""

    plan_name = "TensorParallel"

    @property
    def grad_scale(self) -> float:
        # every process computes the whole step's loss; it is divided by the world size in the
        # token count (`reduce_sum` sums the same count N times) and multiplied back here
        return float(self._world_size)

    def setup(self, trainer: "Trainer") -> nn.Module:
        args = trainer.args
        self.device = local_device(args.use_cpu)
        self.precision = MixedPrecision(self.device, bf16=args.bf16, fp16=args.fp16)
        if args.fp16:
            raise ValueError("TensorParallel: fp16=True is not supported (its grad scaler does not "
                             "unscale split gradients); use bf16=True")
        self.mesh = device_mesh((self._world_size,), ("tp",), self.device)
        model = trainer.model
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(args.seed)  # a model built on meta: every process the same init
            place(model, self.device)  # whole, then split (each process keeps its part)
        apply_tensor_parallel(model, self.mesh)
        logger.info("tensor parallel over %d processes (%d modules split)", self._world_size,
                    len(tp_blocks(model)))
        return compile_model(model, args)

    def data_shard(self) -> tuple[int, int]:
        return 1, 0  # every process reads the whole batch

    def eval_batches(self, loader: Iterable[Any]) -> Iterator[tuple[Any, bool]]:
        return Engine.eval_batches(self, loader)  # the same batches everywhere: already in step

    def clip_grad_norm_(self, parameters: Iterable[nn.Parameter], max_norm: float | None) -> torch.Tensor:
        params = [p for p in parameters if p.grad is not None]
        norm = total_grad_norm(params)
        if max_norm and max_norm > 0 and params:
            coef = max_norm / (float(norm) + 1e-6)
            if coef < 1.0:
                for p in params:
                    p.grad.mul_(coef)
        return norm
