"""TrainingArguments: Hugging Face's names and defaults, clear errors for bad input."""

import dataclasses
import inspect

import pytest
import transformers

from forgather.ml.trainer import TrainingArguments
from forgather.ml.trainer.arguments import MEMORY_FIELDS

REQUIRED_BY_ISSUE = """output_dir logging_dir overwrite_output_dir per_device_train_batch_size
per_device_eval_batch_size gradient_accumulation_steps max_steps num_train_epochs logging_steps
logging_first_step eval_strategy eval_steps save_strategy save_steps save_total_limit
save_safetensors seed max_grad_norm learning_rate weight_decay warmup_steps lr_scheduler_type bf16
fp16 torch_compile gradient_checkpointing dataloader_num_workers dataloader_drop_last
resume_from_checkpoint disable_tqdm report_to""".split()

# Fields transformers v5 dropped; they keep their v4 meaning here.
NOT_IN_HF_V5 = {"logging_dir", "overwrite_output_dir", "save_safetensors"}


def test_every_required_field_exists():
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    assert set(REQUIRED_BY_ISSUE) <= names


def test_defaults_are_huggingface_defaults():
    ours, theirs = TrainingArguments(), transformers.TrainingArguments()
    for field in dataclasses.fields(TrainingArguments):
        if field.name in NOT_IN_HF_V5 | set(MEMORY_FIELDS):
            assert not hasattr(theirs, field.name)
            continue
        expected = getattr(theirs, field.name)
        expected = getattr(expected, "value", expected)  # HF enums
        assert getattr(ours, field.name) == expected, field.name


def test_signature_lists_every_field():
    """fgc binds config arguments against this signature at compile time."""
    params = inspect.signature(TrainingArguments).parameters
    assert list(params) == [f.name for f in dataclasses.fields(TrainingArguments)]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"lerning_rate": 1e-3}, "unknown field 'lerning_rate'; did you mean 'learning_rate'?"),
        ({"gradient_accumulation": 2}, "did you mean 'gradient_accumulation_steps'?"),
        ({"zzz": 1}, "unknown field 'zzz'"),
    ],
)
def test_unknown_field(kwargs, message):
    with pytest.raises(TypeError, match=message.replace("?", r"\?").replace("(", r"\(")):
        TrainingArguments(**kwargs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"eval_strategy": "step"}, "eval_strategy='step' is not supported; choose one of 'no', 'steps', 'epoch'"),
        ({"save_strategy": "always"}, "save_strategy='always' is not supported"),
        ({"lr_scheduler_type": "cosine_magic"}, "lr_scheduler_type='cosine_magic' is not supported"),
        ({"train_sampling_strategy": "group_by_length"}, "train_sampling_strategy='group_by_length'"),
        ({"per_device_train_batch_size": 0}, "per_device_train_batch_size must be >= 1"),
        ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps must be >= 1"),
        ({"logging_steps": 0}, "logging_steps must be a positive integer or a ratio"),
        ({"save_steps": 2.5}, "save_steps must be a positive integer or a ratio"),
        ({"max_steps": 0}, "set max_steps > 0 or num_train_epochs > 0"),
        ({"num_train_epochs": 0}, "set max_steps > 0 or num_train_epochs > 0"),
        ({"warmup_steps": 1.5}, "warmup_steps must be a step count or a ratio"),
        ({"bf16": True, "fp16": True}, "at most one of bf16 and fp16"),
        ({"save_total_limit": 0}, "save_total_limit must be >= 1"),
        ({"report_to": "comet_ml"}, "report_to='comet_ml' is not supported"),
        ({"load_best_model_at_end": True, "eval_strategy": "steps", "save_strategy": "epoch"},
         "needs save_strategy == eval_strategy"),
        ({"load_best_model_at_end": True, "eval_strategy": "steps", "eval_steps": 3, "save_steps": 4},
         "save_steps to be a multiple of eval_steps"),
        ({"save_strategy": "best"}, "save_strategy='best' needs metric_for_best_model"),
    ],
)
def test_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainingArguments(**kwargs)


def test_derived_values():
    args = TrainingArguments(output_dir="o", eval_strategy="steps", logging_steps=7,
                             load_best_model_at_end=True, save_steps=14, report_to="all")
    assert args.eval_steps == 7
    assert args.metric_for_best_model == "loss" and args.greater_is_better is False
    assert args.report_to == ["tensorboard", "jsonl"]
    assert args.logging_dir.startswith("o/runs/")
    assert TrainingArguments(metric_for_best_model="accuracy").greater_is_better is True
    assert TrainingArguments(warmup_steps=0.1).warmup_steps_for(50) == 5
    assert TrainingArguments(warmup_steps=3).warmup_steps_for(50) == 3


def test_from_huggingface_arguments():
    hf = transformers.TrainingArguments(
        output_dir="x", learning_rate=3e-4, gradient_accumulation_steps=4, eval_strategy="steps",
        eval_steps=20, save_strategy="no", lr_scheduler_type="cosine", report_to=["tensorboard", "comet_ml"],
        bf16=True, use_cpu=True,
    )
    ours = TrainingArguments.from_hf(hf)
    assert (ours.output_dir, ours.learning_rate, ours.gradient_accumulation_steps) == ("x", 3e-4, 4)
    assert (ours.eval_strategy, ours.eval_steps, ours.save_strategy) == ("steps", 20, "no")
    assert ours.lr_scheduler_type == "cosine" and ours.bf16 and ours.use_cpu
    assert ours.report_to == ["tensorboard"]  # comet_ml is not supported here: dropped
