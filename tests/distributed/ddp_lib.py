"""What the data-parallel tests and their workers share: a tiny model, data, a training run.

A worker (one of several torchrun processes) and the single-process reference in the test call
the same `train` with the same model, data and seed; only the trainer class and the batch size
per process differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM, TrainerCallback

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import TrainingArguments

VOCAB = 48


def tiny_model(seed: int = 0) -> LlamaForCausalLM:
    """A one-layer Llama of about 4,300 parameters."""
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return LlamaForCausalLM(config)


class RandomTokens(torch.utils.data.Dataset):
    """Seeded token sequences of very different lengths (so processes hold different token counts)."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        lengths = torch.randint(3, 20, (n,), generator=g)
        self.items = [torch.randint(1, VOCAB, (int(n),), generator=g) for n in lengths]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return {"input_ids": self.items[i]}


class TokenStream(torch.utils.data.IterableDataset):
    """The first ``n`` items of ``RandomTokens(64, seed=1)`` as a stream: no length."""

    def __init__(self, n: int) -> None:
        self.items = RandomTokens(64, seed=1).items[:n]

    def __iter__(self):
        return ({"input_ids": item} for item in self.items)


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True


def train(trainer_class, out: Path, *, batch: int, ga: int, steps: int, stop_at: int | None = None,
          resume: bool = False, save_steps: int | None = None, arguments: dict | None = None,
          stream: int | None = None, **extra):
    """Train the tiny model for ``steps`` steps with SGD (smooth in the gradients); return the trainer.
    ``arguments`` adds or replaces TrainingArguments fields, ``extra`` trainer keywords;
    ``stream``: train on the first ``stream`` samples as an iterable dataset."""
    fields = dict(
        output_dir=str(out), max_steps=steps, per_device_train_batch_size=batch, per_device_eval_batch_size=3,
        gradient_accumulation_steps=ga, logging_steps=1, max_grad_norm=1.0, seed=7, disable_tqdm=True,
        save_strategy="steps" if save_steps else "no", save_steps=save_steps or 500, eval_strategy="no",
        lr_scheduler_type="linear", report_to="jsonl",
    )
    args = TrainingArguments(**{**fields, **(arguments or {})})
    callbacks = [StopAt(stop_at)] if stop_at else []
    trainer = trainer_class(
        tiny_model(), args, data_collator=DataCollatorForCausalLM(pad_token_id=0),
        train_dataset=TokenStream(stream) if stream else RandomTokens(64, seed=1),
        eval_dataset=RandomTokens(13, seed=2), callbacks=callbacks,
        optimizer_factory=lambda named: torch.optim.SGD([p for _, p in named], lr=0.5, momentum=0.5),
        **extra,
    )
    trainer.train(resume_from_checkpoint=True if resume else None)
    return trainer


def losses(trainer) -> list[float]:
    return [r["loss"] for r in trainer.state.log_history if "loss" in r]


def write_result(trainer, out: Path, rank: int, extra: dict | None = None) -> None:
    """Each process's final weights; the main process's losses and eval metrics."""
    torch.save({k: v.detach().clone() for k, v in trainer.model.state_dict().items()}, out / f"weights_{rank}.pt")
    record = {"losses": losses(trainer), "eval": trainer.evaluate(), **(extra or {})}
    (out / f"result_{rank}.json").write_text(json.dumps(record))
