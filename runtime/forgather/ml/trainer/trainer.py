"""`Trainer`: Hugging Face's Trainer API over one loop and an engine.

The loop follows ``transformers.Trainer`` event for event (so callbacks see the same sequence)
and composes the concerns that live in sibling modules: how a step executes and where the model
lives (`engine`, built from the parallel plan of `parallel`: one device, data parallel, fully
sharded, pipeline, pipeline x data parallel), the data position (`dataloader`), checkpoints
(`checkpoint`) and callbacks (`callback_handler`). One Trainer serves every strategy: a
strategy is a plan, never a subclass that overrides the loop.

A step accumulates ``gradient_accumulation_steps`` micro-batches. Each micro-batch loss is the SUM
of its token losses divided by the number of target tokens in the whole step, so the step's
gradient equals that of one large batch (token-weighted accumulation).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Callable

import torch
from transformers import TrainerState, get_scheduler
from transformers.trainer_callback import ExportableState
from transformers.trainer_utils import TrainOutput

from ..loss import causal_lm_loss, count_target_tokens, logits_of
from ..memory.options import MemoryOptions
from .base import BaseTrainer
from .checkpoint import restore_rng_state
from .dataloader import ResumableDataLoader, eval_dataloader
from .engine import Engine
from .columns import keep_model_columns
from .evaluation import PredictionCollector, gather, prefixed, stack
from .optimizers import create_optimizer as create_named_optimizer
from .schedule import create_schedule, restore_schedule_settings, schedule_settings
from .parallel import ParallelPlan, resolve_plan

logger = logging.getLogger(__name__)


@dataclass
class TrainingPlan:
    """How long training runs, derived from the arguments and the data (as HF derives it)."""

    max_steps: int
    num_epochs: int
    batches_per_epoch: int  # micro-batches; for an unsized dataset, max_steps * accumulation


class Trainer(BaseTrainer):
    """Train, evaluate, checkpoint and save a model, on one device or on many processes.

    ``Trainer(model, args, data_collator, train_dataset, eval_dataset, processing_class, *,
    model_init, compute_loss_func, callbacks, optimizer_factory, lr_scheduler_factory,
    parallel)``. ``args`` may also be a ``transformers.TrainingArguments``. ``optimizer_factory``
    is called with the trainable ``(name, parameter)`` pairs, ``lr_scheduler_factory`` with the
    optimizer; ``compute_loss_func(outputs, labels, num_items_in_batch=...)`` must return the
    summed token loss divided by ``num_items_in_batch`` (as in ``transformers.Trainer``).
    ``parallel`` is the parallel plan (`forgather.ml.trainer.parallel`): None trains on one
    device, or data parallel when launched in several processes.
    """

    #: Any number of processes: the parallel plan decides how they share the work.
    supports_multi_process = True

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
        compute_metrics: Callable | None = None,
        preprocess_logits_for_metrics: Callable | None = None,
        parallel: ParallelPlan | None = None,
    ) -> None:
        self.parallel = resolve_plan(parallel)
        super().__init__(
            model, args, data_collator, train_dataset, eval_dataset, processing_class,
            model_init=model_init, compute_loss_func=compute_loss_func, callbacks=callbacks,
            optimizer_factory=optimizer_factory, lr_scheduler_factory=lr_scheduler_factory,
            compute_metrics=compute_metrics, preprocess_logits_for_metrics=preprocess_logits_for_metrics,
        )

    def create_engine(self) -> Engine:
        """The engine that applies the parallel plan."""
        return self.parallel.create_engine(self.args)

    def _post_init(self) -> None:
        self.engine = self.create_engine()
        self.memory = MemoryOptions(self.args, self.compute_loss_func)  # the memory fields
        self.memory.check_engine(self.engine)
        self.memory.prepare_model(self.model)
        self.compute_loss_func = self.memory.loss_func() or self.compute_loss_func
        if hasattr(getattr(self.model, "config", None), "use_cache"):
            # As transformers.Trainer: no KV cache in training (HF models then also derive
            # per-document attention masks from restarting position ids).
            self.model.config.use_cache = self.args.use_cache
        if self.args.gradient_checkpointing:
            # transformers v5 renamed gradient_checkpointing_enable to activation_checkpointing_enable
            enable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs)
        # The module a step calls forward on (compiled, wrapped for data parallelism); self.model
        # stays the plain module that is saved and handed to callbacks.
        self.forward_module = self.engine.setup(self)
        self.device = self.engine.device
        self.memory.bind_device(self.device)
        self.args.bind_topology(self.engine)
        self.checkpoints = self.engine.checkpoint_manager(self.args)
        self.train_dataloader: ResumableDataLoader | None = None

    @property
    def precision(self):
        return self.engine.precision

    # ------------------------------------------------------------------------ building blocks

    def trainable_parameters(self) -> list[tuple[str, torch.nn.Parameter]]:
        """(name, parameter) of what this process's optimizer updates (the engine knows: a
        pipeline rank's stages, a shard's parameters); ValueError if none."""
        return self.engine.trainable_parameters(self.model)

    def create_optimizer(self) -> torch.optim.Optimizer:
        """``optimizer_factory(named trainable parameters)``, else the optimizer ``args.optim``
        names (`optimizers`: torch AdamW by default, the project's SGD, Adafactor, GaLore, APOLLO).

        The default decays only tensors with 2+ dimensions (not biases and norm weights).
        """
        named = self.trainable_parameters()
        if self.optimizer_factory is not None:
            return self.optimizer_factory(named)
        return create_named_optimizer(self.args, self.model, named, self.device, self.memory)

    def create_scheduler(self, optimizer: torch.optim.Optimizer, max_steps: int) -> Any:
        """``lr_scheduler_factory(optimizer)`` (with ``num_training_steps=max_steps`` when it takes
        that keyword: the plan's total, however the run's length is given), else
        ``lr_scheduler_type`` with warm-up."""
        if self.lr_scheduler_factory is not None:
            return create_schedule(self.lr_scheduler_factory, optimizer, max_steps)
        return get_scheduler(
            self.args.lr_scheduler_type,
            optimizer,
            num_warmup_steps=self.args.warmup_steps_for(max_steps),
            num_training_steps=max_steps,
            scheduler_specific_kwargs=self.args.lr_scheduler_kwargs or {},
        )

    def get_train_dataloader(self) -> ResumableDataLoader:
        if self.train_dataset is None:
            raise ValueError("Trainer.train() needs a train_dataset")
        args = self.args
        num_shards, shard_index = self.engine.data_shard()
        dataset, collator = keep_model_columns(self.train_dataset, self.data_collator, self.model, args, "train")
        return ResumableDataLoader(
            dataset,
            batch_size=args.per_device_train_batch_size,
            collate_fn=collator,
            shuffle=args.train_sampling_strategy == "random",
            seed=args.seed if args.data_seed is None else args.data_seed,
            drop_last=args.dataloader_drop_last,
            num_workers=args.dataloader_num_workers,
            pin_memory=args.dataloader_pin_memory and self.device.type == "cuda",
            num_shards=num_shards,
            shard_index=shard_index,
        )

    def _plan(self, loader: ResumableDataLoader) -> TrainingPlan:
        args = self.args
        ga = args.gradient_accumulation_steps
        if loader.iterable:
            if args.max_steps <= 0:
                raise ValueError("a train_dataset without a length needs max_steps > 0")
            return TrainingPlan(args.max_steps, sys.maxsize, args.max_steps * ga)
        batches = len(loader)
        if batches == 0:
            raise ValueError(
                f"the train_dataset yields no batch ({len(self.train_dataset)} samples, batch size "
                f"{args.per_device_train_batch_size}, drop_last={args.dataloader_drop_last})"
            )
        updates_per_epoch = math.ceil(batches / ga)
        if args.max_steps > 0:
            max_steps = args.max_steps
            epochs = math.ceil(max_steps / updates_per_epoch)
        else:
            max_steps = math.ceil(args.num_train_epochs * updates_per_epoch)
            epochs = math.ceil(args.num_train_epochs)
        return TrainingPlan(max_steps, epochs, batches)

    # ----------------------------------------------------------------------------------- train

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs: Any) -> TrainOutput:
        """Train; ``resume_from_checkpoint`` is True (latest checkpoint) or a checkpoint path."""
        if kwargs:
            raise TypeError(f"Trainer.train() got unsupported arguments: {', '.join(kwargs)}")
        if resume_from_checkpoint is None:
            resume_from_checkpoint = self.args.resume_from_checkpoint
        loader = self.train_dataloader = self.get_train_dataloader()
        plan = self._plan(loader)
        self.engine.prepare_output_dir(self.args.output_dir, resume=resume_from_checkpoint,
                                       overwrite=self.args.overwrite_output_dir)

        self.state = TrainerState(
            stateful_callbacks=[
                cb for cb in self.callback_handler.callbacks + [self.control]
                if isinstance(cb, ExportableState)
            ]
        )
        self.state.train_batch_size = self.args.per_device_train_batch_size
        self.state.compute_steps(self.args, plan.max_steps)
        self.optimizer = self.engine.prepare_optimizer(self.memory.wrap_optimizer(self.create_optimizer()))
        self.lr_scheduler = self.create_scheduler(self.optimizer, plan.max_steps)
        rng_state = None
        if resume_from_checkpoint:
            rng_state = self._resume(resume_from_checkpoint, loader)
        self.state.max_steps = plan.max_steps
        self.state.num_train_epochs = plan.num_epochs
        self.state.is_local_process_zero = self.is_local_process_zero()
        self.state.is_world_process_zero = self.is_world_process_zero()
        handler = self.callback_handler
        handler.model, handler.optimizer, handler.lr_scheduler = self.model, self.optimizer, self.lr_scheduler
        handler.train_dataloader = loader
        return self._train_loop(loader, plan, rng_state)

    def _train_loop(self, loader: ResumableDataLoader, plan: TrainingPlan, rng_state: Any) -> TrainOutput:
        state = self.state
        start_time = time.time()
        self._initial_step = self._last_logged_step = state.global_step
        self._loss_window = torch.zeros((), device=self.device)  # summed on device: one sync per log
        self._loss_total = 0.0
        self._grad_norm: torch.Tensor | None = None
        self._learning_rate: float | None = None
        self.model.train()
        self.model.zero_grad(set_to_none=True)
        self.control = self.fire("on_train_begin")
        if self.args.eval_on_start:  # as transformers: after on_train_begin, before the first step
            if self.eval_dataset is None:
                logger.warning("eval_on_start=True but there is no eval_dataset: evaluation skipped")
            else:
                self.evaluate()
        if rng_state is not None:  # now, so that nothing between here and the next step draws
            restore_rng_state(rng_state)
        for epoch in range(loader.epoch, plan.num_epochs):
            loader.set_epoch(epoch)
            self.control = self.fire("on_epoch_begin")
            self._run_epoch(loader, epoch, plan)
            if self.control.should_training_stop or state.global_step >= plan.max_steps:
                break
        return self._finish(start_time, plan)

    def _run_epoch(self, loader: ResumableDataLoader, epoch: int, plan: TrainingPlan) -> None:
        state, ga = self.state, self.args.gradient_accumulation_steps
        batches = iter(loader)
        while state.global_step < plan.max_steps:  # the flow callback normally stops us first
            group = list(islice(batches, ga))
            if not group:
                if loader.batches_seen == 0:
                    logger.warning("epoch %d yielded no batch: stopping at step %d", epoch, state.global_step)
                    self.control.should_training_stop = True
                break
            self.control = self.fire("on_step_begin")
            self._loss_window += self.training_step(group)
            self._optimizer_step()
            state.global_step += 1
            state.epoch = epoch + loader.batches_seen / plan.batches_per_epoch
            self.control = self.fire("on_step_end")
            self._maybe_log_save_evaluate()
            if self.control.should_epoch_stop or self.control.should_training_stop:
                break
        self.control = self.fire("on_epoch_end")
        self._maybe_log_save_evaluate()

    def training_step(self, micro_batches: list[dict[str, Any]]) -> torch.Tensor:
        """Forward and backward over one step's micro-batches (the engine's ``forward_backward``);
        returns this process's detached share of the step's loss. A step fused into backward
        that clips first measures the global gradient norm in a pass that steps nothing."""
        measuring = self.memory.measuring_pass(self.optimizer)
        if measuring is not None:
            with measuring:  # the loss pops a batch's labels: this pass gets copies of the dicts
                self.engine.forward_backward(self, [dict(b) for b in micro_batches])
        return self.engine.forward_backward(self, micro_batches)

    def substep_end(self) -> None:
        """Between two micro-batches of a step (the engine calls it)."""
        self.control = self.fire("on_substep_end")

    def compute_micro_loss(self, batch: dict[str, Any], num_items: torch.Tensor | None,
                           mean_divisor: int) -> torch.Tensor:
        """The loss of one micro-batch already on the device: its summed token loss divided by
        ``num_items`` (the step's target tokens over every process), or, when the model computes
        its own mean loss, that loss divided by ``mean_divisor``."""
        labels = batch.pop("labels", None) if num_items is not None else None
        with self.engine.autocast(), self.memory.forward_context():
            outputs = self.forward_module(**batch)
            if labels is None:
                return _loss_of(outputs) / mean_divisor
            if self.compute_loss_func is not None:
                return self.compute_loss_func(outputs, labels, num_items_in_batch=num_items)
            return causal_lm_loss(logits_of(outputs), labels, num_items_in_batch=num_items)

    def _optimizer_step(self) -> None:
        engine = self.engine
        engine.unscale_(self.optimizer)
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        # stepped in backward (optimizer_in_backward): no gradient is left; its norm was taken
        self._grad_norm = self.memory.grad_norm(self.optimizer)
        if self._grad_norm is None:
            self._grad_norm = engine.clip_grad_norm_(params, self.args.max_grad_norm)
        self.control = self.fire("on_pre_optimizer_step")
        stepped = engine.optimizer_step(self.optimizer)
        self.control = self.fire("on_optimizer_step")
        self._learning_rate = self._current_lr()
        if stepped:
            self.lr_scheduler.step()
        self.model.zero_grad(set_to_none=True)

    def _current_lr(self) -> float:
        if hasattr(self.lr_scheduler, "get_last_lr"):
            return float(self.lr_scheduler.get_last_lr()[0])
        return float(self.optimizer.param_groups[0]["lr"])

    # ---------------------------------------------------------------------- log / eval / save

    def _maybe_log_save_evaluate(self) -> None:
        state, control = self.state, self.control
        if control.should_log and state.global_step > self._last_logged_step:
            window = self.engine.reduce_sum(self._loss_window).item()
            self._loss_window.zero_()
            self._loss_total += window
            logs = {"loss": window / (state.global_step - self._last_logged_step)}
            if self._grad_norm is not None:
                logs["grad_norm"] = float(self._grad_norm)
            logs["learning_rate"] = self._learning_rate if self._learning_rate is not None else self._current_lr()
            self._last_logged_step = state.global_step
            self.log(logs)
        if self.control.should_evaluate:
            if self.eval_dataset is None:
                if not getattr(self, "_warned_no_eval", False):
                    logger.warning("eval_strategy=%r but there is no eval_dataset: evaluation skipped",
                                   self.args.eval_strategy)
                    self._warned_no_eval = True
                self.control.should_evaluate = False
            else:
                is_best = self._update_best(self.evaluate())
                if self.args.save_strategy == "best":
                    self.control.should_save = is_best
        if self.control.should_save:
            self._save_checkpoint()
            self.control = self.fire("on_save")

    def _update_best(self, metrics: dict[str, float]) -> bool:
        name = self.args.metric_for_best_model
        if name is None:
            return False
        key = name if name.startswith("eval_") else f"eval_{name}"
        if key not in metrics:
            raise KeyError(
                f"metric_for_best_model={name!r}: the evaluation reports {', '.join(metrics)}"
            )
        value, best = metrics[key], self.state.best_metric
        greater = self.args.greater_is_better
        if best is None or (value > best if greater else value < best):
            self.state.best_metric = value
            self.state.best_global_step = self.state.global_step
            return True
        return False

    def _save_checkpoint(self) -> None:
        state = self.state
        if state.best_global_step is not None:
            best = self.checkpoints.output_dir / f"checkpoint-{state.best_global_step}"
            if state.best_global_step == state.global_step or best.is_dir():
                state.best_model_checkpoint = str(best)
        for callback in self.callback_handler.callbacks + [self.control]:
            if isinstance(callback, ExportableState):
                state.stateful_callbacks[type(callback).__name__] = callback.state()
        self.engine.save_checkpoint(self, self.checkpoints, state.global_step, protect=state.best_model_checkpoint)

    def checkpoint_written(self, directory: Path) -> None:
        """Every file of the checkpoint is in `directory`, a temporary one, not yet renamed into
        place: callbacks see it as ``on_checkpoint_written(..., checkpoint_dir=directory)``."""
        self.control = self.fire("on_checkpoint_written", checkpoint_dir=directory)

    def _resume(self, resume_from_checkpoint: str | bool, loader: ResumableDataLoader) -> Any:
        path = self.checkpoints.resolve(resume_from_checkpoint)
        settings = schedule_settings(self.lr_scheduler)  # the config's and the plan's (schedule.py)
        loaded = self.engine.load_checkpoint(self, self.checkpoints, path)
        if restore_schedule_settings(self.lr_scheduler, settings, self.optimizer):
            logger.info("the schedule's settings differ from %s's: the config's apply from step %d",
                        path, self.lr_scheduler.last_epoch)
        self.state = loaded.trainer_state
        best = self.state.best_model_checkpoint
        if best and not Path(best).is_dir():
            logger.warning("the best checkpoint %s recorded in %s no longer exists", best, path)
            self.state.best_model_checkpoint = None
        if loaded.data_state is not None:
            loader.load_state_dict(loaded.data_state)
        else:
            logger.warning("%s has no data position: restarting the data at epoch %d", path,
                           int(self.state.epoch or 0))
            loader.load_state_dict({"epoch": int(self.state.epoch or 0), "batches_seen": 0})
        if self.args.restore_callback_states_from_checkpoint:
            self._restore_callback_states()
        logger.info("resumed from %s at step %d", path, self.state.global_step)
        return loaded.rng_state

    def _restore_callback_states(self) -> None:
        saved = self.state.stateful_callbacks or {}
        for callback in self.callback_handler.callbacks:
            entry = saved.get(type(callback).__name__)
            if isinstance(callback, ExportableState) and isinstance(entry, dict):
                for key, value in entry.get("attributes", {}).items():
                    setattr(callback, key, value)

    def _finish(self, start_time: float, plan: TrainingPlan) -> TrainOutput:
        state = self.state
        self._loss_total += self.engine.reduce_sum(self._loss_window).item()
        steps = state.global_step - self._initial_step
        runtime = time.time() - start_time
        train_loss = self._loss_total / max(steps, 1)
        samples = (steps * self.args.per_device_train_batch_size * self.args.gradient_accumulation_steps
                   * self.engine.data_shard()[0])  # data shards, not processes: pipeline ranks share a batch
        metrics = {
            "train_runtime": round(runtime, 4),
            "train_samples_per_second": round(samples / runtime, 3) if runtime else 0.0,
            "train_steps_per_second": round(steps / runtime, 3) if runtime else 0.0,
            "train_loss": train_loss,
        }
        self.log(metrics)
        if self.args.load_best_model_at_end and state.best_model_checkpoint:
            logger.info("loading the best model (%s = %s) from %s", self.args.metric_for_best_model,
                        state.best_metric, state.best_model_checkpoint)
            self.engine.load_best_weights(self, state.best_model_checkpoint)
        self.engine.end_training()
        self.control = self.fire("on_train_end")
        return TrainOutput(state.global_step, train_loss, metrics)

    def save_model(self, output_dir: str | os.PathLike | None = None) -> Path:
        """Save the model and the processing class (tokenizer) into ``output_dir`` as one
        ordinary model directory (a Forgather model stand-alone), whatever the parallel plan:
        the engine gathers or merges what the processes hold. Every process must call it."""
        return self.engine.save_model(self, Path(output_dir or self.args.output_dir))

    # -------------------------------------------------------------------------------- evaluate

    def evaluate(self, eval_dataset: Any = None, ignore_keys: Any = None,
                 metric_key_prefix: str = "eval") -> dict[str, float]:
        """Evaluate as ``transformers.Trainer.evaluate``: ``{prefix}_loss`` (the token-weighted mean
        over the whole set, not a mean of batch means), ``compute_metrics``' metrics (prefixed),
        ``{prefix}_runtime`` and speeds; logged, and handed to ``on_evaluate``.

        ``eval_dataset`` (or the Trainer's) may be a dict of named sets: each is evaluated with the
        prefix ``{prefix}_{name}`` and the metrics of all are returned; a name selects one of the
        Trainer's (with ``metric_key_prefix`` as given, as transformers does). ``ignore_keys`` is accepted for transformers' signature (the logits are what the
        metrics get). Each process evaluates its shard; sums and predictions are gathered."""
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if isinstance(dataset, str):
            if not isinstance(self.eval_dataset, dict) or dataset not in self.eval_dataset:
                raise KeyError(f"evaluate({dataset!r}): the Trainer's eval_dataset has no set of that name")
            return self.evaluate(self.eval_dataset[dataset], ignore_keys, metric_key_prefix)
        if isinstance(dataset, dict):
            metrics: dict[str, float] = {}
            for name, each in dataset.items():
                metrics.update(self.evaluate(each, ignore_keys, f"{metric_key_prefix}_{name}"))
            return metrics
        if dataset is None:
            raise ValueError("evaluate() needs an eval_dataset (pass it to Trainer(...) or evaluate(...))")
        metrics, _ = self._prediction_loop(dataset, metric_key_prefix, predictions=self.compute_metrics is not None)
        self.log(metrics)
        self.control = self.fire("on_evaluate", metrics=metrics)
        return metrics

    def predict(self, test_dataset: Any, ignore_keys: Any = None, metric_key_prefix: str = "test") -> Any:
        """``transformers.Trainer.predict``: a ``PredictionOutput(predictions, label_ids, metrics)``
        of the whole set, predictions the logits (or what ``preprocess_logits_for_metrics`` made of
        them) padded with -100 across batches; metrics as `evaluate`'s, with ``metric_key_prefix``
        (and ``compute_metrics``' when there are labels). Fires ``on_predict``; logs nothing."""
        from transformers.trainer_utils import PredictionOutput

        metrics, collected = self._prediction_loop(test_dataset, metric_key_prefix, predictions=True)
        self.control = self.fire("on_predict", metrics=metrics)
        return PredictionOutput(predictions=stack(collected["predictions"]),
                                label_ids=stack(collected["labels"]), metrics=metrics)

    @torch.no_grad()
    def _prediction_loop(self, dataset: Any, prefix: str, predictions: bool) -> tuple[dict[str, float], dict]:
        """Loss (and, with ``predictions``, the per-sample outputs) of the whole of ``dataset``."""
        args = self.args
        predictions = predictions and not args.prediction_loss_only
        if predictions and not self.engine.supports_predictions:
            raise ValueError(
                f"compute_metrics and predict() need the model's logits, which {type(self.engine).__name__} "
                "keeps inside its schedule: evaluate the saved model on one device or with data parallelism"
            )
        num_shards, shard_index = self.engine.data_shard()
        dataset, collator = keep_model_columns(dataset, self.data_collator, self.model, args, prefix)
        loader = eval_dataloader(
            dataset,
            batch_size=args.per_device_eval_batch_size,
            collate_fn=collator,
            drop_last=args.dataloader_drop_last,
            num_workers=args.dataloader_num_workers,
            pin_memory=args.dataloader_pin_memory and self.device.type == "cuda",
            num_shards=num_shards,
            shard_index=shard_index,
        )
        self.callback_handler.eval_dataloader = loader
        collector = self._collector = PredictionCollector(
            self.preprocess_logits_for_metrics, "inputs" in args.include_for_metrics,
            "loss" in args.include_for_metrics,
        ) if predictions else None
        start = time.time()
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        weight = torch.zeros((), dtype=torch.float64, device=self.device)
        samples = batches = 0
        was_training = self.model.training
        self.model.eval()
        try:
            for batch, real in self.engine.eval_batches(loader):
                if collector is not None:
                    collector.accept = real
                loss_sum, count = self.prediction_step(batch)
                if not real:  # a lockstep repeat: its forward kept the collectives together
                    continue
                total += loss_sum
                weight += count
                samples += len(next(iter(batch.values())))
                batches += 1
                self.control = self.fire("on_prediction_step")
        finally:
            self.model.train(was_training)
            self._collector = None
        sums = self.engine.reduce_sum(torch.stack([total, weight, torch.tensor(float(samples), dtype=torch.float64,
                                                                               device=self.device)]))
        # every process of a shard saw its samples (pipeline ranks read the same batches)
        total, weight, samples = sums[0], sums[1], int(sums[2].item()) * num_shards // self.engine.world_size
        collected = (gather(collector.local(), self.engine.world_size, num_shards) if collector is not None
                     else {"predictions": [], "labels": [], "inputs": [], "losses": []})
        metrics: dict[str, Any] = {}
        if self.compute_metrics is not None and collected["predictions"] and collected["labels"]:
            from transformers import EvalPrediction

            computed = self.compute_metrics(EvalPrediction(
                predictions=stack(collected["predictions"]), label_ids=stack(collected["labels"]),
                inputs=stack(collected["inputs"]) if "inputs" in args.include_for_metrics else None,
                losses=stack(collected["losses"]) if "loss" in args.include_for_metrics else None,
            ))
            metrics.update(prefixed(dict(computed or {}), prefix))
        runtime = time.time() - start
        metrics = {
            f"{prefix}_loss": (total / weight.clamp(min=1)).item(),
            **metrics,
            f"{prefix}_runtime": round(runtime, 4),
            f"{prefix}_samples_per_second": round(samples / runtime, 3) if runtime else 0.0,
            f"{prefix}_steps_per_second": round(batches / runtime, 3) if runtime else 0.0,
        }
        return metrics, collected

    def prediction_step(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed token loss, number of target tokens) of one eval batch (the engine's
        ``prediction_step``, which calls `eval_loss` on the modules it holds)."""
        return self.engine.prediction_step(self, batch)

    def eval_loss(self, module: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed token loss, number of target tokens) of ``module`` on a batch on the device;
        during a prediction loop, the logits go to its collector (`evaluation.py`)."""
        labels = batch.pop("labels", None)
        inputs = batch.get("input_ids")
        with self.engine.autocast(), self.memory.forward_context():
            outputs = module(**batch)
            if labels is None:
                loss, count = _loss_of(outputs).double(), torch.ones((), dtype=torch.float64, device=self.device)
                mean = loss
            else:
                count = count_target_tokens(labels)
                if self.compute_loss_func is not None:
                    mean = self.compute_loss_func(outputs, labels, num_items_in_batch=count)
                else:
                    mean = causal_lm_loss(logits_of(outputs), labels, num_items_in_batch=count)
                loss, count = mean.double() * count, count.double()
        collector = getattr(self, "_collector", None)
        if collector is not None:
            collector.add(logits_of(outputs), labels, inputs, mean)
        return loss, count


def enable_gradient_checkpointing(model: torch.nn.Module, kwargs: dict | None) -> None:
    """As transformers.Trainer: ``activation_checkpointing_enable(activation_checkpointing_kwargs=...,
    every_n_layers=..., offload=...)`` (``gradient_checkpointing_enable`` on models that only have
    the v4 name); the remaining kwargs reach ``torch.utils.checkpoint``."""
    kwargs = dict(kwargs or {})
    every_n_layers, offload = kwargs.pop("every_n_layers", 1), kwargs.pop("offload", False)
    enable = getattr(model, "activation_checkpointing_enable", None)
    if enable is not None:
        enable(activation_checkpointing_kwargs=kwargs or None, every_n_layers=every_n_layers, offload=offload)
        return
    enable = getattr(model, "gradient_checkpointing_enable", None)
    if enable is None:
        raise ValueError(
            f"gradient_checkpointing=True but {type(model).__name__} has no gradient_checkpointing_enable() "
            "(nor transformers v5's activation_checkpointing_enable())"
        )
    if every_n_layers != 1 or offload:
        raise ValueError(f"{type(model).__name__}.gradient_checkpointing_enable() takes no every_n_layers or offload")
    enable(gradient_checkpointing_kwargs=kwargs) if kwargs else enable()


def _loss_of(outputs: Any) -> torch.Tensor:
    loss = outputs.get("loss") if isinstance(outputs, dict) else getattr(outputs, "loss", None)
    if loss is None:
        raise ValueError(
            "the batch has no 'labels' and the model returned no loss: give the data labels "
            "(e.g. with DataCollatorForCausalLM) or use a model that computes its loss"
        )
    return loss
