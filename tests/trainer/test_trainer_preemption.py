"""PreemptionCallback in one process, with our Trainer and transformers.Trainer: a signal or an
`fgc ctl` request (a file in the run directory) saves a checkpoint at the end of the step, also
with save_strategy="no", and a stop ends training there; TrainingScript raises RunStopped and
evaluates once at the end. (Several processes and the launcher: tests/runs/test_runs_jobs.py.)"""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch
import transformers
from transformers import TrainerCallback
from trainer_testlib import RandomTokens, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import PreemptionCallback, Trainer, TrainingArguments
from forgather.ml.trainer.preemption import _decision
from forgather.ml.training_script import TrainingScript
from forgather_files.checkpoints import is_checkpoint
from forgather_files.runs import RunStopped


class Kill(TrainerCallback):
    """Sends this process `sig` at the end of step `step` (as a scheduler or a user would)."""

    def __init__(self, step: int, sig: int) -> None:
        self.step, self.sig = step, sig

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), self.sig)


def ours(tmp_path, callbacks=(), **overrides):
    options = dict(output_dir=str(tmp_path), max_steps=6, per_device_train_batch_size=4, learning_rate=1e-3,
                   logging_steps=1, save_strategy="no", disable_tqdm=True, report_to="none")
    options.update(overrides)
    return Trainer(tiny_llama(64), TrainingArguments(**options), data_collator=DataCollatorForCausalLM(None, pad_token_id=0),
                   train_dataset=RandomTokens(32), callbacks=list(callbacks))


def hf(tmp_path, callbacks=()):
    args = transformers.TrainingArguments(output_dir=str(tmp_path), max_steps=6, per_device_train_batch_size=4,
                                          logging_steps=1, save_strategy="no", report_to="none",
                                          disable_tqdm=True, use_cpu=True)
    return transformers.Trainer(model=tiny_llama(64), args=args, train_dataset=RandomTokens(32),
                                data_collator=DataCollatorForCausalLM(None, pad_token_id=0), callbacks=list(callbacks))


def request(run_dir, action, rid=1):
    (run_dir / ".fgc").mkdir(parents=True, exist_ok=True)
    (run_dir / ".fgc" / "control.json").write_text(json.dumps({"id": rid, "action": action}))


@pytest.mark.parametrize("make", [ours, hf], ids=["forgather", "transformers"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1])
def test_a_signal_stops_after_the_step_with_a_checkpoint(tmp_path, make, sig, monkeypatch):
    monkeypatch.delenv("FGC_RUN_DIR", raising=False)
    stopper = PreemptionCallback()
    previous = signal.getsignal(sig)
    trainer = make(tmp_path, [Kill(2, sig), stopper])
    trainer.train()
    assert trainer.state.global_step == 2
    assert is_checkpoint(tmp_path / "checkpoint-2") and not (tmp_path / "checkpoint-3").exists()
    assert isinstance(stopper.stopped, RunStopped)
    assert (stopper.stopped.step, stopper.stopped.signal) == (2, int(sig))
    assert stopper.stopped.reason == signal.Signals(sig).name
    note = json.loads((tmp_path / ".fgc" / "stop.json").read_text())
    assert (note["step"], note["checkpoint"], note["signal"]) == (2, str(tmp_path / "checkpoint-2"), int(sig))
    # stopped: the flag-only handler stays, so that a late copy of the signal changes nothing
    assert signal.getsignal(sig) != previous
    signal.signal(sig, previous)


@pytest.mark.parametrize("make", [ours, hf], ids=["forgather", "transformers"])
def test_a_save_request_saves_at_the_next_step_end_and_training_goes_on(tmp_path, make, monkeypatch):
    monkeypatch.delenv("FGC_RUN_DIR", raising=False)
    request(tmp_path, "save")
    stopper = PreemptionCallback()
    trainer = make(tmp_path, [stopper])
    trainer.train()
    assert trainer.state.global_step == 6 and stopper.stopped is None
    assert is_checkpoint(tmp_path / "checkpoint-1")  # save_strategy="no": only the request's
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-1"]
    done = json.loads((tmp_path / ".fgc" / "control-done.json").read_text())
    assert (done["id"], done["action"], done["step"]) == (1, "save", 1)
    # handled once: a new training in the same directory does not act on it again
    again = make(tmp_path / "x", [PreemptionCallback(run_dir=tmp_path)])
    again.train()
    assert not list((tmp_path / "x").glob("checkpoint-*"))


