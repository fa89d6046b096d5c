"""The blocks, each checked against an independent float64 reference or a published value."""

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from transformers import LlamaConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

from forgather.ml.models.alibi import ALiBi, alibi_slopes
from forgather.ml.models.attention import CausalSelfAttention
from forgather.ml.models.causal_lm import CausalLM
from forgather.ml.models.feedforward import MLP, GLUFeedforward
from forgather.ml.models.init_weights import init_deepnet, init_llama, init_normal
from forgather.ml.models.input_encoder import InputEncoder
from forgather.ml.models.layer_stack import LayerStack
from forgather.ml.models.layers import (
    DeepNetLayer,
    PostLNLayer,
    PreLNLayer,
    deepnet_alpha,
    deepnet_beta,
)
from forgather.ml.models.learned_pe import LearnedPE
from forgather.ml.models.masks import build_attention_mask
from forgather.ml.models.norms import LayerNorm, RMSNorm
from forgather.ml.models.rotary_pe import RotaryPE, llama3_scaled
from forgather.ml.models.sinusoidal_pe import SinusoidalPE

gen = torch.Generator().manual_seed(0)


def randn(*shape):
    return torch.randn(*shape, generator=gen)


# --- norms -----------------------------------------------------------------------------------


def test_rms_norm_matches_float64_formula():
    x, w = randn(3, 5, 16), randn(16)
    norm = RMSNorm(16, eps=1e-6)
    norm.weight.data.copy_(w)
    x64 = x.double()
    ref = w.double() * x64 / torch.sqrt(x64.pow(2).mean(-1, keepdim=True) + 1e-6)
    assert torch.allclose(norm(x).double(), ref, atol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_matches_float64_formula(bias):
    x = randn(3, 5, 16)
    norm = LayerNorm(16, eps=1e-5, bias=bias)
    norm.weight.data.copy_(randn(16))
    if bias:
        norm.bias.data.copy_(randn(16))
    x64 = x.double()
    ref = (x64 - x64.mean(-1, keepdim=True)) / torch.sqrt(
        x64.var(-1, unbiased=False, keepdim=True) + 1e-5
    )
    ref = ref * norm.weight.double() + (norm.bias.double() if bias else 0)
    assert torch.allclose(norm(x).double(), ref, atol=1e-5)


# --- masks -----------------------------------------------------------------------------------

MASK_CASES = [
    # q_len, kv_len, padding, bias?, expect None
    (5, 5, None, False, True),
    (1, 9, None, False, True),
    (3, 8, None, False, False),  # chunk after a cache: explicit mask
    (5, 5, [[1, 1, 1, 1, 1]], False, True),  # all ones: fast path
    (5, 5, [[0, 0, 1, 1, 1]], False, False),
    (4, 4, None, True, False),
]


@pytest.mark.parametrize("q_len, kv_len, padding, with_bias, is_none", MASK_CASES)
def test_attention_mask_against_the_definition(
    q_len, kv_len, padding, with_bias, is_none
):
    pad = torch.tensor(padding) if padding is not None else None
    bias = randn(2, q_len, kv_len) if with_bias else None
    mask = build_attention_mask(
        q_len,
        kv_len,
        padding_mask=pad,
        bias=bias,
        device=torch.device("cpu"),
        dtype=torch.float32,
    )
    assert (mask is None) == is_none
    if mask is None:
        return
    for i in range(q_len):
        qi = kv_len - q_len + i
        for j in range(kv_len):
            attend = j <= qi and (pad is None or pad[0, j] == 1 or j == qi)
            value = mask[0, 0 if mask.shape[1] == 1 else 1, i, j]
            if mask.dtype == torch.bool:
                assert bool(value) == attend
            elif attend:
                assert value == bias[1, i, j]
            else:
                assert value == float("-inf")


def test_attention_mask_rejects_a_mask_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"expected \(batch, 8\)"):
        build_attention_mask(
            1,
            8,
            padding_mask=torch.ones(2, 7),
            device=torch.device("cpu"),
            dtype=torch.float32,
        )


# --- attention -------------------------------------------------------------------------------


