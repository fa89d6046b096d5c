"""transformers.Trainer's API in full (issue 20, part 1), each against transformers.Trainer itself
on the same model, data and arguments: compute_metrics, preprocess_logits_for_metrics, predict(),
evaluate() on a dict of eval sets, remove_unused_columns, label_smoothing_factor, eval_on_start,
optim names; and data_seed, gradient_checkpointing_kwargs, and schedules that get the Trainer's
computed total (by epochs, and extended on resume)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import transformers
from trainer_testlib import Recorder, StopAt, Subset, tiny_llama

import forgather.ml.trainer
from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.optim.schedulers import cosine_with_warmup

TRAINERS = {"ours": forgather.ml.trainer.Trainer, "hf": transformers.Trainer}


def hf_args(tmp_path, name, **options):
    defaults = dict(
        output_dir=str(tmp_path / name), per_device_train_batch_size=2, per_device_eval_batch_size=4,
        learning_rate=1e-3, train_sampling_strategy="sequential", report_to="none", disable_tqdm=True,
        use_cpu=True, remove_unused_columns=False, max_steps=4, save_strategy="no",
    )
    return transformers.TrainingArguments(**{**defaults, **options})


def token_accuracy(prediction) -> dict:
    """What a causal-LM compute_metrics computes: next-token accuracy over the labelled tokens."""
    preds, labels = prediction.predictions, prediction.label_ids
    if preds.ndim == 3:
        preds = preds.argmax(-1)
    preds, labels = preds[:, :-1], labels[:, 1:]
    mask = labels != -100
    return {"accuracy": float((preds[mask] == labels[mask]).mean()), "counted": np.int64(mask.sum())}


def argmax_logits(logits, labels):
    return logits.argmax(-1)


def both(tmp_path, tok, model, train, evaluation, *, compute_metrics=None, preprocess=None, recorder=False,
         collator=None, **options):
    """The same run under each trainer: {name: (trainer, recorder)}."""
    out = {}
    for name, cls in TRAINERS.items():
        rec = Recorder()
        trainer = cls(
            model=copy.deepcopy(model), args=hf_args(tmp_path, name, **options),
            data_collator=collator or DataCollatorForCausalLM(tok), train_dataset=train, eval_dataset=evaluation,
            processing_class=tok, callbacks=[rec], compute_metrics=compute_metrics,
            preprocess_logits_for_metrics=preprocess,
        )
        out[name] = (trainer, rec)
    return out


def assert_metrics_equal(ours: dict, hf: dict) -> None:
    timing = ("_runtime", "_per_second", "_preparation_time")  # clocks; transformers times its model setup
    ours = {k: v for k, v in ours.items() if not k.endswith(timing)}
    hf = {k: v for k, v in hf.items() if not k.endswith(timing)}
    assert set(ours) == set(hf)
    for key in ours:
        assert ours[key] == pytest.approx(hf[key], rel=1e-5, abs=1e-7), key


@pytest.mark.parametrize("preprocess", [None, argmax_logits], ids=["logits", "preprocessed"])
def test_compute_metrics_and_predict_match_transformers(preprocess, tmp_path, tok, train_blocks, eval_blocks):
    runs = both(tmp_path, tok, tiny_llama(len(tok)), Subset(train_blocks, 8), Subset(eval_blocks, 6),
                compute_metrics=token_accuracy, preprocess=preprocess)
    (ours, _), (hf, _) = runs["ours"], runs["hf"]
    assert_metrics_equal(ours.evaluate(), hf.evaluate())
    assert "eval_accuracy" in ours.evaluate() and "eval_counted" in ours.evaluate()
    a, b = ours.predict(Subset(eval_blocks, 6)), hf.predict(Subset(eval_blocks, 6))
    np.testing.assert_array_equal(a.label_ids, b.label_ids)
    if preprocess is None:
        np.testing.assert_allclose(a.predictions, b.predictions, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(a.predictions, b.predictions)
    assert_metrics_equal(a.metrics, b.metrics)
    assert set(a.metrics) >= {"test_loss", "test_accuracy"}


def test_metrics_during_training_are_logged_as_transformers_logs_them(tmp_path, tok, train_blocks, eval_blocks):
    runs = both(tmp_path, tok, tiny_llama(len(tok)), Subset(train_blocks, 8), Subset(eval_blocks, 6),
                compute_metrics=token_accuracy, preprocess=argmax_logits, eval_strategy="steps", eval_steps=2)
    for trainer, _ in runs.values():
        trainer.train()
    (ours, rec), (hf, hf_rec) = runs["ours"], runs["hf"]
    logged = [r for r in rec.logs if "eval_accuracy" in r]
    hf_logged = [r for r in hf_rec.logs if "eval_accuracy" in r]
    assert [r["step"] for r in logged] == [r["step"] for r in hf_logged] == [2, 4]
    for a, b in zip(logged, hf_logged):
        assert a["eval_accuracy"] == pytest.approx(b["eval_accuracy"], rel=1e-6)
    assert [e for e in rec.events if e[0] == "on_predict"] == []


def test_a_dict_of_eval_sets(tmp_path, tok, train_blocks, eval_blocks):
    """Each named set is evaluated with the prefix eval_<name> (it used to crash with KeyError 0)."""
    sets = {"head": Subset(eval_blocks, 4), "more": Subset(eval_blocks, 6)}
    runs = both(tmp_path, tok, tiny_llama(len(tok)), Subset(train_blocks, 8), sets,
                compute_metrics=token_accuracy, preprocess=argmax_logits, eval_strategy="steps", eval_steps=4,
                metric_for_best_model="eval_more_loss")
    for trainer, _ in runs.values():
        trainer.train()
    (ours, rec), (hf, hf_rec) = runs["ours"], runs["hf"]
    metrics, hf_metrics = ours.evaluate(), hf.evaluate()
    assert {"eval_head_loss", "eval_head_accuracy", "eval_more_loss", "eval_more_accuracy"} <= set(metrics)
    assert_metrics_equal(metrics, hf_metrics)
    assert_metrics_equal(ours.evaluate("head"), hf.evaluate("head"))
    assert [e for e in rec.events if e[0] == "on_evaluate"] == [e for e in hf_rec.events if e[0] == "on_evaluate"]
    assert ours.state.best_metric == pytest.approx(hf.state.best_metric, rel=1e-5)


def test_label_smoothing_matches_transformers(tmp_path, tok, train_blocks, eval_blocks):
    runs = both(tmp_path, tok, tiny_llama(len(tok)), Subset(train_blocks, 8), Subset(eval_blocks, 4),
                label_smoothing_factor=0.1, logging_steps=1)
    for trainer, _ in runs.values():
        trainer.train()
    (ours, rec), (hf, hf_rec) = runs["ours"], runs["hf"]
    losses = [r["loss"] for r in rec.logs if "loss" in r]
    hf_losses = [r["loss"] for r in hf_rec.logs if "loss" in r]
    assert losses == pytest.approx(hf_losses, rel=1e-4) and len(losses) == 4
    assert ours.evaluate()["eval_loss"] == pytest.approx(hf.evaluate()["eval_loss"], rel=1e-4)
    plain = both(tmp_path / "plain", tok, tiny_llama(len(tok)), Subset(train_blocks, 8), None)["ours"][0]
    batch = DataCollatorForCausalLM(tok)([train_blocks[0]])
    with torch.no_grad():
        smoothed = ours.compute_loss_func(ours.model(batch["input_ids"]).logits, batch["labels"])
        unsmoothed = plain.compute_loss_func
    assert unsmoothed is None and smoothed > 0


def test_label_smoothing_against_transformers_label_smoother():
    from transformers.trainer_pt_utils import LabelSmoother

    from forgather.ml.loss import causal_lm_loss

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 7, 11, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 11, (3, 7), generator=g)
    labels[0, :3] = -100
    ours = causal_lm_loss(logits, labels, label_smoothing=0.2)
    reference = LabelSmoother(epsilon=0.2)({"logits": logits}, labels, shift_labels=True)
    assert ours.item() == pytest.approx(reference.item(), rel=1e-6)


def test_remove_unused_columns_with_a_dataset_map_pipeline(tmp_path, tok):
    """A standard datasets pipeline keeps its `text` column; transformers' collator cannot batch it.
    Both trainers drop it (remove_unused_columns, the default) and train alike."""
    datasets = pytest.importorskip("datasets")
    texts = [f"def f{i}(x):\n    return x * {i} + {i * i}\n" for i in range(16)]
    raw = datasets.Dataset.from_dict({"text": texts})
    tokenized = raw.map(lambda e: tok(e["text"], truncation=True, max_length=24))
    assert "text" in tokenized.column_names
    collator = transformers.DataCollatorForLanguageModeling(tok, mlm=False)
    runs = both(tmp_path, tok, tiny_llama(len(tok)), tokenized, None, collator=collator,
                remove_unused_columns=True, logging_steps=1)
    for trainer, _ in runs.values():
        trainer.train()
    losses = [r["loss"] for r in runs["ours"][1].logs if "loss" in r]
    hf_losses = [r["loss"] for r in runs["hf"][1].logs if "loss" in r]
    assert losses == pytest.approx(hf_losses, rel=1e-4)


def test_remove_unused_columns_keeps_what_the_collator_reads(tmp_path, tok, train_blocks):
    """document_starts is not a forward parameter, but DataCollatorForCausalLM reads it: kept."""
    seen = []

    class Spy(DataCollatorForCausalLM):
        def __call__(self, features):
            seen.append(sorted(features[0]))
            return super().__call__(features)

    trainer = forgather.ml.trainer.Trainer(
        tiny_llama(len(tok)), hf_args(tmp_path, "spy", remove_unused_columns=True, max_steps=1),
        data_collator=Spy(tok), train_dataset=Subset(train_blocks, 4))
    trainer.train()
    assert seen[0] == ["document_starts", "input_ids"]


def test_eval_on_start(tmp_path, tok, train_blocks, eval_blocks):
    runs = both(tmp_path, tok, tiny_llama(len(tok)), Subset(train_blocks, 4), Subset(eval_blocks, 4),
                eval_on_start=True, max_steps=2)
    for trainer, _ in runs.values():
        trainer.train()
    ours, hf = runs["ours"][1].events, runs["hf"][1].events
    assert ours == hf
    assert ours.index(("on_evaluate", 0)) < ours.index(("on_step_begin", 0))


@pytest.mark.parametrize("optim", ["sgd", "adafactor", "adamw_torch"])
def test_optim_names_train_as_transformers(optim, tmp_path, tok, train_blocks):
    extra = {"optim_args": "momentum=0.9"} if optim == "sgd" else {}
    runs = both(tmp_path, tok, tiny_llama(len(tok)), Subset(train_blocks, 8), None, optim=optim,
                logging_steps=1, learning_rate=1e-2, **extra)
    for trainer, _ in runs.values():
        trainer.train()
    ours, hf = runs["ours"][0], runs["hf"][0]
    expected = {"sgd": "SGD", "adafactor": "Adafactor", "adamw_torch": "AdamW"}[optim]
    assert type(ours.optimizer).__name__ == expected
    if optim != "adamw_torch":
        assert type(ours.optimizer).__module__.startswith("forgather.ml.optim")  # the project's
    losses = [r["loss"] for r in runs["ours"][1].logs if "loss" in r]
    hf_losses = [r["loss"] for r in runs["hf"][1].logs if "loss" in r]
    assert losses == pytest.approx(hf_losses, rel=1e-4)
    for a, b in zip(ours.model.parameters(), hf.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("optim", ["galore_adamw", "apollo_adamw"])
def test_low_rank_optim_names_project_the_target_modules(optim, tmp_path, tok, train_blocks):
    trainer = forgather.ml.trainer.Trainer(
        tiny_llama(len(tok)), hf_args(tmp_path, optim, optim=optim, optim_target_modules=["q_proj", "v_proj"],
                                      optim_args="rank=4,update_proj_gap=2", max_steps=3),
        train_dataset=Subset(train_blocks, 6), data_collator=DataCollatorForCausalLM(tok))
    trainer.train()
    projected = [g for g in trainer.optimizer.param_groups if g.get("rank")]
    assert len(projected) == 1 and projected[0]["rank"] == 4 and len(projected[0]["params"]) == 4  # 2 layers x 2


def test_bad_optim_names_and_arguments(tmp_path):
    with pytest.raises(ValueError, match="optim='lion_8bit' is not supported"):
        forgather.ml.trainer.TrainingArguments(output_dir=str(tmp_path), optim="lion_8bit")
    trainer = forgather.ml.trainer.Trainer(torch.nn.Linear(2, 2), forgather.ml.trainer.TrainingArguments(
        output_dir=str(tmp_path), optim="sgd", optim_args="rank=3"))
    with pytest.raises(ValueError, match="rank mean nothing to optim='sgd'"):
        trainer.create_optimizer()


def test_an_optim_name_is_checked_at_compile_time(tmp_path):
    import fgc

    path = tmp_path / "exp.fg"
    path.write_text("main: !singleton:forgather.ml.trainer:TrainingArguments\n    optim: lion_8bit\n")
    (diagnostic,) = fgc.check(path)
    assert diagnostic.code == "FG0620" and diagnostic.span.line == 2 and "Literal['adamw_torch'" in diagnostic.message


def order_of_batches(tmp_path, tok, blocks, seed, data_seed):
    seen = []

    class Spy(DataCollatorForCausalLM):
        def __call__(self, features):
            seen.append(tuple(int(f["input_ids"][0]) for f in features))
            return super().__call__(features)

    args = forgather.ml.trainer.TrainingArguments(
        output_dir=str(tmp_path / f"{seed}-{data_seed}"), max_steps=3, per_device_train_batch_size=2,
        seed=seed, data_seed=data_seed, report_to="none", disable_tqdm=True, save_strategy="no")
    forgather.ml.trainer.Trainer(tiny_llama(len(tok)), args, data_collator=Spy(tok), train_dataset=blocks).train()
    return seen


def test_data_seed_alone_decides_the_data_order(tmp_path, tok, train_blocks):
    blocks = Subset(train_blocks, 40)
    a = order_of_batches(tmp_path, tok, blocks, seed=1, data_seed=7)
    assert order_of_batches(tmp_path, tok, blocks, seed=2, data_seed=7) == a  # the model's seed: no effect
    assert order_of_batches(tmp_path, tok, blocks, seed=1, data_seed=8) != a
    assert order_of_batches(tmp_path, tok, blocks, seed=7, data_seed=None) == a  # unset: seed


@pytest.mark.parametrize("field", ["gradient_checkpointing_kwargs", "activation_checkpointing_kwargs"])
def test_gradient_checkpointing_kwargs_reach_torch_checkpoint(field, tmp_path, tok, train_blocks):
    args = forgather.ml.trainer.TrainingArguments(
        output_dir=str(tmp_path), gradient_checkpointing=True, **{field: {"use_reentrant": True}},
        max_steps=2, report_to="none", disable_tqdm=True, save_strategy="no", per_device_train_batch_size=2)
    trainer = forgather.ml.trainer.Trainer(tiny_llama(len(tok)), args, data_collator=DataCollatorForCausalLM(tok),
                                           train_dataset=Subset(train_blocks, 4))
    func = trainer.model.model.layers[0]._gradient_checkpointing_func
    assert func.keywords == {"use_reentrant": True}
    trainer.train()


def test_our_models_take_the_checkpointing_kwargs(tmp_path):
    """The project's LayerStack checkpoints through the function transformers sets from the kwargs,
    and trains as without checkpointing."""
    from functools import partial

    from forgather.ml.models.attention import CausalSelfAttention
    from forgather.ml.models.causal_lm import CausalLM
    from forgather.ml.models.dynamic import dynamic_causal_lm
    from forgather.ml.models.feedforward import GLUFeedforward
    from forgather.ml.models.input_encoder import InputEncoder
    from forgather.ml.models.layer_stack import LayerStack
    from forgather.ml.models.layers import PreLNLayer
    from forgather.ml.models.norms import RMSNorm
    from forgather.ml.models.rotary_pe import RotaryPE

    def definition(vocab_size=64, d=16):
        return CausalLM(input_encoder_factory=partial(InputEncoder, d, vocab_size),
                        positional_encoder_factory=partial(RotaryPE, d, 2),
                        attention_factory=partial(CausalSelfAttention, d, 2),
                        feedforward_factory=partial(GLUFeedforward, d, 32), norm_factory=partial(RMSNorm, d),
                        layer_factory=PreLNLayer, layer_stack_factory=partial(LayerStack, num_layers=2))

    from trainer_testlib import RandomTokens

    def run(name, **options):
        torch.manual_seed(0)
        model = dynamic_causal_lm(definition, vocab_size=64, d=16)
        args = forgather.ml.trainer.TrainingArguments(
            output_dir=str(tmp_path / name), max_steps=3, per_device_train_batch_size=2, report_to="none",
            disable_tqdm=True, save_strategy="no", train_sampling_strategy="sequential", **options)
        trainer = forgather.ml.trainer.Trainer(model, args, train_dataset=RandomTokens(8))
        trainer.train()
        return trainer

    checkpointed = run("ckpt", gradient_checkpointing=True, gradient_checkpointing_kwargs={"use_reentrant": False,
                                                                                           "preserve_rng_state": False})
    func = checkpointed.model.model.layer_stack._gradient_checkpointing_func
    assert func.keywords == {"use_reentrant": False, "preserve_rng_state": False}
    plain = run("plain")
    for a, b in zip(plain.model.parameters(), checkpointed.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def schedule_run(tmp_path, tok, blocks, name, **options):
    args = forgather.ml.trainer.TrainingArguments(
        output_dir=str(tmp_path / name), per_device_train_batch_size=2, learning_rate=1e-2, report_to="none",
        disable_tqdm=True, logging_steps=1, train_sampling_strategy="sequential", **options)
    factory = lambda optimizer, **kw: cosine_with_warmup(optimizer, warmup_steps=2, min_lr_ratio=0.1, **kw)  # noqa: E731
    recorder = Recorder()
    trainer = forgather.ml.trainer.Trainer(tiny_llama(len(tok)), args, data_collator=DataCollatorForCausalLM(tok),
                                           train_dataset=blocks, lr_scheduler_factory=factory, callbacks=[recorder])
    return trainer, recorder


def test_training_by_epochs_gives_the_schedule_the_computed_total(tmp_path, tok, train_blocks):
    """max_steps=-1: the stdlib schedule used to get -1; it now decays over the epochs' steps."""
    trainer, recorder = schedule_run(tmp_path, tok, Subset(train_blocks, 8), "epochs", max_steps=-1,
                                     num_train_epochs=2, save_strategy="no")
    trainer.train()
    assert trainer.state.global_step == 8 and trainer.lr_scheduler.lr_lambdas[0].total_steps == 8
    lrs = [r["learning_rate"] for r in recorder.logs if "learning_rate" in r]
    assert lrs[-1] == pytest.approx(1e-2 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 5 / 6))), rel=1e-6)