def test_a_stop_request_and_check_every(tmp_path, monkeypatch):
    monkeypatch.setenv("FGC_RUN_DIR", str(tmp_path / "run"))
    request(tmp_path / "run", "stop", rid=3)
    stopper = PreemptionCallback(check_every=4)
    trainer = ours(tmp_path / "out", [stopper])
    trainer.train()
    assert trainer.state.global_step == 4  # the ranks agree every 4 steps
    assert is_checkpoint(tmp_path / "out" / "checkpoint-4")
    assert stopper.stopped.reason == "fgc ctl stop" and stopper.stopped.signal is None
    done = json.loads((tmp_path / "run" / ".fgc" / "control-done.json").read_text())
    assert (done["id"], done["action"], done["step"]) == (3, "stop", 4)
    assert json.loads((tmp_path / "run" / ".fgc" / "stop.json").read_text())["reason"] == "fgc ctl stop"


def test_resume_after_a_stop_equals_the_uninterrupted_run(tmp_path, monkeypatch):
    monkeypatch.delenv("FGC_RUN_DIR", raising=False)
    straight = ours(tmp_path / "a")
    straight.train()
    stopped = ours(tmp_path / "b", [Kill(3, signal.SIGTERM), PreemptionCallback()])
    stopped.train()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    resumed = ours(tmp_path / "b", [PreemptionCallback()])
    resumed.train(resume_from_checkpoint=True)
    assert resumed.state.global_step == 6
    for (name, a), b in zip(straight.model.named_parameters(), resumed.model.parameters()):
        assert torch.equal(a, b), name


def test_a_second_ctrl_c_aborts_a_process_that_runs_alone():
    alone = PreemptionCallback(abort_on_second_interrupt=True)
    alone._on_signal(signal.SIGINT, None)
    assert alone.requested() == signal.SIGINT
    with pytest.raises(KeyboardInterrupt):
        alone._on_signal(signal.SIGINT, None)
    launched = PreemptionCallback(abort_on_second_interrupt=False)  # under torchrun: the launcher aborts
    launched._on_signal(signal.SIGINT, None)
    launched._on_signal(signal.SIGINT, None)
    assert launched.requested() == signal.SIGINT


@pytest.mark.parametrize(
    "rows, action, reason, ranks, request_id",
    [
        ([[1, 0, 2], [0, 0, 0]], 1, "fgc ctl save", [], 1),  # rank 0 read request #1 (save)
        ([[2, 0, 5], [0, 0, 0]], 2, "fgc ctl stop", [], 2),  # request #2 (stop)
        ([[0, 0, 0], [2, 15, 0]], 2, "SIGTERM on rank 1", [1], 0),  # a signal on rank 1 only
        ([[1, 0, 2], [2, 10, 0]], 2, "SIGUSR1 on rank 1", [1], 1),  # a stop beats a save
        ([[2, 2, 0], [2, 15, 0], [0, 0, 0]], 2, "SIGINT on rank 0", [0, 1], 0),
    ],
)
def test_what_the_ranks_agree_on(rows, action, reason, ranks, request_id):
    agreed = _decision(rows)
    assert (agreed["action"], agreed["reason"], agreed["ranks"], agreed["request"]) == (action, reason, ranks, request_id)


def test_training_script_raises_run_stopped_and_skips_the_end(tmp_path, monkeypatch):
    monkeypatch.delenv("FGC_RUN_DIR", raising=False)
    trainer = ours(tmp_path, [Kill(2, signal.SIGTERM)], eval_strategy="no")
    trainer.eval_dataset = RandomTokens(8, seed=3)
    with pytest.raises(RunStopped) as stopped:
        TrainingScript(trainer, build_dir=None).run()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    assert stopped.value.step == 2 and stopped.value.checkpoint == str(tmp_path / "checkpoint-2")
    assert not (tmp_path / "model.safetensors").exists() and not (tmp_path / "loss.png").exists()


def test_training_script_evaluates_once_at_the_end(tmp_path, monkeypatch):
    """eval_strategy steps ending at the last step: the loop evaluated there, the script reuses it."""
    monkeypatch.delenv("FGC_RUN_DIR", raising=False)
    trainer = ours(tmp_path, eval_strategy="steps", eval_steps=3)
    trainer.eval_dataset = RandomTokens(8, seed=3)
    result = TrainingScript(trainer, build_dir=None, do_save=False, do_plot=False).run()
    evals = [r for r in trainer.state.log_history if "eval_loss" in r]
    assert [r["step"] for r in evals] == [3, 6]
    assert result["eval_metrics"]["eval_loss"] == evals[-1]["eval_loss"]


def test_training_script_says_when_a_resume_had_nothing_left(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("FGC_RUN_DIR", raising=False)
    ours(tmp_path, save_strategy="steps", save_steps=6).train()
    result = TrainingScript(ours(tmp_path, save_strategy="steps", save_steps=6), build_dir=None, do_save=False,
                            do_plot=False, resume_from_checkpoint=True).run()
    assert result["train_metrics"] == {} and result["nothing_trained"] == 6
    assert "nothing left to train (resumed at its last step, 6)" in capsys.readouterr().out