def reference_attention(q, k, v, allowed, bias=None):
    """float64, per head, loops over the kv-head groups explicitly."""
    q, k, v = q.double(), k.double(), v.double()
    groups = q.shape[1] // k.shape[1]
    out = torch.empty_like(q)
    for h in range(q.shape[1]):
        scores = q[:, h] @ k[:, h // groups].transpose(-1, -2) / math.sqrt(q.shape[-1])
        if bias is not None:
            scores = scores + bias[h].double()
        scores = scores.masked_fill(~allowed, float("-inf"))
        out[:, h] = scores.softmax(-1) @ v[:, h // groups]
    return out


@pytest.mark.parametrize("kv_heads", [4, 2, 1], ids=["mha", "gqa", "mqa"])
@pytest.mark.parametrize("backend", ["sdpa", "eager"])
@pytest.mark.parametrize("case", ["causal", "after-cache", "padding", "bias"])
def test_attention_matches_float64_reference(kv_heads, backend, case):
    torch.manual_seed(0)
    attn = CausalSelfAttention(32, 4, num_kv_heads=kv_heads, backend=backend)
    B, T, S = 2, 6, 6 if case != "after-cache" else 10
    x = randn(B, T, 32)
    q = attn.q_proj(x).view(B, T, 4, 8).transpose(1, 2)
    k_new = attn.k_proj(x).view(B, T, kv_heads, 8).transpose(1, 2)
    v_new = attn.v_proj(x).view(B, T, kv_heads, 8).transpose(1, 2)
    past_k, past_v = randn(B, kv_heads, S - T, 8), randn(B, kv_heads, S - T, 8)
    k, v = torch.cat([past_k, k_new], 2), torch.cat([past_v, v_new], 2)
    pad = torch.tensor([[1] * S, [0, 0] + [1] * (S - 2)]) if case == "padding" else None
    bias = randn(4, T, S) if case == "bias" else None
    mask = build_attention_mask(
        T, S, padding_mask=pad, bias=bias, device=x.device, dtype=x.dtype
    )
    q_idx, k_idx = (S - T + torch.arange(T))[:, None], torch.arange(S)[None, :]
    allowed = (k_idx <= q_idx)[None].expand(B, T, S)  # causal, by definition
    if pad is not None:
        allowed = allowed & (pad[:, None, :].bool() | (k_idx == q_idx))
    ref = reference_attention(q, k, v, allowed, bias)
    ref = attn.o_proj(ref.transpose(1, 2).reshape(B, T, 32).float())

    class Cache:  # the protocol of transformers' Cache.update
        def update(self, k_, v_, layer_idx):
            return torch.cat([past_k, k_], 2), torch.cat([past_v, v_], 2)

    with torch.no_grad():
        out = attn(x, attn_mask=mask, cache=Cache() if S > T else None)
    assert torch.allclose(out, ref, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(d_model=32, num_heads=4, num_kv_heads=3), "multiple of num_kv_heads"),
        (dict(d_model=30, num_heads=4), "multiple of num_heads"),
        (dict(d_model=32, num_heads=4, backend="flash"), "backend must be"),
    ],
)
def test_attention_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CausalSelfAttention(**kwargs)


# --- positional encoders ---------------------------------------------------------------------


