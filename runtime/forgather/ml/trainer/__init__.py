"""Forgather trainers: Hugging Face's Trainer API, token-weighted accumulation, exact resume.

Public API: ``Trainer``, ``TrainingArguments``, the parallel plans (``SingleDevice``,
``DataParallel``, ``FullyShard``, ``TensorParallel``, ``Pipeline``: how the Trainer lays the model over its processes) and the
shipped callbacks.
"""

from .arguments import TrainingArguments
from .base import BaseTrainer
from .callback_handler import CallbackHandler
from .callbacks import JsonLinesLogger, ProgressCallback, TensorBoardLogger, TextGenerationCallback
from .checkpoint import CheckpointError, CheckpointManager, latest_checkpoint, list_checkpoints
from .parallel import DataParallel, FullyShard, ParallelPlan, Pipeline, SingleDevice, TensorParallel
from .preemption import PreemptionCallback
from .trainer import Trainer
from .tracking import RunRecordCallback

__all__ = [
    "BaseTrainer",
    "CallbackHandler",
    "CheckpointError",
    "CheckpointManager",
    "DataParallel",
    "FullyShard",
    "JsonLinesLogger",
    "ParallelPlan",
    "Pipeline",
    "PreemptionCallback",
    "ProgressCallback",
    "RunRecordCallback",
    "SingleDevice",
    "TensorBoardLogger",
    "TensorParallel",
    "TextGenerationCallback",
    "Trainer",
    "TrainingArguments",
    "latest_checkpoint",
    "list_checkpoints",
]
