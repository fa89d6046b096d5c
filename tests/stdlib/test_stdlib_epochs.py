"""The template library's project trained by epochs (issue 20): `max_steps=-1` with
`num_train_epochs` used to stop at the stdlib schedule's `invalid warmup_steps -1`; the schedule
now decays over the steps the epochs make."""

from __future__ import annotations

import math

import torch

from stdlib_testlib import build, tiny_project, write

EPOCHS = """
#--- exp.trainer ---
-- extends 'trainers/trainer.fg'
[trainer_args]
    == super()
    num_train_epochs: 0.05
"""


def test_training_by_epochs(tmp_path):
    path = write(tmp_path, tiny_project("[trainer]\n    -- include 'exp.trainer'\n", subtemplates=EPOCHS))
    torch.manual_seed(0)
    script = build(path).construct("main", output_dir=str(tmp_path / "run"), max_steps=-1, eval_strategy="no",
                                   save_strategy="no")
    script.do_eval = False
    script.run()
    trainer = script.trainer
    steps = trainer.state.global_step
    assert steps == math.ceil(0.05 * math.ceil(len(trainer.train_dataset) / 4)) and steps > 2
    schedule = trainer.lr_scheduler.lr_lambdas[0]
    assert schedule.total_steps == steps and schedule.warmup_steps == 2  # the tiny knobs' warm-up
    assert trainer.lr_scheduler.get_last_lr()[0] == trainer.optimizer.param_groups[0]["initial_lr"] * 0.1
