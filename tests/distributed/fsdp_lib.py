"""What the fully sharded tests and their workers share: a tiny Forgather model (the pipeline
tests' exportable package), ragged token rows, and one training run that a torchrun worker (the
Trainer with parallel=FullyShard()) and the single-process reference (the plain Trainer) both
call, with only the plan and the batch size per process differing."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from pipeline_testlib import TokenRows, build_model, write_package  # noqa: E402,F401

from forgather.ml.data import DataCollatorForCausalLM  # noqa: E402
from forgather.ml.optim import APOLLO, Adafactor, AdamW, GaLoreAdamW  # noqa: E402
from forgather.ml.trainer import Trainer, TrainingArguments  # noqa: E402

OPTIMIZERS = {
    "sgd": lambda named: torch.optim.SGD([p for _, p in named], lr=0.5, momentum=0.5),
    "adafactor": lambda named: Adafactor([p for _, p in named], lr=1e-2, relative_step=False, weight_decay=0.01),
    "adamw": lambda named: AdamW([p for _, p in named], lr=1e-2, weight_decay=0.01),
    "galore": lambda named: GaLoreAdamW(named, lr=1e-2, rank=2),
    "apollo": lambda named: APOLLO(named, lr=1e-2, rank=2),
}


class StopAt:
    """A callback that stops training after `step` (as an interruption would)."""

    def __init__(self, step: int) -> None:
        from transformers import TrainerCallback

        class _Stop(TrainerCallback):
            def on_step_end(inner, args, state, control, **kwargs):
                if state.global_step >= step:
                    control.should_training_stop = True

        self.callback = _Stop()


def train(root: Path, output_dir: Path, *, parallel=None, batch: int, ga: int = 1, steps: int,
          save_steps: int | None = None, stop_at: int | None = None, resume=None, optimizer: str = "sgd",
          model=None) -> Trainer:
    """Train the tiny model (built from seed 0 unless ``model`` is given); return the trainer."""
    args = TrainingArguments(
        output_dir=str(output_dir), max_steps=steps, per_device_train_batch_size=batch, per_device_eval_batch_size=3,
        gradient_accumulation_steps=ga, logging_steps=1, max_grad_norm=1.0, seed=7, disable_tqdm=True,
        save_strategy="steps" if save_steps else "no", save_steps=save_steps or 500, eval_strategy="no",
        lr_scheduler_type="linear", use_cpu=True,
    )
    trainer = Trainer(
        model if model is not None else build_model(root), args, data_collator=DataCollatorForCausalLM(pad_token_id=0),
        train_dataset=TokenRows(24, ragged=True), eval_dataset=TokenRows(13, seed=7, ragged=True),
        callbacks=[StopAt(stop_at).callback] if stop_at else [], optimizer_factory=OPTIMIZERS[optimizer],
        parallel=parallel,
    )
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def losses(trainer) -> list[float]:
    return [r["loss"] for r in trainer.state.log_history if "loss" in r]
