"""trainer_logs.jsonl's `train_begin` record states the optimizer and the schedule the run built,
not the TrainingArguments defaults that an optimizer_factory leaves unused (learning_rate 5e-05,
a linear schedule)."""

import functools
import json

import torch
from trainer_testlib import RandomTokens, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.optim.schedulers import cosine_with_warmup
from forgather.ml.trainer import JsonLinesLogger, Trainer, TrainingArguments


def train_begin(tmp_path, **factories) -> dict:
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=4,
        logging_steps=1,
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = Trainer(
        tiny_llama(64),
        args,
        data_collator=DataCollatorForCausalLM(None, pad_token_id=0),
        train_dataset=RandomTokens(8),
        callbacks=[JsonLinesLogger()],
        **factories,
    )
    trainer.train()
    (logs,) = (tmp_path / "runs").glob("*/trainer_logs.jsonl")
    return json.loads(logs.read_text().splitlines()[0])


def test_the_factories_the_config_gave(tmp_path):
    record = train_begin(
        tmp_path,
        optimizer_factory=lambda named: torch.optim.SGD([p for _, p in named], lr=0.05, momentum=0.9),
        lr_scheduler_factory=functools.partial(cosine_with_warmup, warmup_steps=1, total_steps=2, min_lr_ratio=0.1),
    )
    assert record["event"] == "train_begin"
    optimizer = record["optimizer"]
    assert optimizer["class"] == "torch.optim.sgd.SGD"
    (group,) = optimizer["param_groups"]
    assert group["initial_lr"] == 0.05 and group["momentum"] == 0.9 and group["parameters"] > 0
    schedule = record["lr_scheduler"]
    assert schedule["class"] == "torch.optim.lr_scheduler.LambdaLR"
    assert schedule["lr_lambda"].endswith("WarmupDecay")
    assert schedule["arguments"] == {"warmup_steps": 1, "total_steps": 2, "decay": "cosine", "min_lr_ratio": 0.1}
    for unused in ("learning_rate", "lr_scheduler_type", "warmup_steps", "adam_beta1", "weight_decay"):
        assert unused not in record["args"], unused
    assert record["args"]["max_steps"] == 2


def test_the_optimizer_built_from_the_arguments(tmp_path):
    record = train_begin(tmp_path)
    groups = record["optimizer"]["param_groups"]  # with and without weight decay
    assert record["optimizer"]["class"].endswith("AdamW") and {g["initial_lr"] for g in groups} == {5e-05}
    assert "learning_rate" not in record["args"]  # stated once, by what was built
