"""The memory fields of TrainingArguments in the Trainer: each option gives what it promises
against the default run of the same Trainer (fused step == separate step bit for bit, chunked
loss == plain loss within 1e-5, offloading on the CPU changes nothing and says so, bfloat16
weights train with stochastic rounding), all of them together resume bit-identically (N + N ==
2N through checkpoints), and what cannot combine is refused with a message."""

import logging
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.memory.optimizer_in_backward import OptimizerInBackward
from forgather.ml.optim import AdamW
from forgather.ml.trainer import Trainer, TrainingArguments
from memory_testlib import VOCAB, same_parameters, tiny_llama

N = 3


class Tokens(torch.utils.data.Dataset):
    def __init__(self, n: int = 24, length: int = 16, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.items = [torch.randint(4, VOCAB, (length,), generator=g) for _ in range(n)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return {"input_ids": self.items[i]}


def trainer(tmp_path, name, *, steps=2 * N, tied=False, callbacks=(), data=None, **fields):
    args = TrainingArguments(
        output_dir=str(tmp_path / name), max_steps=steps, per_device_train_batch_size=4, learning_rate=1e-2,
        warmup_steps=1, lr_scheduler_type="cosine", logging_steps=1, save_steps=N, disable_tqdm=True, seed=3,
        **fields,
    )
    return Trainer(tiny_llama(tied=tied), args, data_collator=DataCollatorForCausalLM(pad_token_id=0),
                   train_dataset=data or Tokens(), eval_dataset=Tokens(8, seed=1), callbacks=list(callbacks))


def losses(t):
    return [r["loss"] for r in t.state.log_history if "loss" in r]


def test_optimizer_in_backward_equals_the_separate_step(tmp_path):
    plain = trainer(tmp_path, "plain", max_grad_norm=0.0)
    plain.train()
    fused = trainer(tmp_path, "fused", max_grad_norm=0.0, optimizer_in_backward=True)
    fused.train()
    assert isinstance(fused.optimizer, OptimizerInBackward)
    assert same_parameters(plain.model, fused.model)
    assert losses(plain) == losses(fused)
    norms = [r["grad_norm"] for r in plain.state.log_history if "grad_norm" in r]
    fused_norms = [r["grad_norm"] for r in fused.state.log_history if "grad_norm" in r]
    assert norms == pytest.approx(fused_norms, rel=1e-6) and min(norms) > 0


def test_optimizer_in_backward_clips_like_the_separate_step(tmp_path):
    """With max_grad_norm the fused step first measures the global norm (a pass that steps
    nothing), so it clips like clip_grad_norm_: the same run within float32 rounding (the norm
    is summed in another order), not the per-parameter or lagged clipping it once did."""
    plain = trainer(tmp_path, "plain", max_grad_norm=0.05)
    plain.train()
    fused = trainer(tmp_path, "fused", max_grad_norm=0.05, optimizer_in_backward=True)
    fused.train()
    norms = [r["grad_norm"] for r in plain.state.log_history if "grad_norm" in r]
    assert min(norms) > 0.05  # clipping was active at every step
    for a, b in zip(plain.model.parameters(), fused.model.parameters()):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    assert losses(fused) == pytest.approx(losses(plain), rel=1e-5)


@pytest.mark.parametrize("tied", [False, True])
def test_linear_cross_entropy_equals_the_plain_loss(tmp_path, tied):
    plain = trainer(tmp_path, "plain", tied=tied, steps=N)
    plain.train()
    chunked = trainer(tmp_path, "chunked", tied=tied, steps=N, linear_cross_entropy=True)
    chunked.train()
    assert losses(plain) == pytest.approx(losses(chunked), abs=1e-5)
    for p, q in zip(plain.model.parameters(), chunked.model.parameters()):
        assert float((p - q).detach().abs().max()) < 1e-4
    assert chunked.evaluate()["eval_loss"] == pytest.approx(plain.evaluate()["eval_loss"], abs=1e-5)
    ids = torch.randint(0, VOCAB, (1, 8))
    assert chunked.model(input_ids=ids).logits.shape[-1] == VOCAB  # outside the trainer: logits


def test_activation_offloading_on_the_cpu_warns_and_changes_nothing(tmp_path, caplog):
    plain = trainer(tmp_path, "plain", steps=N)
    plain.train()
    with caplog.at_level(logging.WARNING):
        offloaded = trainer(tmp_path, "offloaded", steps=N, activation_offloading=True)
    assert "nothing is offloaded" in caplog.text
    offloaded.train()
    assert same_parameters(plain.model, offloaded.model)


def test_bfloat16_weights_use_stochastic_rounding_and_train(tmp_path):
    # four sequences seen again and again: memorised, the loss falls far
    t = trainer(tmp_path, "bf16", steps=10, model_dtype="bfloat16", save_strategy="no", data=Tokens(4))
    assert all(p.dtype == torch.bfloat16 for p in t.model.parameters())
    t.train()
    assert isinstance(t.optimizer, AdamW) and t.optimizer.param_groups[0]["stochastic_rounding"]
    history = losses(t)
    assert history[-1] < history[0] - 1.0


@pytest.mark.parametrize("optim", ["adafactor", "sgd"])
def test_bfloat16_weights_round_stochastically_with_the_named_optimizers(tmp_path, optim):
    t = trainer(tmp_path, optim, steps=1, model_dtype="bfloat16", save_strategy="no", optim=optim)
    opt = t.create_optimizer()
    assert opt.param_groups[0]["stochastic_rounding"] and opt.param_groups[0]["seed"] == t.args.seed
    plain = trainer(tmp_path, optim + "32", steps=1, save_strategy="no", optim=optim).create_optimizer()
    assert not plain.param_groups[0]["stochastic_rounding"]  # float32 weights: nothing to round


def test_all_options_resume_bit_identically(tmp_path):
    options = dict(model_dtype="bfloat16", optimizer_in_backward=True, linear_cross_entropy=True,
                   activation_offloading=True)
    full = trainer(tmp_path, "full", **options)
    full.train()

    class Stop(TrainerCallback):  # ends the first half after N steps
        def on_step_end(self, args, state, control, **kwargs):
            control.should_training_stop = state.global_step >= N

    first = trainer(tmp_path, "split", callbacks=[Stop()], **options)
    first.train()
    assert first.state.global_step == N
    second = trainer(tmp_path, "split", **options)
    second.train(resume_from_checkpoint=True)
    assert same_parameters(second.model, full.model)
    assert losses(second) == losses(full)
    # clipping was active (max_grad_norm=1): the resumed run clips with the saved previous norm
    assert max(r["grad_norm"] for r in full.state.log_history if "grad_norm" in r) > full.args.max_grad_norm


@pytest.mark.parametrize("fields, match", [
    (dict(optimizer_in_backward=True, gradient_accumulation_steps=2), "accumulate"),
    (dict(optimizer_in_backward=True, fp16=True), "scaler"),
    (dict(model_dtype="float16"), "fp16=True"),
    (dict(linear_cross_entropy="fast"), "linear_cross_entropy"),
])
def test_arguments_that_cannot_combine(fields, match):
    with pytest.raises(ValueError, match=match):
        TrainingArguments(output_dir="unused", **fields)


def test_linear_cross_entropy_refuses_a_custom_loss(tmp_path):
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=1, linear_cross_entropy=True)
    with pytest.raises(ValueError, match="compute_loss_func"):
        Trainer(tiny_llama(), args, train_dataset=Tokens(), data_collator=DataCollatorForCausalLM(pad_token_id=0),
                compute_loss_func=lambda outputs, labels, num_items_in_batch=None: outputs.logits.sum())


# ------------------------------------------------- the pipeline engine, in a one-process group


@pytest.fixture
def one_process_group(monkeypatch):
    import socket

    import torch.distributed as dist

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"),
                        ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(port))):
        monkeypatch.setenv(name, value)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def pipeline_trainer(tmp_path, name, **fields):
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "pipeline"))
    from pipeline_testlib import TokenRows, build_model

    from forgather.ml.trainer.pipeline import PipelineTrainer

    args = TrainingArguments(output_dir=str(tmp_path / name), use_cpu=True, disable_tqdm=True, max_steps=3,
                             per_device_train_batch_size=4, per_device_eval_batch_size=4, learning_rate=1e-2,
                             logging_steps=1, save_strategy="no", **fields)
    return PipelineTrainer(model=build_model(tmp_path, tie=True), args=args, train_dataset=TokenRows(12),
                           eval_dataset=TokenRows(8, seed=2), data_collator=DataCollatorForCausalLM(pad_token_id=0),
                           schedule="Interleaved1F1B", n_microbatches=2, stages_per_rank=2)


def test_pipeline_last_stage_takes_the_linear_cross_entropy(tmp_path, one_process_group):
    plain = pipeline_trainer(tmp_path, "plain")
    plain.train()
    chunked = pipeline_trainer(tmp_path, "chunked", linear_cross_entropy=True)
    chunked.train()
    assert losses(plain) == pytest.approx(losses(chunked), abs=1e-5)
    assert chunked.evaluate()["eval_loss"] == pytest.approx(plain.evaluate()["eval_loss"], abs=1e-5)


@pytest.mark.parametrize("field", ["optimizer_in_backward", "activation_offloading"])
def test_pipeline_refuses(tmp_path, one_process_group, field):
    with pytest.raises(ValueError, match=field):
        pipeline_trainer(tmp_path, "refused", **{field: True})
