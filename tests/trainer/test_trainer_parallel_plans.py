"""The one Trainer and its parallel plans: which engine a plan gives, the default by launch size,
the named trainers as thin configurations of the Trainer (no loop method overridden), and the
plans a launch would silently turn into something else, refused with a message."""

from __future__ import annotations

import inspect

import pytest

from forgather.ml.trainer import DataParallel, Pipeline, SingleDevice, Trainer, TrainingArguments
from forgather.ml.trainer.accelerate import AccelTrainer
from forgather.ml.trainer.parallel import resolve_plan
from forgather.ml.trainer.pipeline import PipelineTrainer


@pytest.mark.parametrize("world, plan", [(None, SingleDevice), ("1", SingleDevice), ("2", DataParallel)])
def test_default_plan_follows_the_launch(monkeypatch, world, plan):
    if world is None:
        monkeypatch.delenv("WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("WORLD_SIZE", world)
    assert type(resolve_plan(None)) is plan


def test_a_given_plan_is_kept_and_anything_else_refused():
    plan = Pipeline(schedule="GPipe", n_microbatches=2)
    assert resolve_plan(plan) is plan
    with pytest.raises(TypeError, match="parallel must be a plan of forgather.ml.trainer.parallel"):
        resolve_plan("fsdp")


def test_single_device_in_several_processes_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="parallel=SingleDevice\\(\\) but 2 processes were launched"):
        SingleDevice().create_engine(TrainingArguments())


def test_unknown_pipeline_schedule_fails_in_the_plan():
    with pytest.raises(ValueError, match="unknown pipeline schedule 'Fancy'"):
        Pipeline(schedule="Fancy")


# What the Trainer's loop consists of: a subclass that overrode one of these would fork the loop.
LOOP_METHODS = {name for name, member in vars(Trainer).items() if inspect.isfunction(member)} - {"__init__"}


@pytest.mark.parametrize("cls, configures", [(AccelTrainer, {"accelerator"}), (PipelineTrainer, set())])
def test_named_trainers_only_configure_the_trainer(cls, configures):
    own = {name for name in vars(cls) if not name.startswith("__")}
    assert own == configures
    assert not (set(vars(cls)) & LOOP_METHODS)
    assert cls.supports_multi_process and Trainer.supports_multi_process


def test_accel_trainer_refuses_a_second_plan():
    with pytest.raises(TypeError, match="pass parallel to Trainer instead"):
        AccelTrainer(parallel=SingleDevice())
