"""Training behaviour: learning, schedules, epochs, precision, compile, factories, saving."""

import copy
import logging

import pytest
import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
from trainer_testlib import RandomTokens, Recorder, Subset, params_equal, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import Trainer, TrainingArguments

COLLATE = DataCollatorForCausalLM(pad_token_id=0)


def trainer_for(tmp_path, model=None, *, data=None, eval_data=None, callbacks=(), **overrides):
    options = dict(output_dir=str(tmp_path), max_steps=4, per_device_train_batch_size=4,
                   learning_rate=1e-3, logging_steps=2, save_strategy="no", disable_tqdm=True)
    options.update(overrides)
    return Trainer(model if model is not None else tiny_llama(64), TrainingArguments(**options),
                   data_collator=COLLATE, train_dataset=data if data is not None else RandomTokens(16),
                   eval_dataset=eval_data, callbacks=list(callbacks))


# The "done when" criterion: a tiny LM trains on the local corpus and its eval loss falls by at
# least MARGIN nats (from ~ln(384) = 5.95 at initialisation).
MARGIN = 1.0


def test_tiny_lm_learns_the_stdlib_corpus(tmp_path, tok, train_blocks, eval_blocks):
    model = tiny_llama(len(tok), seed=0)
    trainer = Trainer(
        model,
        TrainingArguments(output_dir=str(tmp_path), max_steps=120, per_device_train_batch_size=8,
                          per_device_eval_batch_size=32, learning_rate=5e-3, warmup_steps=10,
                          lr_scheduler_type="cosine", logging_steps=40, eval_strategy="steps",
                          eval_steps=60, save_strategy="no", disable_tqdm=True),
        data_collator=DataCollatorForCausalLM(tok), train_dataset=train_blocks,
        eval_dataset=Subset(eval_blocks, 96), processing_class=tok,
    )
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    evals = [r["eval_loss"] for r in trainer.state.log_history if "eval_loss" in r]
    assert evals[-2] == after  # evaluate() after train() sees the trained model, not a rebuilt one
    assert before - after >= MARGIN, f"eval loss {before:.3f} -> {after:.3f}"


SCHEDULES = [  # (max_steps, logging, eval, save, first_step) -> (log steps, eval steps, save steps)
    ((10, 3, 4, 5, False), ([3, 6, 9], [4, 8, 10], [5, 10])),
    ((7, 2, 7, 3, False), ([2, 4, 6], [7], [3, 6, 7])),
    ((6, 6, 2, 6, True), ([1, 6], [2, 4, 6], [6])),
    ((5, 10, 10, 10, False), ([], [5], [5])),
]


@pytest.mark.parametrize("setup,expected", SCHEDULES)
def test_log_eval_save_at_multiples_of_n_and_at_the_end(tmp_path, setup, expected):
    max_steps, logging, evaluation, save, first = setup
    recorder = Recorder()
    trainer_for(tmp_path, eval_data=RandomTokens(4, seed=1), callbacks=[recorder], max_steps=max_steps,
                logging_steps=logging, logging_first_step=first, eval_strategy="steps",
                eval_steps=evaluation, save_strategy="steps", save_steps=save).train()
    train_logs = [r["step"] for r in recorder.logs if "loss" in r]
    evals = [s for e, s in recorder.events if e == "on_evaluate"]
    saves = [s for e, s in recorder.events if e == "on_save"]
    assert (train_logs, evals, saves) == expected
    assert [s for s, r in zip(*[[r["step"] for r in recorder.logs], recorder.logs]) if "train_loss" in r] == [max_steps]


def test_training_without_an_eval_set(tmp_path, caplog):
    recorder = Recorder()
    trainer = trainer_for(tmp_path, callbacks=[recorder], eval_strategy="steps", eval_steps=1)
    with caplog.at_level(logging.WARNING):
        trainer.train()
    assert trainer.state.global_step == 4
    assert not any(e == "on_evaluate" for e, _ in recorder.events)
    assert "no eval_dataset" in caplog.text
    with pytest.raises(ValueError, match="evaluate\\(\\) needs an eval_dataset"):
        trainer.evaluate()
    trainer_for(tmp_path / "plain").train()  # the default: eval_strategy="no"


