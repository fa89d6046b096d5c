"""Pipeline-parallel training on `torch.distributed.pipelining`, times data parallel.

The model is split into stages by layer (`pipeline_split`, the pipelining function); each
process runs one stage (or several, for the interleaved and V schedules) and PyTorch's schedules
move the activations and their gradients between processes. `PipelineEngine` is the Trainer's
engine for the `parallel.Pipeline` plan (see `engine`): its `forward_backward` runs the step's
micro-batches through the schedule (the pipeline body of torchtitan's
``pp_forward_backward_step``), sums the gradients of parameters that several stages hold (a tied
embedding), reduces the gradient norm over the whole pipeline before clipping, and saves
per-stage checkpoints. The loop, callbacks, logging and resume are the Trainer's;
`PipelineTrainer` is the Trainer with this plan.

Pipeline x data parallel: with ``data_parallel=D`` the N processes form a 2-D device mesh
``(pp, dp)`` of N/D pipeline ranks by D replicas (the ranks of one stage are consecutive). Each
pipeline (one ``dp`` index) reads its shard of the data, as D data-parallel processes would;
the step's token count is summed over the replicas first, and after the schedule each stage's
gradients are summed over its D replicas, so the step equals one process with the global batch.

Data: every process of one pipeline reads the same batch; the first stage uses the token ids,
the last the labels, every stage the position ids. Each batch is cut into `n_microbatches` along
the batch dimension, so the batch size must be a multiple of it; a short last batch is padded
with ignored rows, so the loss is that of the unpadded batch.

Memory: a model built on the meta device (`forgather.ml.models.materialize`) is materialised
stage by stage: each process allocates and loads (or initialises) only its stages' parameters.
A model built in memory keeps its other stages' weights until they are released at setup.

Launch with `fgc run BUILD --nproc N` (or torchrun): N processes, gloo on CPU, NCCL on CUDA.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import safetensors.torch
import torch
import torch.distributed as dist
from torch.distributed.pipelining import PipelineStage
from torch.distributed.pipelining.schedules import (
    PipelineScheduleMulti,
    PipelineScheduleSingle,
    get_schedule_class,
)

from ..loss import causal_lm_loss, count_target_tokens
from forgather_files.atomic import replace, write_text

from .checkpoint import capture_rng_state
from .distributed import device_mesh, local_device
from .engine import ProcessGroupEngine
from .model_io import remove_weights, save_model_files
from .parallel import Pipeline
from .pipeline_checkpoint import INDEX, PipelineCheckpointManager, shard_name
from .pipeline_schedules import ForwardOnlyMulti
from .pipeline_split import PipelineSplit, split_model, stage_indices, stage_to_rank
from .precision import MixedPrecision
from .trainer import Trainer

logger = logging.getLogger(__name__)

SCHEDULES = (
    "GPipe", "1F1B", "Interleaved1F1B", "LoopedBFS", "InterleavedZeroBubble", "ZBVZeroBubble", "DualPipeV",
)
V_SCHEDULES = ("ZBVZeroBubble", "DualPipeV")  # place two stages per rank in a V
BATCH_KEYS = ("input_ids", "labels", "position_ids", "attention_mask")
MAX_SCHEDULES = 8  # schedules kept for distinct batch shapes (a schedule infers shapes once)


def replace_parameters(model: torch.nn.Module, make: Callable[[str, torch.nn.Parameter], Any]) -> None:
    """Replace each parameter ``p`` (state-dict name ``name``) for which ``make(name, p)`` returns
    a new one, in every module holding it, so a tied parameter stays one tensor."""
    new_for: dict[int, tuple[torch.nn.Parameter, Any]] = {}  # keeps the old one alive: ids stay unique
    for prefix, module in model.named_modules(remove_duplicate=False):
        for name, p in list(module._parameters.items()):
            if p is None:
                continue
            if id(p) not in new_for:
                new_for[id(p)] = (p, make(f"{prefix}.{name}" if prefix else name, p))
            new = new_for[id(p)][1]
            if new is not None:
                module._parameters[name] = new


def resolve_schedule(name: str | type) -> type:
    """A schedule class from its name ("1F1B", "gpipe", ...) or the class itself."""
    if isinstance(name, type):
        return name
    try:
        return get_schedule_class(str(name))
    except ValueError:
        raise ValueError(
            f"unknown pipeline schedule {name!r}; the installed torch has: {', '.join(SCHEDULES)}"
        ) from None



class PipelineEngine(ProcessGroupEngine):
    """The engine of the `parallel.Pipeline` plan: one process per pipeline rank, times
    ``data_parallel`` replicas (see the module doc)."""

    #: compute_metrics and predict() need the logits, which stay inside the schedule's last stage
    supports_predictions = False

    def __init__(self, schedule: str | type = "1F1B", *, n_microbatches: int | None = None,
                 stages_per_rank: int | None = None, split_points: Sequence[int] | None = None,
                 data_parallel: int = 1, use_cpu: bool = False) -> None:
        super().__init__()
        self.schedule_class = resolve_schedule(schedule)
        multi = issubclass(self.schedule_class, PipelineScheduleMulti)
        if not multi and not issubclass(self.schedule_class, PipelineScheduleSingle):
            raise ValueError(f"{self.schedule_class.__name__} is not a pipeline schedule")
        if stages_per_rank is None:
            stages_per_rank = 2 if multi else 1
        if stages_per_rank < 1 or (not multi and stages_per_rank != 1):
            raise ValueError(
                f"schedule {self.schedule_class.__name__} cannot run stages_per_rank={stages_per_rank} "
                "(GPipe and 1F1B run one stage per rank; Interleaved1F1B, LoopedBFS and the "
                "zero-bubble schedules several)"
            )
        if n_microbatches is not None and n_microbatches < 1:
            raise ValueError(f"n_microbatches must be >= 1 (or None: one per stage), got {n_microbatches}")
        self.multi = multi
        self.split_points = split_points
        self._join_process_group(use_cpu)
        if self._world_size % data_parallel:
            raise ValueError(
                f"Pipeline(data_parallel={data_parallel}): {self._world_size} processes do not make "
                f"{data_parallel} equal pipelines (launch a multiple of {data_parallel})"
            )
        self.dp, self.pp = data_parallel, self._world_size // data_parallel
        self.device = local_device(use_cpu)
        # (pp, dp), pp outermost: the replicas of one stage are consecutive ranks
        self.mesh = device_mesh((self.pp, self.dp), ("pp", "dp"), self.device)
        self.pp_group, self.dp_group = self.mesh.get_group("pp"), self.mesh.get_group("dp")
        self.pp_rank, self.dp_rank = self.mesh.get_local_rank("pp"), self.mesh.get_local_rank("dp")
        self.num_stages = self.pp * stages_per_rank
        self.n_microbatches = n_microbatches or self.num_stages
        self.style = "v" if self.schedule_class.__name__ in {f"Schedule{n}" for n in V_SCHEDULES} else "loop"
        self._schedules: OrderedDict[tuple, Any] = OrderedDict()
        self._num_items: torch.Tensor | None = None
        self._loss_func: Callable | None = None

    # ------------------------------------------------------------------------------ identity


    def global_rank(self, pp_rank: int, dp_rank: int | None = None) -> int:
        """The process of pipeline rank ``pp_rank`` in replica ``dp_rank`` (default: this one)."""
        return int(self.mesh.mesh[pp_rank, self.dp_rank if dp_rank is None else dp_rank])

    # ----------------------------------------------------------------------------- placement

    def setup(self, trainer: "Trainer") -> torch.nn.Module:
        """Split the model, keep (or materialise) this rank's stages, and work out what it
        shares with other ranks."""
        from ..models import materialize

        args = trainer.args
        for flag, why in (
            ("fp16", "its loss scaling would have to run inside the schedule's backward; use bf16"),
            ("torch_compile", "compiling the stage modules is not wired up"),
            ("load_best_model_at_end", "reloading the best stages is not implemented"),
        ):
            if getattr(args, flag):
                raise ValueError(f"PipelineTrainer: {flag}=True is not supported ({why})")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size"):
            if getattr(args, name) % self.n_microbatches:
                raise ValueError(
                    f"PipelineTrainer: {name}={getattr(args, name)} is not a multiple of "
                    f"n_microbatches={self.n_microbatches} (each batch is cut into equal micro-batches)"
                )
        self.device = local_device(args.use_cpu)
        self.precision = MixedPrecision(self.device, bf16=args.bf16, fp16=args.fp16)
        self.batch_rows = {True: args.per_device_train_batch_size, False: args.per_device_eval_batch_size}
        self._loss_func = trainer.compute_loss_func
        self._forward_context = trainer.memory.forward_context  # linear_cross_entropy: the last stage's head
        model = trainer.model
        if getattr(model, "use_kernels", False):
            # transformers' from_pretrained turns on hub kernels, which model.train() re-applies
            # by the device of the first parameter: on a middle stage's rank that is on meta.
            # The stages run the model's own torch code.
            model.use_kernels = False
        self.split: PipelineSplit = split_model(model, self.num_stages, self.split_points)
        self.stage_ids = stage_indices(self.pp_rank, self.pp, self.num_stages, self.style)
        self._stage_rank = stage_to_rank(self.pp, self.num_stages, self.style)  # pipeline-group ranks
        self.has_first = 0 in self.stage_ids
        self.has_last = self.num_stages - 1 in self.stage_ids
        mine = {id(p) for _, p in self._local_parameters()}
        if materialize.has_meta_parameters(model):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(args.seed + self.pp_rank)  # each stage its own draw of the init
                materialize.materialize(model, self.device, parameters=mine)
        else:
            self._release_other_stages(model, mine)
            for i in self.stage_ids:
                self.split.stages[i].to(self.device)
        self.local = self._local_parameters()
        self._shared_groups = self._make_shared_groups(model)
        if self.dp > 1:  # every replica of a stage starts from replica 0's weights
            with torch.no_grad():
                for _, p in self.local:
                    dist.broadcast(p.data, src=self.global_rank(self.pp_rank, 0), group=self.dp_group)
        logger.info(
            "pipeline rank %d/%d (replica %d/%d): stages %s of %d (layers %s), %s with %d micro-batches",
            self.pp_rank, self.pp, self.dp_rank, self.dp, self.stage_ids, self.num_stages,
            [list(self.split.layer_ranges[i]) for i in self.stage_ids],
            self.schedule_class.__name__, self.n_microbatches,
        )
        return model  # never called whole: the stages run

    def _local_parameters(self) -> list[tuple[str, torch.nn.Parameter]]:
        """This rank's parameters, each once, under the whole model's names."""
        seen, named = set(), []
        for i in self.stage_ids:
            for name, p in self.split.stages[i].named_parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    named.append((self.split.prefix + name, p))
        return named

    def _release_other_stages(self, model: torch.nn.Module, mine: set[int]) -> None:
        """Each rank keeps the weights of its own stages only: the other parameters become meta
        tensors (no memory)."""
        replace_parameters(
            model,
            lambda name, p: None if id(p) in mine
            else torch.nn.Parameter(torch.empty_like(p, device="meta"), requires_grad=p.requires_grad),
        )

    def _make_shared_groups(self, model: torch.nn.Module) -> list[tuple[torch.nn.Parameter, Any]]:
        """(parameter, process group) for each shared parameter that this and other pipeline
        ranks of this replica hold."""
        local = {id(p) for _, p in self.local}
        params = dict(model.named_parameters())
        groups: dict[tuple[int, ...], Any] = {}
        mine = []
        for shared in self.split.shared:
            ranks = tuple(sorted({self._stage_rank[s] for s in shared.stages}))
            if len(ranks) < 2:
                continue  # its holders are on one rank: one tensor, whose gradient accumulates
            if ranks not in groups:  # every process creates every group, in the same order
                groups[ranks] = (self.pp_group if len(ranks) == self.pp else
                                 [dist.new_group([self.global_rank(r, d) for r in ranks]) for d in range(self.dp)])
            group = groups[ranks] if len(ranks) == self.pp else groups[ranks][self.dp_rank]
            param = params[shared.name]
            if self.pp_rank in ranks and id(param) in local:
                mine.append((param, group))
                # The copies start from the owning stage's value, even if the ranks built the
                # model from different seeds.
                with torch.no_grad():
                    dist.broadcast(param.data, src=self.global_rank(self._stage_rank[shared.stages[0]]), group=group)
        return mine

    def trainable_parameters(self, model: torch.nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
        """This rank's stages only: the optimizer (``optimizer_factory`` or AdamW decaying 2-D+
        tensors) is built over them."""
        named = [(n, p) for n, p in self.local if p.requires_grad]
        if not named:
            raise ValueError(f"pipeline rank {self.pp_rank} has no trainable parameters")
        return named

    def data_shard(self) -> tuple[int, int]:
        return self.dp, self.dp_rank  # the ranks of one pipeline read the same shard

    # ------------------------------------------------------------------------------ one step

    def forward_backward(self, trainer: "Trainer", micro_batches: list[dict[str, Any]]) -> torch.Tensor:
        """The step's micro-batches (gradient accumulation) through the schedule, one schedule
        run each; returns the step loss on the last stage's rank and 0 elsewhere."""
        for batch in micro_batches:
            if "labels" not in batch:
                raise ValueError("PipelineTrainer needs batches with 'labels' (e.g. from DataCollatorForCausalLM)")
        num_items = sum(count_target_tokens(b["labels"]) for b in micro_batches).to(self.device)
        if self.dp > 1:  # the step's tokens over every replica: the loss is the global batch's
            dist.all_reduce(num_items, group=self.dp_group)
        step_loss = torch.zeros((), device=self.device)
        for i, batch in enumerate(micro_batches):
            step_loss += self._run_schedule(batch, num_items, train=True)
            if i < len(micro_batches) - 1:
                trainer.substep_end()
        self._sum_shared_gradients()
        self._sum_replica_gradients()
        return step_loss

    def prediction_step(self, trainer: "Trainer", batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed token loss, target tokens) of one eval batch, both on the rank of the last
        stage and 0 elsewhere (the evaluation sums over ranks). On V schedules that rank also runs
        the first stage: it gets the token ids and the labels."""
        if "labels" not in batch:
            raise ValueError("PipelineTrainer.evaluate needs batches with 'labels'")
        total = self._run_schedule(batch, torch.ones((), device=self.device), train=False)
        count = count_target_tokens(batch["labels"]).to(self.device) if self.has_last else torch.zeros(())
        return total.double(), count.double().to(self.device)

    def _run_schedule(self, batch: dict[str, Any], num_items: torch.Tensor, *, train: bool) -> torch.Tensor:
        """One batch through the pipeline; its summed micro-batch losses (0 off the last stage)."""
        batch = self._static_batch(batch, self.batch_rows[train])
        schedule = self._schedule_for(batch, train)
        args = (batch["input_ids"],) if self.has_first else ()
        kwargs = {k: batch[k] for k in ("position_ids", "attention_mask") if k in batch}
        target = batch["labels"] if self.has_last else None
        losses: list[torch.Tensor] | None = [] if self.has_last else None
        self._num_items = num_items
        with self.autocast(), self._forward_context():
            if train:
                schedule.step(*args, target=target, losses=losses, return_outputs=False, **kwargs)
            else:
                schedule.eval(*args, target=target, losses=losses, **kwargs)
        if not losses:
            return torch.zeros((), device=self.device)
        return torch.stack([loss.detach().float() for loss in losses]).sum()

    def _pipeline_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The schedule's loss_fn (last stage): the summed token loss over the step's token count."""
        if self._loss_func is not None:
            return self._loss_func(logits, labels, num_items_in_batch=self._num_items)
        return causal_lm_loss(logits, labels, num_items_in_batch=self._num_items)

    def _static_batch(self, batch: dict[str, Any], rows: int) -> dict[str, torch.Tensor]:
        """The batch on the device with `rows` rows: a short batch gets rows of ignored labels."""
        unknown = set(batch) - set(BATCH_KEYS)
        if unknown:
            raise ValueError(
                f"PipelineTrainer: the batch has keys {sorted(unknown)} that no stage takes "
                f"(stages take {', '.join(BATCH_KEYS)})"
            )
        batch = self.to_device(batch)
        ids = batch["input_ids"]
        missing = rows - ids.shape[0]
        if missing < 0:
            raise ValueError(f"PipelineTrainer: a batch of {ids.shape[0]} rows exceeds the batch size {rows}")
        if missing == 0:
            return batch
        T = ids.shape[1]
        fill = {
            "input_ids": torch.zeros((missing, T), dtype=ids.dtype, device=ids.device),
            "labels": torch.full((missing, T), -100, dtype=torch.long, device=ids.device),
            "position_ids": torch.arange(T, device=ids.device).expand(missing, T),
            "attention_mask": torch.ones((missing, T), dtype=torch.long, device=ids.device),
        }
        return {k: torch.cat([v, fill[k].to(v.dtype)]) for k, v in batch.items()}

    def _schedule_for(self, batch: dict[str, torch.Tensor], train: bool) -> Any:
        """The schedule for this batch shape: a schedule infers its stages' shapes once, so each
        shape gets its own (every rank sees the same batches, so all build the same ones).
        Multi-stage evaluation runs a forward-only schedule (see `pipeline_schedules`)."""
        forward_only = self.multi and not train
        key = (forward_only, *((k, tuple(v.shape)) for k, v in sorted(batch.items())))
        if key in self._schedules:
            self._schedules.move_to_end(key)
            return self._schedules[key]
        stages = [PipelineStage(self.split.stages[i], i, self.num_stages, self.device, group=self.pp_group)
                  for i in self.stage_ids]
        if forward_only:
            schedule = ForwardOnlyMulti(stages, self.n_microbatches, self._stage_rank, loss_fn=self._pipeline_loss)
        else:
            schedule = self.schedule_class(
                stages if self.multi else stages[0],
                self.n_microbatches,
                loss_fn=self._pipeline_loss,
                scale_grads=False,  # the loss is already divided by the step's token count
            )
        self._schedules[key] = schedule
        if len(self._schedules) > MAX_SCHEDULES:
            self._schedules.popitem(last=False)
        return schedule

    def _sum_shared_gradients(self) -> None:
        """Sum the gradient of each parameter held on several ranks (the tied embedding of the
        first and last stages), so that every copy takes the same optimizer step."""
        for param, group in self._shared_groups:
            if param.grad is None:
                param.grad = torch.zeros_like(param)
            dist.all_reduce(param.grad, group=group)

    def _sum_replica_gradients(self) -> None:
        """Sum each gradient over the replicas of its stage (the data-parallel all-reduce), in
        one flat buffer per dtype."""
        if self.dp == 1:
            return
        grads = [p.grad for _, p in self.local if p.grad is not None]
        for dtype in {g.dtype for g in grads}:
            same = [g for g in grads if g.dtype == dtype]
            flat = torch.cat([g.reshape(-1) for g in same])
            dist.all_reduce(flat, group=self.dp_group)
            for g, part in zip(same, flat.split([g.numel() for g in same])):
                g.copy_(part.view_as(g))

    def clip_grad_norm_(self, parameters: Iterable[torch.nn.Parameter], max_norm: float | None) -> torch.Tensor:
        """The 2-norm of the whole model's gradient (each tensor counted once, by the rank of its
        owning stage), reduced over the pipeline; this rank's gradients clipped with it."""
        params = [p for p in parameters if p.grad is not None]
        ids = {id(p) for p in params}
        owned = [
            p.grad for name, p in self.local
            if id(p) in ids and self.split.owner.get(name) in self.stage_ids
        ]
        sq = torch.zeros((), dtype=torch.float32, device=self.device)
        if owned:
            sq += torch.nn.utils.get_total_norm(owned).float() ** 2
        dist.all_reduce(sq, group=self.pp_group)  # the replicas hold equal gradients
        norm = sq.sqrt()
        if max_norm and max_norm > 0 and params:
            torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm)
        return norm

    # -------------------------------------------------------------------------- across ranks


    # --------------------------------------------------------------------------- checkpoints

    def checkpoint_manager(self, args: Any) -> PipelineCheckpointManager:
        # one replica writes the stage shards; every process its optimizer and RNG state
        return PipelineCheckpointManager(args.output_dir, split=self.split,
                                         stage_ids=self.stage_ids if self.dp_rank == 0 else [],
                                         load_stage_ids=self.stage_ids, save_total_limit=args.save_total_limit)

    def save_checkpoint(self, trainer: "Trainer", manager: Any, step: int, protect: str | None) -> None:
        """Per-stage shards and per-rank optimizer and RNG states; one trainer state."""
        manager.save(
            step,
            model=trainer.model,
            trainer_state=trainer.state,
            objects={"scheduler": trainer.lr_scheduler, "data_state": trainer.train_dataloader.state_dict()},
            per_process={"optimizer": trainer.optimizer, "rng_state": capture_rng_state()},
            protect=protect,
            process_index=self.rank,
            world_size=self._world_size,
            barrier=self.barrier,
            before_commit=trainer.checkpoint_written,
        )

    def load_checkpoint(self, trainer: "Trainer", manager: Any, path: Any) -> Any:
        return manager.load(
            path,
            model=trainer.model,
            objects={"scheduler": trainer.lr_scheduler},
            per_process={"optimizer": trainer.optimizer},
            process_index=self.rank,
            world_size=self._world_size,
        )

    def save_model(self, trainer: "Trainer", output_dir: Path) -> Path:
        """One ordinary model directory, written by parts: each stage's tensors by its rank (of
        replica 0) as one safetensors shard, the index, config, code and tokenizer by process 0
        (no process ever holds the whole model). Every process calls it."""
        output_dir = Path(output_dir)
        parts = output_dir / ".tmp-model-stages"
        if self.is_main_process:
            shutil.rmtree(parts, ignore_errors=True)
            parts.mkdir(parents=True)
        self.barrier()
        n = len(self.split.stages)
        if self.dp_rank == 0:
            for i in self.stage_ids:
                tensors = {k: v.detach().contiguous().cpu() for k, v in self.split.stage_state_dict(i).items()}
                safetensors.torch.save_file(tensors, str(parts / shard_name(i, n)), metadata={"format": "pt"})
        self.barrier()
        if self.is_main_process:
            try:
                # config.json, the model's code and the tokenizer: the export without weights
                save_model_files(trainer.model, output_dir, tokenizer=trainer.processing_class, state_dict={})
                remove_weights(output_dir)
                for i in range(n):
                    replace(parts / shard_name(i, n), output_dir / shard_name(i, n))
                index = PipelineCheckpointManager.index_of(self.split)
                write_text(output_dir / INDEX, json.dumps(index, indent=2) + "\n")  # last: marks completeness
            finally:
                shutil.rmtree(parts, ignore_errors=True)
            logger.info("saved the model (%d stage shards) to %s", n, output_dir)
        self.barrier()
        return output_dir


