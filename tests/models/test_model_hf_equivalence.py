"""Our Llama-like and GPT-2-like models reproduce transformers' LlamaForCausalLM and
GPT2LMHeadModel (random init, same configuration, weights copied) within 1e-5 in float32.
"""

import pytest
import torch
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

from forgather.ml.models.convert import gpt2_state_dict, llama_state_dict
from helpers import TINY_GPT2, TINY_LLAMA, gpt2, llama

TOL = 1e-5


def hf_llama(hp: dict, seed: int = 1, **extra) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=hp["vocab_size"],
        hidden_size=hp["hidden_size"],
        intermediate_size=hp["intermediate_size"],
        num_hidden_layers=hp["num_hidden_layers"],
        num_attention_heads=hp["num_attention_heads"],
        num_key_value_heads=hp["num_key_value_heads"],
        rms_norm_eps=hp["rms_norm_eps"],
        rope_theta=hp["rope_theta"],
        tie_word_embeddings=hp["tie_word_embeddings"],
        attn_implementation="sdpa",
        **extra,
    )
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # the default init is tiny; make every weight matter
        for p in model.parameters():
            p.normal_(0, 0.2)
    return model


def load_into(ours, hf_sd: dict, convert) -> None:
    state = {f"model.{k}": v for k, v in convert(hf_sd).items()}
    missing, unexpected = ours.load_state_dict(state, strict=False)
    tied = {"model.output_head.weight"} if ours.config.tie_word_embeddings else set()
    assert set(missing) <= tied and not unexpected, (missing, unexpected)


def tokens(vocab: int, batch: int = 3, length: int = 17, seed: int = 2) -> torch.Tensor:
    return torch.randint(
        0, vocab, (batch, length), generator=torch.Generator().manual_seed(seed)
    )


def assert_close(ours: torch.Tensor, ref: torch.Tensor) -> None:
    assert ours.shape == ref.shape
    err = (ours - ref).abs().max().item()
    assert err <= TOL, f"max abs difference {err:.3g} > {TOL}"


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"num_key_value_heads": 6},  # multi-head
        {"num_key_value_heads": 1},  # multi-query
        {"tie_word_embeddings": True},
        {"attention_backend": "eager"},
        {
            "rope_theta": 500000.0,
            "rope_scaling_params": {
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8,
            },
        },
    ],
    ids=["gqa", "mha", "mqa", "tied", "eager", "llama3-rope"],
)
def test_llama_logits_match_transformers(overrides):
    hp = {**TINY_LLAMA, **overrides}
    extra = {}
    if hp["rope_scaling_params"]:
        extra["rope_parameters"] = {
            "rope_theta": hp["rope_theta"],
            **hp["rope_scaling_params"],
        }
    ref = hf_llama(hp, **extra)
    ours = llama(**overrides).eval()
    load_into(ours, ref.state_dict(), llama_state_dict)
    ids = tokens(hp["vocab_size"], length=40)
    with torch.no_grad():
        assert_close(ours(ids).logits, ref(ids).logits)
        # the loss, too (transformers shifts the labels the same way)
        labels = ids.clone()
        labels[:, :5] = -100
        assert (
            abs(
                ours(ids, labels=labels).loss.item()
                - ref(ids, labels=labels).loss.item()
            )
            <= TOL
        )


def test_llama_with_padding_matches_transformers():
    ref = hf_llama(TINY_LLAMA)
    ours = llama().eval()
    load_into(ours, ref.state_dict(), llama_state_dict)
    ids = tokens(TINY_LLAMA["vocab_size"])
    mask = torch.ones_like(ids)
    mask[0, :4] = 0  # left padding
    mask[2, -3:] = 0  # right padding
    with torch.no_grad():
        ours_logits, ref_logits = (
            ours(ids, attention_mask=mask).logits,
            ref(ids, attention_mask=mask).logits,
        )
    keep = mask.bool()
    assert_close(ours_logits[keep], ref_logits[keep])


def test_qk_norm_matches_qwen3():
    hp = dict(TINY_LLAMA)
    torch.manual_seed(1)
    config = Qwen3Config(
        vocab_size=hp["vocab_size"],
        hidden_size=hp["hidden_size"],
        intermediate_size=hp["intermediate_size"],
        num_hidden_layers=hp["num_hidden_layers"],
        num_attention_heads=hp["num_attention_heads"],
        num_key_value_heads=hp["num_key_value_heads"],
        head_dim=hp["hidden_size"] // hp["num_attention_heads"],
        rms_norm_eps=hp["rms_norm_eps"],
        tie_word_embeddings=False,
        attn_implementation="sdpa",
    )
    ref = Qwen3ForCausalLM(config).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(1.0 if p.ndim == 1 else 0.0, 0.2)
    from architectures import LLAMA
    from helpers import build

    attention = LLAMA.kwargs["attention_factory"].replace(
        qk_norm=True, qk_norm_eps=hp["rms_norm_eps"]
    )
    ours = build(LLAMA.replace(attention_factory=attention), hp).eval()
    load_into(ours, ref.state_dict(), llama_state_dict)
    ids = tokens(hp["vocab_size"])
    with torch.no_grad():
        assert_close(ours(ids).logits, ref(ids).logits)


def hf_gpt2(hp: dict, seed: int = 1) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=hp["vocab_size"],
        n_embd=hp["hidden_size"],
        n_layer=hp["num_hidden_layers"],
        n_head=hp["num_attention_heads"],
        n_inner=hp["intermediate_size"],
        n_positions=hp["max_position_embeddings"],
        layer_norm_epsilon=hp["layer_norm_eps"],
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
        attn_implementation="sdpa",
    )
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(1.0 if p.ndim == 1 else 0.0, 0.2)
    return model


@pytest.mark.parametrize("backend", ["sdpa", "eager"])
def test_gpt2_logits_match_transformers(backend):
    ref = hf_gpt2(TINY_GPT2)
    ours = gpt2(attention_backend=backend).eval()
    load_into(ours, ref.state_dict(), gpt2_state_dict)
    assert ours.model.output_head.weight is ours.model.input_encoder.embedding.weight
    ids = tokens(TINY_GPT2["vocab_size"], length=TINY_GPT2["max_position_embeddings"])
    with torch.no_grad():
        assert_close(ours(ids).logits, ref(ids).logits)


def test_conversion_rejects_unknown_weights():
    with pytest.raises(KeyError, match="no rule maps the Llama weight 'model.mystery'"):
        llama_state_dict({"model.mystery": torch.zeros(1)})
    with pytest.raises(KeyError, match="no rule maps the GPT-2 weight"):
        gpt2_state_dict({"transformer.h.0.attn.q_proj.weight": torch.zeros(1)})