@pytest.mark.parametrize("epochs,steps", [(2, 6), (1.5, 5), (1, 3)])
def test_num_train_epochs(tmp_path, epochs, steps):
    # 20 samples / batch 4 = 5 batches per epoch; accumulation 2 -> 3 steps (the last one short).
    recorder = Recorder()
    trainer = trainer_for(tmp_path, data=RandomTokens(20), callbacks=[recorder], max_steps=-1,
                          num_train_epochs=epochs, gradient_accumulation_steps=2)
    trainer.train()
    assert trainer.state.global_step == steps
    assert [e for e, _ in recorder.events].count("on_epoch_begin") == -(-steps // 3)
    assert [e for e, _ in recorder.events].count("on_substep_end") == steps - steps // 3


def test_bf16_autocast_on_cpu(tmp_path):
    seen = []

    def loss_func(outputs, labels, num_items_in_batch=None):
        seen.append(outputs.logits.dtype)
        logits = outputs.logits[:, :-1].float()
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                                                 reduction="sum") / num_items_in_batch

    trainer = trainer_for(tmp_path, bf16=True)
    trainer.compute_loss_func = loss_func
    trainer.train()
    assert seen and set(seen) == {torch.bfloat16}  # the forward ran in bf16
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())  # master weights
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in trainer.state.log_history if "loss" in r)


def test_fp16_needs_cuda(tmp_path):
    with pytest.raises(ValueError, match="fp16 mixed precision needs a CUDA device .* use bf16=True"):
        trainer_for(tmp_path, fp16=True, use_cpu=True)


def test_torch_compile(tmp_path):
    trainer = trainer_for(tmp_path, torch_compile=True, torch_compile_backend="eager", max_steps=2)
    assert isinstance(trainer.forward_module, torch._dynamo.eval_frame.OptimizedModule)
    trainer.train()
    assert not any("_orig_mod" in k for k in trainer.model.state_dict())
    reference = trainer_for(tmp_path / "eager", max_steps=2)
    reference.train()
    for a, b in zip(trainer.model.parameters(), reference.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_gradient_checkpointing_gives_the_same_training(tmp_path):
    plain = trainer_for(tmp_path / "a")
    plain.train()
    checkpointed = trainer_for(tmp_path / "b", gradient_checkpointing=True)
    assert checkpointed.model.is_activation_checkpointing
    checkpointed.train()
    for a, b in zip(plain.model.parameters(), checkpointed.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="has no gradient_checkpointing_enable"):
        Trainer(torch.nn.Linear(2, 2), TrainingArguments(output_dir=str(tmp_path), gradient_checkpointing=True))


def test_model_init_is_seeded(tmp_path):
    def make(path):
        return Trainer(model_init=_unseeded_llama, args=TrainingArguments(output_dir=str(path), seed=3),
                       train_dataset=RandomTokens(8))

    assert params_equal(make(tmp_path / "a").model, make(tmp_path / "b").model) == []
    with pytest.raises(ValueError, match="either model or model_init"):
        Trainer(tiny_llama(64), model_init=_unseeded_llama)
    with pytest.raises(ValueError, match="needs a model or a model_init"):
        Trainer()


def _unseeded_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32,
                                        num_hidden_layers=1, num_attention_heads=2))


def test_factories_and_loss_function_are_used(tmp_path):
    calls = {}

    def optimizer_factory(named):
        named = list(named)
        calls["names"] = [n for n, _ in named]
        return torch.optim.SGD([p for _, p in named], lr=0.1)

    def scheduler_factory(optimizer):
        calls["optimizer"] = optimizer
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)

    def loss_func(outputs, labels, num_items_in_batch=None):
        calls.setdefault("num_items", []).append(int(num_items_in_batch))
        logits = outputs.logits[:, :-1]
        return torch.nn.functional.cross_entropy(logits.reshape(-1, 64), labels[:, 1:].reshape(-1),
                                                 reduction="sum") / num_items_in_batch

    trainer = trainer_for(tmp_path, gradient_accumulation_steps=2)
    trainer.optimizer_factory, trainer.lr_scheduler_factory = optimizer_factory, scheduler_factory
    trainer.compute_loss_func = loss_func
    trainer.train()
    assert calls["names"][0] == "model.embed_tokens.weight"
    assert calls["optimizer"] is trainer.optimizer and isinstance(trainer.optimizer, torch.optim.SGD)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**4)
    assert len(calls["num_items"]) == 8 and calls["num_items"][0] == calls["num_items"][1]  # per step


