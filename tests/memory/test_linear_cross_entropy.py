"""The chunked linear + cross-entropy loss equals the plain loss (logits, then causal_lm_loss)
within 1e-5 in float32, and a float64 reference within 1e-5: loss and the gradients of the
hidden states, the head's weight and bias; over chunk sizes, ignored labels, token-weighted
reduction, autocast. LinearCrossEntropyLoss: a whole model with its head returning the hidden
states (transformers' Llama, tied or not; ours through the Forgather wrapper)."""

import copy

import pytest
import torch
import torch.nn.functional as F

from forgather.ml.loss import causal_lm_loss
from forgather.ml.memory.linear_cross_entropy import LinearCrossEntropyLoss, find_output_head, linear_cross_entropy
from memory_testlib import batches, tiny_llama

TOL = 1e-5


def problem(B=3, T=17, D=24, V=101, bias=True, seed=0, ignored=True):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(B, T, D, generator=g)
    w = torch.randn(V, D, generator=g) / D**0.5
    b = torch.randn(V, generator=g) if bias else None
    y = torch.randint(0, V, (B, T), generator=g)
    if ignored:
        y[0, 3:9] = -100
        y[-1, :] = -100
    return h, w, b, y


def loss_and_grads(fn, h, w, b, dtype=torch.float32):
    leaves = [t.to(dtype).clone().requires_grad_() if t is not None else None for t in (h, w, b)]
    loss = fn(*leaves)
    loss.backward()
    return [loss.detach()] + [t.grad for t in leaves if t is not None]


def plain(h, w, b, y, **kw):
    return causal_lm_loss(F.linear(h, w, b), y, **kw)


def float64_reference(h, w, b, y, num_items=None):
    """The definition, in float64, written independently of causal_lm_loss."""
    logits = h @ w.T + (b if b is not None else 0)
    targets = y[:, 1:]
    logp = logits[:, :-1].log_softmax(-1)
    mask = targets != -100
    picked = logp.gather(-1, targets.clamp(min=0)[..., None])[..., 0]
    count = mask.sum() if num_items is None else num_items
    return -(picked * mask).sum() / max(int(count), 1)


def assert_close(got, want, tol=TOL):
    for a, b in zip(got, want):
        scale = max(1.0, float(b.abs().max()))
        assert float((a.double() - b.double()).abs().max()) <= tol * scale


@pytest.mark.parametrize("chunk_size", [1, 7, 64, None])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("num_items", [None, 40])
def test_equals_plain_loss_and_float64_reference(chunk_size, bias, num_items):
    h, w, b, y = problem(bias=bias)
    chunked = loss_and_grads(
        lambda *t: linear_cross_entropy(t[0], t[1], y, t[2] if bias else None, chunk_size=chunk_size,
                                        num_items_in_batch=num_items), h, w, b)
    assert_close(chunked, loss_and_grads(lambda *t: plain(t[0], t[1], t[2] if bias else None, y,
                                                          num_items_in_batch=num_items), h, w, b))
    assert_close(chunked, loss_and_grads(lambda *t: float64_reference(t[0], t[1], t[2] if bias else None, y, num_items),
                                         h, w, b, torch.float64))


def test_all_ignored_gives_zero_loss_and_gradients():
    h, w, b, y = problem()
    y[:] = -100
    loss, gh, gw, gb = loss_and_grads(lambda *t: linear_cross_entropy(t[0], t[1], y, t[2]), h, w, b)
    assert float(loss) == 0.0 and not gh.any() and not gw.any() and not gb.any()


def test_no_grad_path_and_scaled_gradient():
    h, w, b, y = problem()
    with torch.no_grad():
        assert abs(float(linear_cross_entropy(h, w, y, b)) - float(plain(h, w, b, y))) <= TOL
    got = loss_and_grads(lambda *t: 3.0 * linear_cross_entropy(t[0], t[1], y, t[2], chunk_size=5), h, w, b)
    assert_close(got, loss_and_grads(lambda *t: 3.0 * plain(t[0], t[1], t[2], y), h, w, b))


