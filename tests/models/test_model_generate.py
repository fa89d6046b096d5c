"""generate() with the key/value cache equals generation without it, and decoding step by step
through the cache gives the logits of a full forward pass."""

import pytest
import torch
from transformers import DynamicCache

from architectures import CAUSAL_LM, CAUSAL_LM_HPARAMS, DEEPNET, DEEPNET_HPARAMS
from forgather.ml.models.convert import llama_state_dict
from helpers import TINY_LLAMA, build, gpt2, llama
from test_model_hf_equivalence import hf_llama, load_into

TINY = dict(
    vocab_size=101,
    hidden_size=32,
    num_attention_heads=4,
    num_hidden_layers=2,
    intermediate_size=64,
    embedding_dropout=0.0,
    residual_dropout=0.0,
)
MODELS = {
    "llama": lambda: llama(),
    "gpt2": lambda: gpt2(),
    "deepnet-alibi": lambda: build(DEEPNET, {**DEEPNET_HPARAMS, **TINY}),
    "vanilla-sinusoidal": lambda: build(CAUSAL_LM, {**CAUSAL_LM_HPARAMS, **TINY}),
    "llama-eager-mqa": lambda: llama(attention_backend="eager", num_key_value_heads=1),
}


def prompts(vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two prompts, the second left-padded by three tokens."""
    ids = torch.randint(3, vocab, (2, 9), generator=torch.Generator().manual_seed(5))
    mask = torch.ones_like(ids)
    ids[1, :3], mask[1, :3] = 0, 0
    return ids, mask


@pytest.mark.parametrize("name", sorted(MODELS))
def test_greedy_generate_with_cache_equals_without(name):
    model = MODELS[name]().eval()
    ids, mask = prompts(model.config.vocab_size)
    settings = dict(
        max_new_tokens=12, do_sample=False, pad_token_id=0, eos_token_id=None
    )
    with_cache = model.generate(ids, attention_mask=mask, use_cache=True, **settings)
    without = model.generate(ids, attention_mask=mask, use_cache=False, **settings)
    assert with_cache.shape == (2, 9 + 12)
    assert torch.equal(with_cache, without)
    # the padded prompt continues as it would alone
    alone = model.generate(ids[1:, 3:], use_cache=True, **settings)
    assert torch.equal(alone[0, 6:], with_cache[1, 9:])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_stepwise_decoding_through_the_cache_matches_full_forward(name):
    model = MODELS[name]().eval()
    ids = torch.randint(
        0, model.config.vocab_size, (2, 12), generator=torch.Generator().manual_seed(6)
    )
    with torch.no_grad():
        full = model(ids).logits
        cache = DynamicCache()
        first = model(ids[:, :5], cache=cache, use_cache=True).logits  # prefill 5
        chunk = model(
            ids[:, 5:8], cache=cache, use_cache=True
        ).logits  # 3 at once, with a cache
        steps = [
            model(ids[:, t : t + 1], cache=cache, use_cache=True).logits
            for t in range(8, 12)
        ]
    stepped = torch.cat([first, chunk, *steps], dim=1)
    assert (stepped - full).abs().max().item() < 1e-5


def test_greedy_generation_matches_transformers_llama():
    ref = hf_llama(TINY_LLAMA)
    ours = llama().eval()
    load_into(ours, ref.state_dict(), llama_state_dict)
    ids = torch.randint(
        3, TINY_LLAMA["vocab_size"], (1, 7), generator=torch.Generator().manual_seed(7)
    )
    settings = dict(
        max_new_tokens=15, do_sample=False, pad_token_id=0, eos_token_id=None
    )
    assert torch.equal(ours.generate(ids, **settings), ref.generate(ids, **settings))