def test_model_that_computes_its_own_loss(tmp_path):
    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = tiny_llama(64)

        def forward(self, input_ids, targets, position_ids=None):
            return {"loss": self.inner(input_ids=input_ids, labels=targets).loss}

    def collate(features):
        batch = COLLATE(features)
        return {"input_ids": batch["input_ids"], "targets": batch.pop("labels")}

    trainer = Trainer(Wrapped(), TrainingArguments(output_dir=str(tmp_path), max_steps=2, save_strategy="no",
                                                   disable_tqdm=True),
                      data_collator=collate, train_dataset=RandomTokens(16), eval_dataset=RandomTokens(4))
    trainer.train()
    assert trainer.evaluate()["eval_loss"] > 0


def test_iterable_dataset_needs_max_steps(tmp_path):
    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(RandomTokens(12))

    trainer = trainer_for(tmp_path, data=Stream(), max_steps=5)
    trainer.train()  # 3 batches per pass: the stream is re-read as epochs
    assert trainer.state.global_step == 5
    with pytest.raises(ValueError, match="without a length needs max_steps > 0"):
        trainer_for(tmp_path / "b", data=Stream(), max_steps=-1, num_train_epochs=1).train()


def test_save_model_round_trips_with_the_tokenizer(tmp_path, tok, train_blocks):
    trainer = Trainer(tiny_llama(len(tok)), TrainingArguments(output_dir=str(tmp_path), max_steps=2,
                                                              save_strategy="no", disable_tqdm=True),
                      data_collator=DataCollatorForCausalLM(tok), train_dataset=Subset(train_blocks, 16),
                      processing_class=tok)
    trainer.train()
    (tmp_path / "keep.txt").write_text("other files stay")
    trainer.save_model()
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert params_equal(loaded, trainer.model) == []
    assert PreTrainedTokenizerFast.from_pretrained(tmp_path).get_vocab() == tok.get_vocab()
    assert (tmp_path / "keep.txt").read_text() == "other files stay"
    assert not any(p.name.startswith(".tmp") for p in tmp_path.iterdir())


def test_plain_module_is_saved_as_safetensors(tmp_path):
    from safetensors.torch import load_file

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.llama = tiny_llama(64)

        def forward(self, input_ids, position_ids=None):
            return self.llama(input_ids=input_ids, position_ids=position_ids)

    trainer = Trainer(Tiny(), TrainingArguments(output_dir=str(tmp_path), disable_tqdm=True))
    trainer.save_model(tmp_path / "final")
    weights = load_file(tmp_path / "final" / "model.safetensors")
    assert set(weights) == set(copy.deepcopy(trainer.model).state_dict())


def test_accepts_huggingface_training_arguments(tmp_path):
    import transformers

    hf_args = transformers.TrainingArguments(output_dir=str(tmp_path), max_steps=3, logging_steps=1,
                                             save_strategy="no", report_to="none", use_cpu=True)
    trainer = Trainer(tiny_llama(64), hf_args, data_collator=COLLATE, train_dataset=RandomTokens(12))
    assert isinstance(trainer.args, TrainingArguments) and trainer.args.max_steps == 3
    trainer.train()
    assert trainer.state.global_step == 3


def test_kv_cache_is_off_in_training_as_in_transformers_trainer(tmp_path):
    model = tiny_llama(64)
    assert model.config.use_cache is True
    trainer_for(tmp_path, model)
    assert model.config.use_cache is False


def test_huggingface_datasets_are_accepted(tmp_path, tok, train_blocks):
    datasets = pytest.importorskip("datasets")  # optional dependency (installed in the dev env)
    rows = [train_blocks[i]["input_ids"].tolist() for i in range(12)]
    table = datasets.Dataset.from_dict({"input_ids": rows, "text": ["ignored"] * 12})
    trainer = trainer_for(tmp_path, tiny_llama(len(tok)), data=table, eval_data=table.select(range(4)),
                          eval_strategy="steps", eval_steps=2, max_steps=3)
    trainer.train()
    assert trainer.state.global_step == 3 and trainer.evaluate()["eval_loss"] > 0
