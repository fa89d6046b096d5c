"""What every Forgather trainer shares: arguments, model construction, callbacks, state, logging.

`BaseTrainer` knows nothing about how a step executes; `Trainer` implements the loop over an
engine (`engine.py`), and distributed trainers extend it by giving it another engine.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from transformers import (
    DefaultFlowCallback,
    TrainerCallback,
    TrainerControl,
    TrainerState,
)
from transformers import TrainingArguments as HFTrainingArguments

from ..data.collator import DataCollatorForCausalLM
from .arguments import TrainingArguments, unimplemented_hf_fields
from .callback_handler import CallbackHandler
from .callbacks import JsonLinesLogger, ProgressCallback
from .model_io import save_model_files
from .tracking import tracking_callbacks

logger = logging.getLogger(__name__)

OptimizerFactory = Callable[[Any], torch.optim.Optimizer]
LRSchedulerFactory = Callable[[torch.optim.Optimizer], Any]


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_callbacks(args: TrainingArguments) -> list[TrainerCallback]:
    """HF's flow callback (log/eval/save at multiples of N and at the end), progress, loggers,
    and for the trackers in ``report_to`` transformers' integration callbacks (tracking.py)."""
    callbacks: list[TrainerCallback] = [DefaultFlowCallback(), ProgressCallback(show_bars=not args.disable_tqdm)]
    if "jsonl" in args.report_to:
        callbacks.append(JsonLinesLogger())
    return callbacks + tracking_callbacks(args)


class BaseTrainer:
    """Construction, callbacks, ``log`` and ``save_model`` of a trainer with HF's API."""

    # For `fgc check` (fgc/imports/argument_rules.py): the transformers.TrainingArguments fields
    # this trainer does not implement, reported at the config line when `args` is transformers'.
    FGC_UNSUPPORTED_ARGUMENTS = {"args": unimplemented_hf_fields()}

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        args: TrainingArguments | HFTrainingArguments | None = None,
        data_collator: Callable | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        *,
        model_init: Callable[[], torch.nn.Module] | None = None,
        compute_loss_func: Callable | None = None,
        callbacks: list[TrainerCallback] | None = None,
        optimizer_factory: OptimizerFactory | None = None,
        lr_scheduler_factory: LRSchedulerFactory | None = None,
        compute_metrics: Callable | None = None,
        preprocess_logits_for_metrics: Callable | None = None,
    ) -> None:
        if args is None:
            args = TrainingArguments()
        elif isinstance(args, HFTrainingArguments):
            args = TrainingArguments.from_hf(args)
        elif not isinstance(args, TrainingArguments):
            raise TypeError(f"args must be TrainingArguments, got {type(args).__name__}")
        self.args = args
        set_seed(args.seed)
        if model is None:
            if model_init is None:
                raise ValueError("Trainer needs a model or a model_init callable")
            model = model_init()
        elif model_init is not None:
            raise ValueError("pass either model or model_init to the Trainer, not both")
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"the model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.model_init = model_init
        self.processing_class = processing_class
        self.data_collator = data_collator or DataCollatorForCausalLM(processing_class)
        self.train_dataset = train_dataset
        self.eval_dataset = eval_dataset
        if args.label_smoothing_factor and compute_loss_func is not None:
            raise ValueError(
                "label_smoothing_factor and compute_loss_func were both given (transformers.Trainer would "
                "ignore the smoothing): smooth in your loss function, or drop compute_loss_func"
            )
        if args.label_smoothing_factor:  # transformers' LabelSmoother, as the loss every engine uses
            from ..loss import CausalLMLoss

            compute_loss_func = CausalLMLoss(label_smoothing=args.label_smoothing_factor)
        self.compute_loss_func = compute_loss_func
        self.compute_metrics = compute_metrics
        self.preprocess_logits_for_metrics = preprocess_logits_for_metrics
        self.optimizer_factory = optimizer_factory
        self.lr_scheduler_factory = lr_scheduler_factory
        self.optimizer: torch.optim.Optimizer | None = None
        self.lr_scheduler: Any = None

        self.state = TrainerState()
        self.control = TrainerControl()
        self.callback_handler = CallbackHandler(default_callbacks(args) + list(callbacks or []))
        self.callback_handler.model = model
        self.callback_handler.processing_class = processing_class
        self._post_init()
        self.control = self.fire("on_init_end")

    def _post_init(self) -> None:
        """Hook for subclasses: device placement, precision, compilation."""

    # ------------------------------------------------------------------------------- callbacks

    def add_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> None:
        self.callback_handler.add_callback(callback)

    def pop_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> TrainerCallback | None:
        return self.callback_handler.pop_callback(callback)

    def remove_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> None:
        self.callback_handler.remove_callback(callback)

    def fire(self, event: str, **extra: Any) -> TrainerControl:
        """Deliver ``event`` to the callbacks; the returned control replaces ``self.control``."""
        return self.callback_handler.fire(event, self.args, self.state, self.control, **extra)

    # --------------------------------------------------------------------------------- logging

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Record ``logs`` (plus epoch) in ``state.log_history`` and send them to ``on_log``."""
        if self.state.epoch is not None:
            logs["epoch"] = self.state.epoch
        self.state.log_history.append({**logs, "step": self.state.global_step})
        self.control = self.fire("on_log", logs=logs)

    def is_world_process_zero(self) -> bool:
        return self.args.process_index == 0

    def is_local_process_zero(self) -> bool:
        return self.args.local_process_index == 0

    # ---------------------------------------------------------------------------------- saving

    def save_model(self, output_dir: str | os.PathLike | None = None) -> Path:
        """Save the model and the processing class (tokenizer) into ``output_dir``.

        Only the main process writes; every process returns the path."""
        output_dir = Path(output_dir or self.args.output_dir)
        if not self.is_world_process_zero():
            return output_dir
        path = save_model_files(
            self.model,
            output_dir,
            tokenizer=self.processing_class,
            safe_serialization=self.args.save_safetensors,
        )
        logger.info("saved the model to %s", path)
        return path
