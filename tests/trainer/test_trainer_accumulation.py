"""Token-weighted gradient accumulation: k micro-batches of b/k equal one batch of b.

The sequences have very different lengths, so the micro-batches hold different numbers of target
tokens: averaging per-micro-batch means would differ from the large batch; summing token losses
and dividing by the step's token count does not.
"""

import copy

import pytest
import torch
import torch.nn.functional as F
from transformers import TrainerCallback
from trainer_testlib import RandomTokens, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import Trainer, TrainingArguments

BATCH = 8
DATA = RandomTokens(2 * BATCH, vocab=64, min_len=3, max_len=30, seed=5)
COLLATE = DataCollatorForCausalLM(pad_token_id=0)


class GradCapture(TrainerCallback):
    def __init__(self):
        self.grads = []

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        self.grads.append({n: p.grad.detach().clone() for n, p in model.named_parameters()})


def train(model, ga, tmp_path):
    capture = GradCapture()
    args = TrainingArguments(
        output_dir=str(tmp_path / f"ga{ga}"), max_steps=2, per_device_train_batch_size=BATCH // ga,
        gradient_accumulation_steps=ga, learning_rate=1e-3, max_grad_norm=0.0, logging_steps=1,
        save_strategy="no", train_sampling_strategy="sequential", disable_tqdm=True,
    )
    # SGD: the weights then depend smoothly on the gradients (Adam's update is ill-conditioned
    # where a gradient is ~0, so bitwise-close gradients could give visibly different weights).
    trainer = Trainer(model, args, data_collator=COLLATE, train_dataset=DATA, callbacks=[capture],
                      optimizer_factory=lambda named: torch.optim.SGD([p for _, p in named], lr=0.5))
    trainer.train()
    return trainer, capture.grads


def reference_step_loss(model, items):
    """Float64 token-weighted mean of the shifted cross-entropy over ``items`` (independent code)."""
    model = copy.deepcopy(model).double()
    total, count = 0.0, 0
    with torch.no_grad():
        for item in items:
            ids = item["input_ids"][None]
            logits = model(input_ids=ids).logits[0]
            total += F.cross_entropy(logits[:-1], ids[0, 1:], reduction="sum").item()
            count += ids.shape[1] - 1
    return total / count


@pytest.mark.parametrize("ga", [2, 4, 8])
def test_accumulation_equals_one_large_batch(ga, tmp_path):
    model = tiny_llama(64, seed=2)
    big, big_grads = train(copy.deepcopy(model), 1, tmp_path)
    acc, acc_grads = train(copy.deepcopy(model), ga, tmp_path)
    for step_big, step_acc in zip(big_grads, acc_grads, strict=True):
        for name, grad in step_big.items():
            torch.testing.assert_close(step_acc[name], grad, rtol=1e-5, atol=1e-7, msg=name)
    for (name, a), b in zip(acc.model.named_parameters(), big.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    big_losses = [r["loss"] for r in big.state.log_history if "loss" in r]
    acc_losses = [r["loss"] for r in acc.state.log_history if "loss" in r]
    assert acc_losses == pytest.approx(big_losses, rel=1e-6)


def test_step_loss_is_the_token_weighted_mean(tmp_path):
    model = tiny_llama(64, seed=2)
    trainer, _ = train(copy.deepcopy(model), 4, tmp_path)
    first_step = [DATA[i] for i in range(BATCH)]
    expected = reference_step_loss(model, first_step)
    assert trainer.state.log_history[0]["loss"] == pytest.approx(expected, rel=1e-5)

    # The data makes the weighting matter: the mean of the four micro-batch means is off by
    # over ten times the tolerance above.
    micro_means = [reference_step_loss(model, first_step[i : i + 2]) for i in range(0, BATCH, 2)]
    assert abs(sum(micro_means) / 4 - expected) > 10 * 1e-5 * expected