def test_under_bfloat16_autocast_the_matmul_runs_in_bfloat16_as_the_plain_head():
    h, w, b, y = problem(B=2, T=33, D=64, V=300)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        chunked = loss_and_grads(lambda *t: linear_cross_entropy(t[0], t[1], y, t[2], chunk_size=16), h, w, b)
        ref = loss_and_grads(lambda *t: plain(t[0], t[1], t[2], y), h, w, b)
    assert abs(float(chunked[0] - ref[0])) <= 1e-3 * float(ref[0])  # both from bfloat16 logits
    assert_close(chunked[1:], ref[1:], tol=2e-2)


@pytest.mark.parametrize("kwargs, match", [
    ({"implementation": "fast"}, "implementation"),
    ({"chunk_size": 0}, "chunk_size"),
])
def test_bad_options(kwargs, match):
    h, w, b, y = problem()
    with pytest.raises(ValueError, match=match):
        linear_cross_entropy(h, w, y, b, **kwargs)


def test_mismatched_shapes_are_an_error():
    h, w, b, y = problem()
    with pytest.raises(ValueError, match="do not fit"):
        linear_cross_entropy(h, w[:, :5], y, b)


@pytest.mark.parametrize("name", ["cce", "liger"])
def test_cuda_kernels_are_refused_off_cuda(name):
    h, w, b, y = problem()
    with pytest.raises(ValueError, match="CUDA|not installed"):
        linear_cross_entropy(h, w, y, b, implementation=name)


@pytest.mark.parametrize("tied", [False, True])
def test_whole_model_equals_the_plain_loss(tied):
    model, ids = tiny_llama(tied=tied), batches(1)[0]
    reference = copy.deepcopy(model)
    causal_lm_loss(reference(input_ids=ids).logits, ids).backward()
    loss_fn = LinearCrossEntropyLoss(model, chunk_size=8)
    with loss_fn.hidden_states():
        outputs = model(input_ids=ids)
    assert outputs.logits.shape[-1] == 32  # hidden states, not logits
    loss_fn(outputs, ids).backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        assert float((p.grad - q.grad).abs().max()) <= TOL
    assert model(input_ids=ids).logits.shape[-1] == 97  # outside the context: logits again
    assert model.state_dict().keys() == reference.state_dict().keys()


def test_forgather_model_through_its_wrapper():
    from forgather.ml.models.dynamic import dynamic_causal_lm
    from functools import partial
    from forgather.ml.models import attention, causal_lm, feedforward, input_encoder, layer_stack, layers, norms

    torch.manual_seed(0)
    definition = partial(
        causal_lm.CausalLM,
        input_encoder_factory=partial(input_encoder.InputEncoder, 32, 97),
        attention_factory=partial(attention.CausalSelfAttention, 32, 4),
        feedforward_factory=partial(feedforward.GLUFeedforward, 32, 64),
        norm_factory=partial(norms.RMSNorm, 32),
        layer_factory=layers.PreLNLayer,
        layer_stack_factory=partial(layer_stack.LayerStack, num_layers=2),
        tie_word_embeddings=True,
    )
    model = dynamic_causal_lm(definition)
    ids = batches(1)[0]
    plain_loss = causal_lm_loss(model(input_ids=ids).logits, ids)
    loss_fn = LinearCrossEntropyLoss(model)
    assert loss_fn.head is model.model.output_head
    with loss_fn.hidden_states():
        loss = loss_fn(model(input_ids=ids), ids)
    assert abs(float((loss - plain_loss).detach())) <= TOL


def test_outputs_that_are_logits_are_an_error():
    model, ids = tiny_llama(), batches(1)[0]
    loss_fn = LinearCrossEntropyLoss(model)
    with pytest.raises(ValueError, match="hidden_states"):
        loss_fn(model(input_ids=ids), ids)


def test_models_that_transform_their_logits_are_refused():
    model = tiny_llama()
    model.config.final_logit_softcapping = 30.0
    with pytest.raises(ValueError, match="final_logit_softcapping"):
        find_output_head(model)
    with pytest.raises(ValueError, match="output head"):
        find_output_head(torch.nn.Sequential(torch.nn.Linear(2, 2)))