def test_resuming_with_more_steps_extends_the_schedule(tmp_path, tok, train_blocks):
    """A finished 6-step run resumed with max_steps=12 decays to step 12 (it kept the old floor)."""
    blocks = Subset(train_blocks, 40)
    first, _ = schedule_run(tmp_path, tok, blocks, "run", max_steps=6, save_steps=6)
    first.train()
    assert first.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)  # the floor: 0.1 * 1e-2
    resumed, recorder = schedule_run(tmp_path, tok, blocks, "run", max_steps=12, save_steps=6)
    resumed.train(resume_from_checkpoint=True)
    fresh, fresh_recorder = schedule_run(tmp_path, tok, blocks, "fresh", max_steps=12, save_strategy="no")
    fresh.train()
    lrs = {r["step"]: r["learning_rate"] for r in recorder.logs if "learning_rate" in r}
    fresh_lrs = {r["step"]: r["learning_rate"] for r in fresh_recorder.logs if "learning_rate" in r}
    assert sorted(lrs) == list(range(7, 13))
    for step in lrs:
        assert lrs[step] == pytest.approx(fresh_lrs[step], rel=1e-9), step
    assert lrs[7] > 2e-3


def test_the_run_stops_on_a_stopped_schedule_position(tmp_path, tok, train_blocks):
    """Resuming with the same settings changes nothing in the schedule (bit-exact resume holds)."""
    blocks = Subset(train_blocks, 20)
    whole, whole_rec = schedule_run(tmp_path, tok, blocks, "whole", max_steps=8, save_strategy="no")
    whole.train()
    part, _ = schedule_run(tmp_path, tok, blocks, "part", max_steps=8, save_steps=4)
    part.add_callback(StopAt(4))
    part.train()
    rest, rest_rec = schedule_run(tmp_path, tok, blocks, "part", max_steps=8, save_steps=4)
    rest.train(resume_from_checkpoint=True)
    assert [r["learning_rate"] for r in rest_rec.logs if "learning_rate" in r] == [
        r["learning_rate"] for r in whole_rec.logs if "learning_rate" in r][4:]
