"""forgather.ml.loss against a float64 reference written here and against transformers' loss."""

import math

import pytest
import torch
from transformers.loss.loss_utils import ForCausalLMLoss

from forgather.ml.loss import CausalLMLoss, causal_lm_loss, count_target_tokens


def reference(logits, labels, ignore_index=-100, num_items=None):
    """Plain loops in float64: -log softmax(logits[b, t])[labels[b, t + 1]]."""
    logits = logits.double()
    total, count = 0.0, 0
    for b in range(labels.shape[0]):
        for t in range(labels.shape[1] - 1):
            target = int(labels[b, t + 1])
            if target == ignore_index:
                continue
            row = logits[b, t]
            total += float(torch.logsumexp(row, 0) - row[target])
            count += 1
    return total / (num_items if num_items is not None else max(count, 1))


def case(seed, batch, length, vocab, ignore_fraction):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, length, vocab, generator=g) * 3
    labels = torch.randint(0, vocab, (batch, length), generator=g)
    labels[torch.rand(batch, length, generator=g) < ignore_fraction] = -100
    return logits, labels


CASES = [  # (seed, batch, length, vocab, fraction of ignored labels)
    (0, 1, 2, 5, 0.0),
    (1, 2, 7, 11, 0.0),
    (2, 3, 16, 50, 0.3),
    (3, 4, 9, 3, 0.8),
    (4, 2, 33, 257, 0.5),
]


@pytest.mark.parametrize("seed,batch,length,vocab,ignored", CASES)
def test_matches_float64_reference(seed, batch, length, vocab, ignored):
    logits, labels = case(seed, batch, length, vocab, ignored)
    assert causal_lm_loss(logits, labels).item() == pytest.approx(reference(logits, labels), rel=1e-5)
    n = int(count_target_tokens(labels)) + 7
    got = causal_lm_loss(logits, labels, num_items_in_batch=n).item()
    assert got == pytest.approx(reference(logits, labels, num_items=n), rel=1e-5)


@pytest.mark.parametrize("seed,batch,length,vocab,ignored", CASES)
def test_matches_transformers_causal_lm_loss(seed, batch, length, vocab, ignored):
    logits, labels = case(seed, batch, length, vocab, ignored)
    theirs = ForCausalLMLoss(logits, labels, vocab_size=vocab)
    if count_target_tokens(labels) > 0:
        torch.testing.assert_close(causal_lm_loss(logits, labels), theirs)


def test_bf16_logits_are_upcast():
    logits, labels = case(5, 2, 12, 40, 0.2)
    low = causal_lm_loss(logits.bfloat16(), labels)
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(reference(logits.bfloat16().float(), labels), rel=1e-5)


def test_gradient_matches_autograd_in_float64():
    logits, labels = case(6, 2, 10, 13, 0.3)
    ours = logits.clone().requires_grad_()
    causal_lm_loss(ours, labels).backward()
    ref = logits.double().requires_grad_()
    mask = labels[:, 1:] != -100
    picked = torch.log_softmax(ref[:, :-1], -1).gather(-1, labels[:, 1:].clamp(min=0)[..., None])[..., 0]
    (-(picked * mask).sum() / mask.sum()).backward()
    torch.testing.assert_close(ours.grad.double(), ref.grad, rtol=1e-5, atol=1e-8)


def test_no_target_gives_zero_not_nan():
    logits = torch.randn(2, 4, 6)
    labels = torch.full((2, 4), -100)
    assert causal_lm_loss(logits, labels).item() == 0.0


def test_callable_accepts_outputs_and_logits():
    logits, labels = case(7, 2, 8, 9, 0.0)

    class Out:
        pass

    out = Out()
    out.logits = logits
    fn = CausalLMLoss()
    assert fn(out, labels).item() == fn(logits, labels).item() == fn({"logits": logits}, labels).item()
    assert math.isfinite(fn(logits, labels, num_items_in_batch=torch.tensor(3)).item())


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"logits of shape \(2, 5, 7\) do not match labels of shape \(2, 4\)"):
        causal_lm_loss(torch.randn(2, 5, 7), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="cannot find logits"):
        CausalLMLoss()(object(), torch.zeros(1, 2, dtype=torch.long))
