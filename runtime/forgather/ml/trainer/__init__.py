"""Forgather trainers: Hugging Face's Trainer API, token-weighted accumulation, exact resume.

Public API: ``Trainer``, ``TrainingArguments`` and the shipped callbacks.
"""

from .arguments import TrainingArguments
from .base import BaseTrainer
from .callback_handler import CallbackHandler
from .callbacks import JsonLinesLogger, ProgressCallback, TensorBoardLogger, TextGenerationCallback
from .checkpoint import CheckpointError, CheckpointManager, latest_checkpoint, list_checkpoints
from .preemption import PreemptionCallback
from .trainer import Trainer
from .tracking import RunRecordCallback

__all__ = [
    "BaseTrainer",
    "CallbackHandler",
    "CheckpointError",
    "CheckpointManager",
    "JsonLinesLogger",
    "PreemptionCallback",
    "ProgressCallback",
    "RunRecordCallback",
    "TensorBoardLogger",
    "TextGenerationCallback",
    "Trainer",
    "TrainingArguments",
    "latest_checkpoint",
    "list_checkpoints",
]
