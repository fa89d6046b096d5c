"""Checkpoint layout, atomicity helpers, rotation, discovery, tied weights, weights-only loading."""

import random

import numpy as np
import pytest
import torch
from transformers import TrainerState
from trainer_testlib import RandomTokens, params_equal, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import Trainer, TrainingArguments
from forgather.ml.trainer.checkpoint import (
    CheckpointError,
    CheckpointManager,
    capture_rng_state,
    latest_checkpoint,
    list_checkpoints,
    restore_rng_state,
)


def fake_checkpoint(root, step):
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"")
    TrainerState(global_step=step).save_to_json(str(path / "trainer_state.json"))
    return path


ROTATION = [  # (existing steps, save_total_limit, best step, steps kept)
    ([1, 2, 3], None, None, [1, 2, 3]),
    ([1, 2, 3], 3, None, [1, 2, 3]),
    ([1, 2, 3, 4], 2, None, [3, 4]),
    ([1, 2, 3, 4], 1, None, [4]),
    ([1, 2, 3, 4], 2, 1, [1, 4]),
    ([1, 2, 3, 4], 1, 2, [2, 4]),  # never the best, never the newest: one over the limit
    ([1, 2, 3, 4], 1, 4, [4]),
    ([5, 10, 40, 100], 2, 10, [10, 100]),
]


@pytest.mark.parametrize("steps,limit,best,kept", ROTATION)
def test_rotation(tmp_path, steps, limit, best, kept):
    for step in steps:
        fake_checkpoint(tmp_path, step)
    manager = CheckpointManager(tmp_path, save_total_limit=limit)
    protect = {tmp_path / f"checkpoint-{best}"} if best else set()
    manager.rotate(protect=protect)
    assert [p.name for p in list_checkpoints(tmp_path)] == [f"checkpoint-{s}" for s in kept]


def test_discovery_orders_by_step_and_ignores_incomplete(tmp_path):
    for step in (9, 10, 2):
        fake_checkpoint(tmp_path, step)
    (tmp_path / "checkpoint-11").mkdir()  # no files: not a checkpoint
    (tmp_path / ".tmp-checkpoint-12-999").mkdir()  # an interrupted write
    (tmp_path / "checkpoint-x").mkdir()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-9", "checkpoint-10"]
    assert latest_checkpoint(tmp_path).name == "checkpoint-10"
    assert latest_checkpoint(tmp_path / "missing") is None


def test_resolve_errors(tmp_path):
    manager = CheckpointManager(tmp_path)
    with pytest.raises(CheckpointError, match="holds no checkpoint-<step> directory"):
        manager.resolve(True)
    with pytest.raises(CheckpointError, match="no such checkpoint directory"):
        manager.resolve(tmp_path / "nope")
    (tmp_path / "checkpoint-3").mkdir()
    with pytest.raises(CheckpointError, match="not a complete checkpoint"):
        manager.resolve(tmp_path / "checkpoint-3")


@pytest.mark.parametrize("safetensors", [True, False])
def test_tied_weights_round_trip(tmp_path, safetensors):
    model = tiny_llama(50, seed=4, tie=True)
    assert model.lm_head.weight is model.model.embed_tokens.weight
    optimizer = torch.optim.AdamW(model.parameters())
    model(input_ids=torch.arange(10)[None]).logits.sum().backward()
    optimizer.step()
    manager = CheckpointManager(tmp_path, save_safetensors=safetensors)
    path = manager.save(1, model=model, optimizer=optimizer, trainer_state=TrainerState(global_step=1))
    restored = tiny_llama(50, seed=5, tie=True)
    restored_opt = torch.optim.AdamW(restored.parameters())
    loaded = manager.load(path, model=restored, optimizer=restored_opt)
    assert params_equal(model, restored) == []
    assert restored.lm_head.weight is restored.model.embed_tokens.weight  # still tied
    assert loaded.trainer_state.global_step == 1
    assert torch.equal(restored_opt.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])


