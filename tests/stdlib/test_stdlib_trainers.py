"""stdlib/trainers: trainer.fg builds Forgather's Trainer, accel_trainer.fg the same Trainer with
the DataParallel plan (one block), hf_trainer.fg transformers' from the same fields; each takes the project's optimizer and schedule,
trains, and takes a child's amendments (arguments, callbacks added and removed by label). Built
from the same data and model, the templates train the same losses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

import forgather.ml.optim as fg_optim
import forgather.ml.trainer as fg_trainer
from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer.accelerate import AccelerateEngine
from forgather.ml.trainer.engine import SingleDeviceEngine
from stdlib_testlib import TRAINER_VARIABLES, build, trainer_experiment, write

TRAINERS = {
    "trainers/trainer.fg": (fg_trainer.Trainer, fg_trainer.TrainingArguments),
    "trainers/hf_trainer.fg": (transformers.Trainer, transformers.TrainingArguments),
    "trainers/accel_trainer.fg": (fg_trainer.Trainer, fg_trainer.TrainingArguments),
}
ENGINES = {"trainers/trainer.fg": SingleDeviceEngine, "trainers/accel_trainer.fg": AccelerateEngine}


def construct_trainer(tmp_path: Path, template: str, blocks: str = "", **variables):
    config = build(write(tmp_path, trainer_experiment(template, blocks)))
    torch.manual_seed(0)  # the model is initialised when it is built, before the trainer seeds
    return config.construct("trainer", output_dir=str(tmp_path / "out"), **{**TRAINER_VARIABLES, **variables})


def callback_types(trainer) -> list[type]:
    return [type(c) for c in trainer.callback_handler.callbacks]


@pytest.mark.parametrize("template", list(TRAINERS))
def test_trainer_template_builds_and_trains(template, tmp_path):
    trainer_cls, args_cls = TRAINERS[template]
    trainer = construct_trainer(tmp_path, template)
    assert type(trainer) is trainer_cls and type(trainer.args) is args_cls
    if template in ENGINES:  # the [parallel] block chose the engine
        assert type(trainer.engine) is ENGINES[template]
    args = trainer.args  # the fields the template documents, from its variables
    assert (args.output_dir, args.max_steps, args.per_device_train_batch_size, args.per_device_eval_batch_size) == (
        str(tmp_path / "out"), 4, 2, 4)
    assert (args.logging_steps, args.eval_steps, args.save_steps, args.save_total_limit, args.seed) == (1, 2, 2, 2, 42)
    assert fg_trainer.JsonLinesLogger in callback_types(trainer)
    trainer.train()
    assert trainer.state.global_step == 4
    optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # transformers wraps it
    assert type(optimizer) is fg_optim.AdamW  # optimizers/adamw.fg, under both trainers
    assert optimizer.param_groups[0]["initial_lr"] == 1.0e-3
    evaluations = [r["step"] for r in trainer.state.log_history if "eval_loss" in r]
    assert evaluations == [2, 4]
    assert sorted(p.name for p in (tmp_path / "out").glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert list((tmp_path / "out").rglob("trainer_logs.jsonl"))


def test_transformers_trainer_gets_document_starts(tmp_path):
    """transformers.Trainer would drop `document_starts` before the collator (remove_unused_columns):
    the collator must still restart the positions at each document."""
    trainer = construct_trainer(tmp_path, "trainers/hf_trainer.fg")
    dataset = trainer.train_dataset
    index = next(i for i in range(len(dataset)) if len(dataset[i]["document_starts"]) > 1)
    items = [dataset[index], dataset[index + 1]]
    batch = trainer.get_train_dataloader().collate_fn(items)
    expected = DataCollatorForCausalLM(trainer.processing_class)(items)
    assert torch.equal(batch["position_ids"], expected["position_ids"])
    assert not torch.equal(batch["position_ids"][0], torch.arange(batch["position_ids"].shape[1]))


@pytest.mark.parametrize("template", list(TRAINERS))
def test_child_removes_and_adds_callbacks_by_label(template, tmp_path):
    blocks = """\
[trainer_callbacks]
    == super()
    json_logs: ~
    tensorboard: !singleton:forgather.ml.trainer:TensorBoardLogger
"""
    types = callback_types(construct_trainer(tmp_path, template, blocks))
    assert fg_trainer.TensorBoardLogger in types and fg_trainer.JsonLinesLogger not in types


@pytest.mark.parametrize("template", list(TRAINERS))
def test_child_amends_the_arguments(template, tmp_path):
    blocks = "[trainer_args]\n    == super()\n    gradient_accumulation_steps: 3\n    save_strategy: \"no\"\n"
    args = construct_trainer(tmp_path, template, blocks).args
    assert args.gradient_accumulation_steps == 3 and str(getattr(args.save_strategy, "value", args.save_strategy)) == "no"
    assert args.max_steps == 4  # the rest is the template's


def test_both_templates_train_the_same_losses(tmp_path):
    """The same model, data, optimizer and schedule through either template: the logged training
    losses and learning rates agree step by step."""
    blocks = "[trainer_args]\n    == super()\n    train_sampling_strategy: sequential\n    eval_strategy: \"no\"\n"
    logs = {}
    for template in TRAINERS:
        trainer = construct_trainer(tmp_path / Path(template).stem, template, blocks, save_strategy="no")
        trainer.train()
        logs[template] = [(r["step"], r["loss"], r["learning_rate"]) for r in trainer.state.log_history if "loss" in r]
    ours, *others = logs.values()
    for theirs in others:
        assert [s for s, _, _ in ours] == [s for s, _, _ in theirs] == [1, 2, 3, 4]
        for (_, loss_a, lr_a), (_, loss_b, lr_b) in zip(ours, theirs):
            assert loss_a == pytest.approx(loss_b, rel=1e-4) and lr_a == pytest.approx(lr_b, rel=1e-6)
