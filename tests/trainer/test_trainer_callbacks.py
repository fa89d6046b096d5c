"""The callback handler's protocol, the shipped callbacks, and HF's own callbacks under our Trainer."""

import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from transformers import (
    EarlyStoppingCallback,
    PrinterCallback,
    ProgressCallback as HFProgressCallback,
    TrainerCallback,
    TrainerControl,
    TrainerState,
)
from transformers.integrations import TensorBoardCallback
from trainer_testlib import RandomTokens, Subset, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import (
    CallbackHandler,
    JsonLinesLogger,
    ProgressCallback,
    TensorBoardLogger,
    TextGenerationCallback,
    Trainer,
    TrainingArguments,
)

ALL_FLAGS = ("should_training_stop", "should_epoch_stop", "should_save", "should_evaluate", "should_log")
RESETS = {  # event -> flags HF clears before delivering it
    "on_init_end": (),
    "on_train_begin": ("should_training_stop",),
    "on_epoch_begin": ("should_epoch_stop",),
    "on_step_begin": ("should_log", "should_evaluate", "should_save"),
    "on_substep_end": (),
    "on_pre_optimizer_step": (),
    "on_optimizer_step": (),
    "on_step_end": (),
    "on_evaluate": ("should_evaluate",),
    "on_save": ("should_save",),
    "on_log": ("should_log",),
    "on_epoch_end": (),
    "on_train_end": (),
    "on_prediction_step": (),
}


class Seen(TrainerCallback):
    def __init__(self):
        self.flags = None
        self.kwargs = None

    def on_step_begin(self, args, state, control, **kwargs):
        self.flags, self.kwargs = dict(vars(control)), kwargs


@pytest.mark.parametrize("event,cleared", sorted(RESETS.items()))
def test_flag_resets_follow_huggingface(event, cleared):
    class Probe(TrainerCallback):
        pass

    flags = {}

    def probe(self, args, state, control, **kwargs):
        flags.update(vars(control))

    setattr(Probe, event, probe)
    handler = CallbackHandler([Probe()])
    control = TrainerControl(**{f: True for f in ALL_FLAGS})
    extra = {"metrics": {}} if event == "on_evaluate" else {"logs": {}} if event == "on_log" else {}
    handler.fire(event, None, TrainerState(), control, **extra)
    assert {f for f, v in flags.items() if not v} == set(cleared)


