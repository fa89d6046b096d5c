"""Drive ``transformers.TrainerCallback`` objects with HF's ``TrainerState`` / ``TrainerControl``.

The protocol is Hugging Face's: every event is called as ``callback.on_X(args, state, control,
model=..., processing_class=..., optimizer=..., lr_scheduler=..., train_dataloader=...,
eval_dataloader=..., **extra)``; a callback that returns a control object replaces the current
one. Before an event reaches the callbacks, the flags that HF resets for it are cleared (the
table below), so HF's own callbacks (DefaultFlowCallback, EarlyStoppingCallback,
ProgressCallback, PrinterCallback, ...) behave exactly as under ``transformers.Trainer``.
"""

from __future__ import annotations

import logging
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState

logger = logging.getLogger(__name__)

EVENTS = (
    "on_init_end",
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_step_begin",
    "on_pre_optimizer_step",
    "on_optimizer_step",
    "on_substep_end",
    "on_step_end",
    "on_evaluate",
    "on_predict",
    "on_save",
    "on_log",
    "on_prediction_step",
    # Forgather's own: a checkpoint's files are complete in a temporary directory, before it is
    # renamed into place (`checkpoint_dir=`); HF callbacks do not define it and are not called.
    "on_checkpoint_written",
)

# Flags cleared before the event is delivered (TrainerControl's reset rules).
_RESETS = {
    "on_train_begin": ("should_training_stop",),
    "on_epoch_begin": ("should_epoch_stop",),
    "on_step_begin": ("should_log", "should_evaluate", "should_save"),
    "on_evaluate": ("should_evaluate",),
    "on_save": ("should_save",),
    "on_log": ("should_log",),
}


class CallbackHandler:
    """An ordered list of callbacks plus the objects every event passes to them."""

    def __init__(self, callbacks: list[Any] | None = None) -> None:
        self.callbacks: list[TrainerCallback] = []
        for callback in callbacks or []:
            self.add_callback(callback)
        self.model = None
        self.processing_class = None
        self.optimizer = None
        self.lr_scheduler = None
        self.train_dataloader = None
        self.eval_dataloader = None

    def add_callback(self, callback: TrainerCallback | type[TrainerCallback]) -> None:
        instance = callback() if isinstance(callback, type) else callback
        if not any(callable(getattr(instance, e, None)) for e in EVENTS):
            raise TypeError(
                f"{type(instance).__name__} is not a trainer callback: it has none of the methods "
                "on_init_end, on_train_begin, ..., on_log (subclass transformers.TrainerCallback)"
            )
        if any(type(c) is type(instance) for c in self.callbacks):
            logger.warning("adding a second %s to the trainer's callbacks", type(instance).__name__)
        self.callbacks.append(instance)

    def pop_callback(self, callback: TrainerCallback | type) -> TrainerCallback | None:
        """Remove and return the first callback that is ``callback`` (or an instance of that class)."""
        for existing in self.callbacks:
            if existing is callback or (isinstance(callback, type) and isinstance(existing, callback)):
                self.callbacks.remove(existing)
                return existing
        return None

    def remove_callback(self, callback: TrainerCallback | type) -> None:
        self.pop_callback(callback)

    def fire(
        self, event: str, args: Any, state: TrainerState, control: TrainerControl, **extra: Any
    ) -> TrainerControl:
        """Deliver ``event`` to every callback, in order; returns the (possibly replaced) control."""
        for flag in _RESETS.get(event, ()):
            setattr(control, flag, False)
        for callback in self.callbacks:
            method = getattr(callback, event, None)  # protocol-style callbacks may omit events
            if method is None:
                continue
            result = method(
                args,
                state,
                control,
                model=self.model,
                processing_class=self.processing_class,
                optimizer=self.optimizer,
                lr_scheduler=self.lr_scheduler,
                train_dataloader=self.train_dataloader,
                eval_dataloader=self.eval_dataloader,
                **extra,
            )
            if result is not None:
                control = result
        return control

    @property
    def callback_list(self) -> str:
        return "\n".join(type(c).__name__ for c in self.callbacks)
