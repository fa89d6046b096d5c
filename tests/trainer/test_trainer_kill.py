"""SIGKILL while a checkpoint is being written: the previous checkpoint still loads and resumes.

A child process trains with checkpoints every 3 steps; a callback stalls inside the write of
checkpoint-6 (`on_checkpoint_written`: every file written, before the rename) and the test kills
it there. Resuming
from what is left must give the same weights as an uninterrupted run.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from trainer_testlib import RandomTokens, params_equal, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import Trainer, TrainingArguments
from forgather.ml.trainer.checkpoint import is_checkpoint, list_checkpoints

CHILD = """
import sys, time
from pathlib import Path
import torch
torch.set_num_threads({threads})  # the parent's count: another intra-op split could change the last bits
sys.path.insert(0, {here!r})
from transformers import TrainerCallback
from trainer_testlib import RandomTokens, tiny_llama
from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import Trainer, TrainingArguments

class Stall(TrainerCallback):
    def on_checkpoint_written(self, args, state, control, checkpoint_dir, **kwargs):
        if state.global_step == 6:
            Path({marker!r}).write_text(str(checkpoint_dir))
            time.sleep(3600)  # the test kills the process here

args = TrainingArguments(**{args!r})
Trainer(tiny_llama(64, seed=3, dropout=0.1), args, data_collator=DataCollatorForCausalLM(pad_token_id=0),
        train_dataset=RandomTokens(40), callbacks=[Stall()]).train()
"""


def arguments(output_dir):
    return dict(output_dir=str(output_dir), max_steps=9, per_device_train_batch_size=4,
                learning_rate=1e-2, save_steps=3, logging_steps=3, disable_tqdm=True, seed=11)


def train(output_dir, **extra):
    trainer = Trainer(tiny_llama(64, seed=3, dropout=0.1), TrainingArguments(**arguments(output_dir)),
                      data_collator=DataCollatorForCausalLM(pad_token_id=0), train_dataset=RandomTokens(40))
    trainer.train(**extra)
    return trainer


def test_sigkill_during_checkpoint_write(tmp_path):
    out = tmp_path / "run"
    marker = tmp_path / "writing-checkpoint-6"
    script = CHILD.format(here=str(Path(__file__).parent), args=arguments(out), marker=str(marker),
                          threads=torch.get_num_threads())
    log = tmp_path / "child.log"
    with open(log, "wb") as sink:  # a file, not a pipe: a full pipe could block the child
        child = subprocess.Popen([sys.executable, "-c", script], stdout=sink, stderr=sink)
    try:
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"the child exited early:\n{log.read_text()}")
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    # The interrupted write left a temporary directory, never a partial checkpoint-6.
    assert [p.name for p in list_checkpoints(out)] == ["checkpoint-3"]
    assert not (out / "checkpoint-6").exists()
    leftovers = [p for p in out.iterdir() if p.name.startswith(".tmp-checkpoint-6")]
    assert leftovers and (leftovers[0] / "model.safetensors").is_file()
    assert is_checkpoint(out / "checkpoint-3")

    resumed = train(out, resume_from_checkpoint=True)
    assert resumed.state.global_step == 9
    assert not any(p.name.startswith(".tmp-") for p in out.iterdir())  # cleaned by the next save
    reference = train(tmp_path / "reference")
    assert params_equal(resumed.model, reference.model) == []
