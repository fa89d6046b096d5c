"""Parallel plans: how the one `Trainer` lays a model over its processes.

A plan is configuration, a small frozen dataclass that a config names with one tag; the Trainer
asks it for the engine that applies it (``plan.create_engine(args)``, see `engine`). The
strategies are functions applied to the model, as in torchtitan: `fsdp.apply_fully_shard`
shards it, `pipeline_split.split_model` cuts it into stages, Accelerate wraps it in DDP; the
Trainer's loop is the same for all of them.

    Trainer(model, args, ..., parallel=None)        one device in one process; data parallel
                                                    when launched in several (fgc run --nproc N)
    parallel=SingleDevice()                         one process, one device
    parallel=DataParallel(accelerator=None)         a replica per process (DDP, on Accelerate)
    parallel=FullyShard(...)                        FSDP2: weights, gradients and optimizer
                                                    state sharded over the processes
    parallel=TensorParallel()                      each block's matrices split over the processes
                                                    (the blocks declare how: ``tp_plan``)
    parallel=Pipeline(schedule="1F1B", ...,         stages across processes; with
                      data_parallel=1)              data_parallel=D, D pipelines side by side
                                                    on a 2-D (pp, dp) device mesh

In a config (`trainers/trainer.fg` has the block):

    [parallel]
        parallel: !singleton:forgather.ml.trainer.parallel:FullyShard { reshard_after_forward: true }
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from .distributed import launched_world_size

if TYPE_CHECKING:
    from .engine import Engine


class ParallelPlan:
    """What every plan answers: the engine that applies it."""

    def create_engine(self, args: Any) -> "Engine":
        raise NotImplementedError


@dataclass(frozen=True)
class SingleDevice(ParallelPlan):
    """One process on one device: CUDA when available (and not ``use_cpu``), else the CPU."""

    def create_engine(self, args: Any) -> "Engine":
        from .engine import SingleDeviceEngine

        world = launched_world_size()
        if world > 1:
            raise ValueError(
                f"parallel=SingleDevice() but {world} processes were launched: every process would "
                "train alone and write the same files; use DataParallel(), FullyShard() or "
                "Pipeline(...), or launch one process"
            )
        return SingleDeviceEngine()


@dataclass(frozen=True)
class DataParallel(ParallelPlan):
    """A whole replica of the model on every process; gradients averaged (DDP through
    ``accelerate.Accelerator``: gloo on the CPU, NCCL on CUDA). ``accelerator``: your own
    Accelerator (built from the arguments when None); one set up for FSDP or DeepSpeed is
    refused (use `FullyShard`)."""

    accelerator: Any = None

    def create_engine(self, args: Any) -> "Engine":
        from .accelerate import AccelerateEngine

        return AccelerateEngine(self.accelerator)


@dataclass(frozen=True)
class FullyShard(ParallelPlan):
    """FSDP2 (``torch.distributed.fsdp.fully_shard``) over every process: each holds 1/N of the
    weights, gradients and optimizer state, and gathers a block's weights for its forward and
    backward.

    - ``param_dtype`` / ``reduce_dtype``: the mixed-precision policy (``"bfloat16"``,
      ``"float16"``, ``"float32"`` or None = the parameters' own dtype): the gathered weights are
      cast to ``param_dtype`` for compute, gradients reduced in ``reduce_dtype``; the sharded
      master weights and the optimizer state stay in their dtype. (``bf16=True`` in the
      arguments autocasts instead, as on every engine.)
    - ``reshard_after_forward``: free each block's gathered weights after its forward (True:
      least memory, a second gather in the backward; False: ZeRO-2-like).
    - ``cpu_offload``: keep the sharded weights, gradients and optimizer step on the CPU (CUDA
      only; pinned memory).
    - ``shard_modules``: class names of the modules sharded one by one (the transformer
      blocks); None: the model's ``_no_split_modules`` (Hugging Face's list), else the layers of
      the model's layer stack. The root is always sharded last.
    """

    param_dtype: str | None = None
    reduce_dtype: str | None = None
    reshard_after_forward: bool = True
    cpu_offload: bool = False
    shard_modules: Sequence[str] | None = None

    def create_engine(self, args: Any) -> "Engine":
        from .fsdp import FSDPEngine

        return FSDPEngine(self, use_cpu=args.use_cpu)


@dataclass(frozen=True)
class TensorParallel(ParallelPlan):
    """Tensor parallel (Megatron-LM's split, on ``torch.distributed.tensor.parallel``) over every
    process, see `tensor_parallel`: each module that declares a ``tp_plan(degree)`` (the
    attention and feedforward blocks of `forgather.ml.models`) has its matrices split, attention
    by heads (their numbers must be multiples of the process count); everything else stays whole
    on every process. A Hugging Face model is split by its config's ``base_model_tp_plan``
    (Llama, Mistral, Qwen2). Every process reads the same batch. A model with neither is
    refused with its class named."""

    def create_engine(self, args: Any) -> "Engine":
        from .tensor_parallel import TensorParallelEngine

        return TensorParallelEngine(self, use_cpu=args.use_cpu)


@dataclass(frozen=True)
class Pipeline(ParallelPlan):
    """Pipeline parallel on ``torch.distributed.pipelining`` (see `pipeline`), optionally times
    data parallel.

    - ``schedule``: "GPipe", "1F1B" (one stage per rank), "Interleaved1F1B", "LoopedBFS",
      "InterleavedZeroBubble" (several stages per rank, in a loop), "ZBVZeroBubble",
      "DualPipeV" (two per rank, in a V).
    - ``n_microbatches``: micro-batches per batch (default: the number of stages).
    - ``stages_per_rank``: 1 for GPipe and 1F1B, default 2 for the others.
    - ``split_points``: the first layer of stages 1..S-1 (default: an even split).
    - ``data_parallel``: D pipelines side by side on a 2-D (pp, dp) device mesh (world size =
      D x pipeline ranks): each pipeline reads its shard of the data, and each stage's gradients
      are summed over its D replicas.
    """

    schedule: Any = "1F1B"
    n_microbatches: int | None = None
    stages_per_rank: int | None = None
    split_points: Sequence[int] | None = None
    data_parallel: int = 1

    def __post_init__(self) -> None:
        from .pipeline import resolve_schedule

        resolve_schedule(self.schedule)  # an unknown name fails before the model is built
        if isinstance(self.data_parallel, bool) or not isinstance(self.data_parallel, int) or self.data_parallel < 1:
            raise ValueError(f"Pipeline: data_parallel must be a positive integer, got {self.data_parallel!r}")

    def create_engine(self, args: Any) -> "Engine":
        from .pipeline import PipelineEngine

        return PipelineEngine(
            self.schedule, n_microbatches=self.n_microbatches, stages_per_rank=self.stages_per_rank,
            split_points=self.split_points, data_parallel=self.data_parallel, use_cpu=args.use_cpu,
        )


def resolve_plan(parallel: ParallelPlan | None) -> ParallelPlan:
    """The plan to apply: ``parallel``, or by default one device in one process and data
    parallel when the launcher started several."""
    if parallel is None:
        return DataParallel() if launched_world_size() > 1 else SingleDevice()
    if not isinstance(parallel, ParallelPlan):
        raise TypeError(
            f"parallel must be a plan of forgather.ml.trainer.parallel (SingleDevice, DataParallel, "
            f"FullyShard, TensorParallel, Pipeline) or None, got {type(parallel).__name__}"
        )
    return parallel