def test_loading_is_weights_only(tmp_path):
    """A pickle that would run code (here: build an arbitrary object) is refused."""
    model = tiny_llama(40)
    manager = CheckpointManager(tmp_path)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    path = manager.save(1, model=model, optimizer=optimizer, trainer_state=TrainerState(global_step=1))
    torch.save({"state": {}, "param_groups": [], "payload": random.Random(0)}, path / "optimizer.pt")
    with pytest.raises(CheckpointError, match="checkpoint-1: cannot restore: UnpicklingError"):
        manager.load(path, model=model, optimizer=optimizer)


def test_mismatched_model_is_a_clear_error(tmp_path):
    manager = CheckpointManager(tmp_path)
    path = manager.save(1, model=tiny_llama(40), trainer_state=TrainerState(global_step=1))
    with pytest.raises(CheckpointError, match="checkpoint-1: cannot restore"):
        manager.load(path, model=tiny_llama(41))


def test_rng_state_round_trip():
    state = capture_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(3))
    restore_rng_state(state)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[:2] == second[:2] and torch.equal(first[2], second[2])


def small_trainer(output_dir, **overrides):
    options = dict(output_dir=str(output_dir), max_steps=6, per_device_train_batch_size=8,
                   learning_rate=5e-3, save_steps=2, logging_steps=2, disable_tqdm=True)
    options.update(overrides)
    data = RandomTokens(40)
    return Trainer(tiny_llama(64, seed=3), TrainingArguments(**options),
                   data_collator=DataCollatorForCausalLM(pad_token_id=0), train_dataset=data,
                   eval_dataset=data)


def test_trainer_checkpoint_layout(tmp_path):
    small_trainer(tmp_path, save_total_limit=2).train()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-4", "checkpoint-6"]
    files = sorted(p.name for p in (tmp_path / "checkpoint-6").iterdir())
    assert files == ["data_state.pt", "model.safetensors", "optimizer.pt", "rng_state.pt",
                     "scheduler.pt", "trainer_state.json"]
    state = TrainerState.load_from_json(str(tmp_path / "checkpoint-6" / "trainer_state.json"))
    assert state.global_step == 6 and [r["step"] for r in state.log_history if "loss" in r] == [2, 4, 6]
    data = torch.load(tmp_path / "checkpoint-6" / "data_state.pt", weights_only=True)
    assert data == {"epoch": 1, "batches_seen": 1}  # 5 batches per epoch: step 6 is epoch 1, batch 1


def test_best_checkpoint_survives_rotation_and_is_loaded(tmp_path):
    # Evaluated on its own training data the loss falls, so greater_is_better makes the first
    # evaluation the best one.
    trainer = small_trainer(tmp_path, eval_strategy="steps", eval_steps=2, save_total_limit=1,
                            load_best_model_at_end=True, greater_is_better=True)
    trainer.train()
    assert trainer.state.best_global_step == 2
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-6"]
    best = tiny_llama(64, seed=8)
    CheckpointManager(tmp_path).load(tmp_path / "checkpoint-2", model=best)
    assert params_equal(trainer.model, best) == []


def test_existing_checkpoints_need_resume_or_overwrite(tmp_path):
    small_trainer(tmp_path, max_steps=2).train()
    with pytest.raises(ValueError, match="already holds checkpoints .*resume_from_checkpoint=True.*overwrite_output_dir=True"):
        small_trainer(tmp_path, max_steps=2).train()
    small_trainer(tmp_path, max_steps=4, overwrite_output_dir=True, save_steps=4).train()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-4"]


def test_before_commit_sees_the_complete_checkpoint_before_it_is_in_place(tmp_path):
    """`before_commit` runs with every file in the temporary directory and nothing at the final
    name; an exception from it leaves no checkpoint and no temporary directory."""
    seen = {}

    def look(directory):
        seen["files"] = sorted(p.name for p in directory.iterdir())
        seen["final exists"] = (tmp_path / "checkpoint-3").exists()

    model = torch.nn.Linear(2, 2)
    manager = CheckpointManager(tmp_path)
    manager.save(3, model=model, trainer_state=TrainerState(global_step=3), before_commit=look)
    assert seen == {"files": ["model.safetensors", "rng_state.pt", "trainer_state.json"], "final exists": False}
    assert (tmp_path / "checkpoint-3" / "trainer_state.json").is_file()

    def fail(directory):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        manager.save(4, model=model, trainer_state=TrainerState(global_step=4), before_commit=fail)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-3"]