def test_sinusoidal_matches_the_paper_table():
    pe = SinusoidalPE(8)
    pos = torch.tensor([[0, 1, 2, 7, 100]])
    out = pe(torch.zeros(1, 5, 8), pos).double()
    for t, p in enumerate(pos[0].tolist()):
        for i in range(4):
            angle = p / 10000 ** (2 * i / 8)
            assert out[0, t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
            assert out[0, t, 2 * i + 1].item() == pytest.approx(
                math.cos(angle), abs=1e-5
            )


def test_learned_pe_adds_the_row_of_each_position():
    pe = LearnedPE(4, 10)
    x = randn(2, 3, 4)
    pos = torch.tensor([[0, 1, 2], [5, 6, 7]])
    assert torch.equal(pe(x, pos), x + pe.embedding.weight[pos])


def test_rope_preserves_norms_and_depends_only_on_relative_position():
    rope = RotaryPE(64, 4)
    q, k = randn(1, 4, 1, 16), randn(1, 4, 1, 16)

    def score(m, n):
        qm, _ = rope.rotary(torch.tensor([[m]]))(q, q)
        _, kn = rope.rotary(torch.tensor([[n]]))(k, k)
        return (qm * kn).sum(-1)

    qm, km = rope.rotary(torch.tensor([[37]]))(q, k)
    assert torch.allclose(qm.norm(dim=-1), q.norm(dim=-1), atol=1e-5)
    assert torch.allclose(score(3, 1), score(12, 10), atol=1e-4)
    assert not torch.allclose(score(3, 1), score(3, 2), atol=1e-3)


def test_llama3_scaling_matches_transformers():
    scaling = dict(
        rope_type="llama3",
        factor=8.0,
        low_freq_factor=1.0,
        high_freq_factor=4.0,
        original_max_position_embeddings=64,
    )
    config = LlamaConfig(
        hidden_size=256,
        num_attention_heads=2,
        max_position_embeddings=256,
        rope_parameters=dict(rope_theta=500000.0, **scaling),
    )
    ref, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    ours = RotaryPE(256, 2, theta=500000.0, scaling=scaling).inv_freq(
        torch.device("cpu")
    )
    assert torch.allclose(ours, ref.float(), rtol=1e-6)
    plain = RotaryPE(256, 2, theta=500000.0).inv_freq(torch.device("cpu"))
    assert not torch.allclose(ours, plain)  # the scaling does something
    # long wavelengths divided by the factor, short ones kept
    assert (
        ours[-1] == pytest.approx(plain[-1].item() / 8, rel=1e-6)
        and ours[0] == plain[0]
    )
    assert torch.equal(llama3_scaled(plain, scaling), ours)


def test_rope_rejects_a_head_dim_other_than_the_attention_s():
    rotate = RotaryPE(64, 4).rotary(torch.tensor([[0, 1]]))
    with pytest.raises(
        ValueError, match="RotaryPE rotates head_dim 16 but the attention heads have 8"
    ):
        rotate(randn(1, 2, 2, 8), randn(1, 2, 2, 8))


def test_rope_rejects_unknown_scaling_and_odd_head_dim():
    with pytest.raises(ValueError, match="rope_type 'llama3' or 'default'"):
        RotaryPE(64, 4, scaling={"rope_type": "yarn", "factor": 2.0})
    with pytest.raises(ValueError, match="even head_dim"):
        RotaryPE(12, 4)


@pytest.mark.parametrize(
    "heads, expected",
    [
        (8, [2.0**-k for k in range(1, 9)]),  # the paper's example
        (4, [2.0**-k for k in (2, 4, 6, 8)]),
        (
            6,
            [2.0**-k for k in (2, 4, 6, 8, 1, 3)],
        ),  # 4 slopes + every other of the 8-head set
    ],
)
def test_alibi_slopes(heads, expected):
    assert alibi_slopes(heads) == pytest.approx(expected)


def test_alibi_bias_is_slope_times_distance():
    alibi = ALiBi(4)
    bias = alibi.attention_bias(
        2, 5, torch.device("cpu"), torch.float32
    )  # queries at key index 3, 4
    assert bias.shape == (4, 2, 5)
    for h, slope in enumerate(alibi_slopes(4)):
        for i, qi in enumerate((3, 4)):
            for j in range(5):
                assert bias[h, i, j].item() == pytest.approx(slope * (j - qi))
    trainable = ALiBi(4, trainable=True)
    assert [n for n, _ in trainable.named_parameters()] == ["slopes"]


# --- feed-forward, layers --------------------------------------------------------------------


def test_feedforward_blocks_compute_their_formulas():
    x = randn(2, 3, 8)
    mlp = MLP(8, 16, activation="gelu_tanh")
    expected = mlp.down_proj(F.gelu(mlp.up_proj(x), approximate="tanh"))
    assert torch.allclose(mlp(x), expected)
    glu = GLUFeedforward(8, 16, activation="gelu")
    assert torch.allclose(
        glu(x), glu.down_proj(F.gelu(glu.gate_proj(x)) * glu.up_proj(x))
    )
    mish = MLP(8, 16, activation=torch.nn.Mish)  # a factory works too
    assert torch.allclose(mish(x), mish.down_proj(F.mish(mish.up_proj(x))))
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP(8, 16, activation="swish")


def _parts(d=8):
    return dict(
        attention_factory=partial(CausalSelfAttention, d, 2),
        feedforward_factory=partial(MLP, d, 16),
        norm_factory=partial(LayerNorm, d),
    )


def test_layers_compute_their_residual_formulas():
    x = randn(2, 4, 8)
    pre, post, deep = (
        PreLNLayer(**_parts()),
        PostLNLayer(**_parts()),
        DeepNetLayer(**_parts(), num_layers=6),
    )
    h = x + pre.attention(pre.attn_norm(x))
    assert torch.allclose(pre(x), h + pre.feedforward(pre.ff_norm(h)), atol=1e-6)
    h = post.attn_norm(x + post.attention(x))
    assert torch.allclose(post(x), post.ff_norm(h + post.feedforward(h)), atol=1e-6)
    a = deep.alpha
    h = deep.attn_norm(a * x + deep.attention(x))
    assert torch.allclose(deep(x), deep.ff_norm(a * h + deep.feedforward(h)), atol=1e-6)


def test_deepnet_constants_follow_the_paper():
    assert deepnet_alpha(6) == pytest.approx(12**0.25)
    assert deepnet_beta(6) == pytest.approx(48**-0.25)
    assert DeepNetLayer(**_parts(), num_layers=6).alpha == pytest.approx(12**0.25)
    assert DeepNetLayer(**_parts(), num_layers=6, alpha=1.0).alpha == 1.0


def core(layer=PreLNLayer, init=None, d=256, layers=4, tie=False, **stack):
    torch.manual_seed(0)
    return CausalLM(
        input_encoder_factory=partial(InputEncoder, d, 512),
        positional_encoder_factory=partial(RotaryPE, d, 2),
        layer_stack_factory=partial(LayerStack, num_layers=layers, **stack),
        layer_factory=(
            layer if layer is not DeepNetLayer else partial(layer, num_layers=layers)
        ),
        init_weights=init,
        tie_word_embeddings=tie,
        **_parts(d),
    )


def test_final_norm_follows_the_layer_type():
    assert isinstance(core(PreLNLayer, d=8, layers=1).final_norm, LayerNorm)
    assert isinstance(core(PostLNLayer, d=8, layers=1).final_norm, torch.nn.Identity)
    assert isinstance(core(DeepNetLayer, d=8, layers=1).final_norm, torch.nn.Identity)


# --- initialisation --------------------------------------------------------------------------


def stds(model):
    return {name: p.std().item() for name, p in model.named_parameters() if p.ndim == 2}


def test_init_normal_scales_residual_writers():
    s = stds(core(init=partial(init_normal, std=0.02)))
    assert s["layer_stack.layers.0.attention.q_proj.weight"] == pytest.approx(
        0.02, rel=0.05
    )
    assert s["layer_stack.layers.0.attention.o_proj.weight"] == pytest.approx(
        0.02 / math.sqrt(8), rel=0.05
    )
    assert s["layer_stack.layers.3.feedforward.down_proj.weight"] == pytest.approx(
        0.02 / math.sqrt(8), rel=0.05
    )
    assert s["input_encoder.embedding.weight"] == pytest.approx(0.02, rel=0.05)


def test_init_llama():
    model = core(init=init_llama)
    s = stds(model)
    assert s["input_encoder.embedding.weight"] == pytest.approx(1.0, rel=0.05)
    # truncated at 3 sigma: the std of the truncated normal is 0.986 sigma
    assert s["output_head.weight"] == pytest.approx(256**-0.5 * 0.986, rel=0.05)
    assert model.output_head.weight.abs().max() <= 3 * 256**-0.5 + 1e-6
    assert s["layer_stack.layers.1.attention.o_proj.weight"] == pytest.approx(
        0.02 / math.sqrt(8) * 0.986, rel=0.05
    )
    assert s["layer_stack.layers.1.attention.k_proj.weight"] == pytest.approx(
        0.02 * 0.986, rel=0.05
    )


def test_init_deepnet_uses_beta_for_values_and_feedforward():
    model = core(layer=DeepNetLayer, init=init_deepnet)
    s, beta = stds(model), (8 * 4) ** -0.25
    xavier = math.sqrt(2 / (256 + 256))
    assert s["layer_stack.layers.0.attention.q_proj.weight"] == pytest.approx(
        xavier, rel=0.05
    )
    assert s["layer_stack.layers.0.attention.v_proj.weight"] == pytest.approx(
        beta * xavier, rel=0.05
    )
    assert s["layer_stack.layers.0.feedforward.up_proj.weight"] == pytest.approx(
        beta * math.sqrt(2 / (256 + 16)), rel=0.1
    )


def test_tied_weight_is_initialised_as_the_output_head():
    model = core(init=init_llama, tie=True)
    assert model.output_head.weight is model.input_encoder.embedding.weight
    assert model.output_head.weight.std().item() == pytest.approx(0.02, rel=0.05)


@pytest.mark.parametrize("tie", [False, True])
def test_init_llama_starts_near_the_uniform_loss(tie):
    """Initial logits of order 1: the loss starts near ln(vocab), tied or not."""
    model = core(init=init_llama, tie=tie)
    tokens = torch.randint(0, 512, (2, 32), generator=torch.Generator().manual_seed(0))
    logits = model(tokens)
    logits = logits if torch.is_tensor(logits) else logits[0]
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 512).float(), tokens[:, 1:].reshape(-1))
    assert abs(loss.item() - math.log(512)) < 1.0


# --- activation checkpointing ----------------------------------------------------------------


def test_activation_checkpointing_gives_the_same_gradients():
    ids = torch.randint(0, 512, (2, 16), generator=gen)
    grads = []
    for flag in (False, True):
        model = core(d=32, layers=3, gradient_checkpointing=flag, checkpoint_stride=2)
        model.train()
        model(ids).logsumexp(-1).mean().backward()
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-6)


def test_layer_stack_rejects_bad_sizes():
    with pytest.raises(ValueError, match="num_layers >= 1"):
        LayerStack(PreLNLayer, 0)
