"""Our Trainer against transformers.Trainer on the same run: one line differs, the trainer class.

A recording HF callback must see the same events with the same step numbers, and with the same
sequential data order and optimizer the logged losses must agree. The same holds at the config
level: `configs/fg_trainer.fg` and `configs/hf_trainer.fg` differ in one tag and are compiled by fgc.
"""

import copy
import re
from pathlib import Path

import pytest
import torch
import transformers
from trainer_testlib import Recorder, Subset, tiny_llama

import forgather.ml.trainer
from forgather.ml.data import DataCollatorForCausalLM

CONFIGS = Path(__file__).parent / "configs"

SCENARIOS = {
    # GA with an epoch boundary inside the run, eval, save and log on different cadences
    "steps": dict(max_steps=7, gradient_accumulation_steps=2, logging_steps=2, eval_strategy="steps",
                  eval_steps=3, save_steps=4, train_items=20),
    # epochs whose batch count is not a multiple of GA (a short last step per epoch)
    "epochs": dict(num_train_epochs=2, gradient_accumulation_steps=2, logging_steps=1,
                   eval_strategy="epoch", save_strategy="epoch", logging_strategy="steps", train_items=10),
    # logging_first_step, no eval set
    "no_eval": dict(max_steps=5, logging_steps=3, logging_first_step=True, save_steps=5, train_items=12),
}


def run(trainer_cls, scenario, tmp_path, model, train_blocks, eval_blocks, tok):
    options = dict(SCENARIOS[scenario])
    train = Subset(train_blocks, options.pop("train_items"))
    evaluation = Subset(eval_blocks, 6) if options.get("eval_strategy", "no") != "no" else None
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / trainer_cls.__module__),
        per_device_train_batch_size=2, per_device_eval_batch_size=4, learning_rate=1e-3,
        train_sampling_strategy="sequential", report_to="none", disable_tqdm=True, use_cpu=True,
        remove_unused_columns=False,  # HF would drop `document_starts` before our collator
        **options,
    )
    recorder = Recorder()
    trainer = trainer_cls(
        model=model, args=args, data_collator=DataCollatorForCausalLM(tok),
        train_dataset=train, eval_dataset=evaluation, processing_class=tok, callbacks=[recorder],
    )
    trainer.train()
    return recorder, trainer


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_same_events_and_losses_as_transformers_trainer(scenario, tmp_path, train_blocks, eval_blocks, tok):
    model = tiny_llama(len(tok))
    ours, ours_trainer = run(forgather.ml.trainer.Trainer, scenario, tmp_path, copy.deepcopy(model),
                             train_blocks, eval_blocks, tok)
    hf, hf_trainer = run(transformers.Trainer, scenario, tmp_path, copy.deepcopy(model),
                         train_blocks, eval_blocks, tok)
    assert ours.events == hf.events
    assert {"on_step_begin", "on_optimizer_step", "on_log"} <= {e for e, _ in ours.events}

    train_logs = [(r["step"], r["loss"]) for r in ours.logs if "loss" in r]
    hf_train_logs = [(r["step"], r["loss"]) for r in hf.logs if "loss" in r]
    assert [s for s, _ in train_logs] == [s for s, _ in hf_train_logs]
    for (_, a), (_, b) in zip(train_logs, hf_train_logs):
        assert a == pytest.approx(b, rel=1e-4)
    for a, b in zip(ours_trainer.model.parameters(), hf_trainer.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_configs_differ_by_one_tag():
    """The config pair the integrator compiles: identical but for the trainer's tag."""
    ours = (CONFIGS / "fg_trainer.fg").read_text().splitlines()
    hf = (CONFIGS / "hf_trainer.fg").read_text().splitlines()
    assert len(ours) == len(hf)
    diff = [(a, b) for a, b in zip(ours, hf) if a != b]
    assert len(diff) == 1
    assert "!singleton:forgather.ml.trainer:Trainer" in diff[0][0]
    assert "!singleton:transformers:Trainer" in diff[0][1]


@pytest.mark.parametrize("name", ["fg_trainer.fg", "hf_trainer.fg"])
def test_config_callables_exist(name):
    """Every `module:Attr` the configs name imports (the compiler will resolve them the same way)."""
    import importlib

    specs = re.findall(r"!(?:singleton|partial|factory):([\w.]+):([\w.]+)", (CONFIGS / name).read_text())
    assert specs
    for module, attr in specs:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        assert callable(obj), f"{module}:{attr}"


@pytest.mark.slow  # compiles and trains two configs in process
def test_config_level_swap_with_fgc(tmp_path):
    """Compile both configs with fgc, build each `trainer` target, record the events of a run."""
    import fgc

    events = {}
    for name in ("fg_trainer.fg", "hf_trainer.fg"):
        module = fgc.load(fgc.compile(CONFIGS / name, tmp_path / f"build-{name}").dir)
        trainer = module.construct("trainer", output_dir=str(tmp_path / f"out-{name}"), max_files=6, max_steps=10)
        recorder = Recorder()
        trainer.add_callback(recorder)
        trainer.train()
        events[name] = recorder.events
    assert type(trainer).__module__.startswith("transformers")
    assert events["fg_trainer.fg"] == events["hf_trainer.fg"]
    steps = [s for e, s in events["fg_trainer.fg"] if e in ("on_evaluate", "on_save")]
    assert steps == [10, 10]
