"""PipelineTrainer's argument errors, each with a message that says what to change, in a
one-process gloo group (real torch.distributed, world size 1)."""

from __future__ import annotations

import pytest
import torch.distributed as dist

from forgather.ml.trainer import TrainingArguments
from forgather.ml.trainer.pipeline import PipelineTrainer
from pipeline_testlib import TokenRows, build_model, free_port


@pytest.fixture
def one_process_group(monkeypatch):
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"),
                        ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(free_port()))):
        monkeypatch.setenv(name, value)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def make(tmp_path, args=None, **kwargs):
    return PipelineTrainer(
        model_init=lambda: build_model(tmp_path),
        args=TrainingArguments(output_dir=str(tmp_path / "out"), use_cpu=True, disable_tqdm=True,
                               **(args or {})),
        train_dataset=TokenRows(8),
        **kwargs,
    )


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ({"per_device_train_batch_size": 6}, {"n_microbatches": 4}, "per_device_train_batch_size=6 is not a multiple of n_microbatches=4"),
        ({"per_device_eval_batch_size": 3}, {"n_microbatches": 2}, "per_device_eval_batch_size=3 is not a multiple"),
        ({}, {"schedule": "1F1B", "stages_per_rank": 2}, "cannot run stages_per_rank=2"),
        ({}, {"schedule": "Interleaved1F1B", "stages_per_rank": 0}, "cannot run stages_per_rank=0"),
        ({}, {"n_microbatches": 0}, "n_microbatches must be >= 1"),
        ({"fp16": True}, {}, "fp16=True is not supported"),
        ({"torch_compile": True}, {}, "torch_compile=True is not supported"),
        ({}, {"schedule": "GPipe", "split_points": [1]}, r"give 0 split points"),
    ],
)
def test_bad_arguments_are_explained(tmp_path, one_process_group, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(tmp_path, args, **kwargs)


@pytest.mark.parametrize("launched", [True, False])
def test_one_process_pipeline_trains(tmp_path, one_process_group, monkeypatch, launched):
    """World size 1: one stage holding the whole model (the degenerate pipeline) trains, under
    torchrun's environment or without it (`fgc run BUILD` without --nproc)."""
    if not launched:
        for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
            monkeypatch.delenv(name)
    trainer = make(tmp_path, {"max_steps": 2, "per_device_train_batch_size": 4, "save_strategy": "no"},
                   schedule="GPipe", n_microbatches=2)
    assert trainer.engine.stage_ids == [0] and trainer.supports_multi_process
    output = trainer.train()
    assert output.global_step == 2 and 0 < output.training_loss < 10


def test_one_process_runs_several_stages(tmp_path, one_process_group):
    """A multi-stage schedule on one rank: every stage local, the tied embedding one tensor."""
    model = build_model(tmp_path, tie=True)
    trainer = PipelineTrainer(
        model=model,
        args=TrainingArguments(output_dir=str(tmp_path / "out"), use_cpu=True, disable_tqdm=True, max_steps=2,
                               per_device_train_batch_size=4, save_strategy="no"),
        train_dataset=TokenRows(8), schedule="Interleaved1F1B", n_microbatches=2)
    assert trainer.engine.stage_ids == [0, 1]
    assert trainer.engine._shared_groups == []  # both holders of the tied weight are here
    assert trainer.train().global_step == 2
    assert model.model.output_head.weight is model.model.input_encoder.embedding.weight