def test_returned_control_replaces_the_current_one_and_kwargs_are_passed():
    replacement = TrainerControl(should_training_stop=True)

    class Replace(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            return replacement

    seen = Seen()
    handler = CallbackHandler([Replace(), seen])
    handler.model, handler.optimizer = "model", "optimizer"
    result = handler.fire("on_step_begin", None, TrainerState(), TrainerControl())
    assert result is replacement and seen.flags["should_training_stop"] is True
    assert seen.kwargs["model"] == "model" and seen.kwargs["optimizer"] == "optimizer"
    assert set(seen.kwargs) == {"model", "processing_class", "optimizer", "lr_scheduler",
                                "train_dataloader", "eval_dataloader"}


def test_protocol_style_callbacks_and_bad_callbacks():
    class OnlyLog:  # not a TrainerCallback subclass, implements one event
        def __init__(self):
            self.logs = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.logs.append(logs)

    only = OnlyLog()
    handler = CallbackHandler([only])
    handler.fire("on_step_end", None, TrainerState(), TrainerControl())
    handler.fire("on_log", None, TrainerState(), TrainerControl(), logs={"loss": 1.0})
    assert only.logs == [{"loss": 1.0}]
    with pytest.raises(TypeError, match="str is not a trainer callback"):
        handler.add_callback("progress")


def test_add_pop_remove(tmp_path):
    trainer = make_trainer(tmp_path, callbacks=[PrinterCallback])
    printer = trainer.pop_callback(PrinterCallback)
    assert isinstance(printer, PrinterCallback) and trainer.pop_callback(PrinterCallback) is None
    trainer.add_callback(printer)
    trainer.remove_callback(printer)
    assert not any(isinstance(c, PrinterCallback) for c in trainer.callback_handler.callbacks)
    assert isinstance(trainer.pop_callback(ProgressCallback), ProgressCallback)


def make_trainer(tmp_path, *, callbacks=(), data=None, eval_data=None, tokenizer=None, **overrides):
    options = dict(output_dir=str(tmp_path), max_steps=4, per_device_train_batch_size=4,
                   learning_rate=1e-3, logging_steps=2, save_strategy="no", disable_tqdm=True)
    options.update(overrides)
    vocab = len(tokenizer) if tokenizer is not None else 64
    return Trainer(tiny_llama(vocab), TrainingArguments(**options),
                   data_collator=DataCollatorForCausalLM(tokenizer, pad_token_id=0),
                   train_dataset=data or RandomTokens(16), eval_dataset=eval_data,
                   processing_class=tokenizer, callbacks=list(callbacks))


def test_json_lines_logger(tmp_path):
    trainer = make_trainer(tmp_path, callbacks=[JsonLinesLogger(config_name="tiny", seed_note=3)],
                           eval_data=RandomTokens(8, seed=4), eval_strategy="steps", eval_steps=2)
    trainer.train()
    lines = (tmp_path / "runs").glob("*/trainer_logs.jsonl")
    records = [json.loads(line) for line in next(lines).read_text().splitlines()]
    assert records[0]["event"] == "train_begin" and records[0]["config_name"] == "tiny"
    assert records[0]["args"]["max_steps"] == 4 and records[0]["seed_note"] == 3
    assert [r["global_step"] for r in records if "loss" in r] == [2, 4]
    assert [r["global_step"] for r in records if "eval_loss" in r] == [2, 4]
    assert records[-1]["event"] == "train_end"


def test_json_lines_logger_keeps_the_evaluation_after_training(tmp_path):
    """TrainingScript evaluates once after train(): that record is appended too (fgc sweep reads
    a run's final eval loss from this file)."""
    trainer = make_trainer(tmp_path, callbacks=[JsonLinesLogger()], eval_data=RandomTokens(8, seed=4))
    trainer.train()
    metrics = trainer.evaluate()
    (logs,) = (tmp_path / "runs").glob("*/trainer_logs.jsonl")
    records = [json.loads(line) for line in logs.read_text().splitlines()]
    assert [r["event"] for r in records[-2:]] == ["train_end", "log"]
    assert records[-1]["eval_loss"] == pytest.approx(metrics["eval_loss"], rel=1e-12)


def test_report_to_creates_both_loggers(tmp_path):
    trainer = make_trainer(tmp_path, report_to="all", logging_dir=str(tmp_path / "logs"))
    # tensorboard is transformers' own TensorBoardCallback, writing into our logging_dir
    assert {type(c) for c in trainer.callback_handler.callbacks} >= {JsonLinesLogger, TensorBoardCallback}
    trainer.train()
    assert (tmp_path / "logs" / "trainer_logs.jsonl").is_file()
    accumulator = EventAccumulator(str(tmp_path / "logs"))
    accumulator.Reload()
    assert [e.step for e in accumulator.Scalars("train/loss")] == [2, 4]


def test_tensorboard_logger_writes_zeros_and_perplexity(tmp_path):
    logger = TensorBoardLogger(log_dir=tmp_path / "tb", experiment="x")
    args, control = TrainingArguments(output_dir=str(tmp_path)), TrainerControl()
    logger.on_train_begin(args, TrainerState(), control)
    logger.on_log(args, TrainerState(global_step=3), control, logs={"loss": 0.0, "eval_loss": 2.0, "note": "s"})
    logger.on_train_end(args, TrainerState(global_step=3), control)
    accumulator = EventAccumulator(str(tmp_path / "tb"))
    accumulator.Reload()
    assert [(e.step, e.value) for e in accumulator.Scalars("train/loss")] == [(3, 0.0)]
    assert accumulator.Scalars("eval/perplexity")[0].value == pytest.approx(torch.e**2, rel=1e-6)
    assert "note" not in str(accumulator.Tags()["scalars"])


def test_text_generation_samples_are_recorded_and_leave_the_rng_alone(tmp_path, tok, train_blocks):
    callback = TextGenerationCallback(["def main(", "import "], max_new_tokens=6, seed=1)
    trainer = make_trainer(tmp_path, callbacks=[callback], data=Subset(train_blocks, 16),
                           eval_data=Subset(train_blocks, 4), tokenizer=tok, eval_strategy="steps", eval_steps=2)
    trainer.train()
    assert [(s["global_step"], s["prompt"]) for s in callback.samples] == [
        (2, "def main("), (2, "import "), (4, "def main("), (4, "import ")]
    assert all(isinstance(s["text"], str) for s in callback.samples)
    files = list((tmp_path / "runs").glob("*/samples.jsonl"))
    assert len(files[0].read_text().splitlines()) == 4

    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    again = callback.generate(trainer.model, tok, seed=5)
    assert torch.equal(torch.rand(3), expected)  # generation did not consume the global RNG
    assert again == callback.generate(trainer.model, tok, seed=5)  # and is reproducible


def test_huggingface_early_stopping_stops_training(tmp_path):
    # On its own training data the eval loss falls; greater_is_better turns that into
    # "no improvement", so patience 1 stops training at the second evaluation.
    data = RandomTokens(16)
    trainer = make_trainer(tmp_path, callbacks=[EarlyStoppingCallback(early_stopping_patience=1)],
                           data=data, eval_data=data, max_steps=10, eval_strategy="steps", eval_steps=1,
                           metric_for_best_model="loss", greater_is_better=True, learning_rate=5e-3)
    trainer.train()
    assert trainer.state.global_step == 2


def test_huggingface_printer_and_progress_callbacks(tmp_path, capsys):
    trainer = make_trainer(tmp_path, callbacks=[PrinterCallback(), HFProgressCallback()])
    trainer.pop_callback(ProgressCallback)
    trainer.train()
    out = capsys.readouterr()
    assert "'loss'" in out.out and "train_runtime" in out.out  # PrinterCallback's dicts


def test_our_progress_callback_prints_log_lines(tmp_path, capsys):
    make_trainer(tmp_path).train()
    out = capsys.readouterr().out
    assert "step 2 | loss " in out and "step 4 | train_runtime" in out