class PipelineTrainer(Trainer):
    """The `Trainer` with the `parallel.Pipeline` plan: a causal LM split into stages across
    processes.

    ``PipelineTrainer(model, args, ..., *, schedule="1F1B", n_microbatches=None,
    stages_per_rank=None, split_points=None)`` takes the Trainer's arguments plus the plan's:

    - ``schedule``: a `torch.distributed.pipelining` schedule by name: "GPipe", "1F1B" (one stage
      per rank), "Interleaved1F1B", "LoopedBFS", "InterleavedZeroBubble" (several stages per rank,
      placed in a loop), "ZBVZeroBubble", "DualPipeV" (two stages per rank, placed in a V).
    - ``n_microbatches``: micro-batches per batch (default: the number of stages); must divide
      the per-device train and eval batch sizes (which are the global batch: every rank reads it).
    - ``stages_per_rank``: 1 for GPipe and 1F1B, default 2 for the others.
    - ``split_points``: the first layer of stages 1..S-1 (S = pipeline ranks x
      stages_per_rank); default an even split.
    - ``data_parallel``: D pipelines side by side (pipeline ranks = world size / D), each on its
      shard of the data; ``per_device_*_batch_size`` is then per pipeline.

    Each process keeps the weights of its own stages (the others are meta tensors; a model built
    on the meta device never allocates them) and trains them (the copies of a tied weight start
    from the first stage's value); `save_model` writes one ordinary model directory, each stage
    its own shard.
    Checkpoints hold one safetensors shard per stage under the whole model's names
    (`pipeline_checkpoint`): the weights load into any split; the optimizer state needs the same
    split and number of ranks (another schedule with the same placement resumes)."""

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        args: Any = None,
        data_collator: Callable | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        *,
        model_init: Callable[[], torch.nn.Module] | None = None,
        compute_loss_func: Callable | None = None,
        callbacks: list | None = None,
        optimizer_factory: Callable | None = None,
        lr_scheduler_factory: Callable | None = None,
        schedule: str | type = "1F1B",
        n_microbatches: int | None = None,
        stages_per_rank: int | None = None,
        split_points: Sequence[int] | None = None,
        data_parallel: int = 1,
    ) -> None:
        plan = Pipeline(schedule=schedule, n_microbatches=n_microbatches, stages_per_rank=stages_per_rank,
                        split_points=split_points, data_parallel=data_parallel)
        super().__init__(
            model, args, data_collator, train_dataset, eval_dataset, processing_class,
            model_init=model_init, compute_loss_func=compute_loss_func, callbacks=callbacks,
            optimizer_factory=optimizer_factory, lr_scheduler_factory=lr_scheduler_factory,
            parallel=plan,
        )
