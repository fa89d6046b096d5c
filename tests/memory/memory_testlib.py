"""Tiny models and batches shared by the memory tests."""

from __future__ import annotations

import copy

import torch
from transformers import LlamaConfig, LlamaForCausalLM

VOCAB = 97
CUDA = torch.cuda.is_available()


def tiny_llama(seed: int = 0, *, tied: bool = False, layers: int = 2, dtype: torch.dtype = torch.float32) -> LlamaForCausalLM:
    """A 2-layer transformers Llama (hidden 32): deterministic, no dropout."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=tied,
        use_cache=False,
    )
    return LlamaForCausalLM(config).to(dtype)


def batches(n: int, seed: int = 1, batch: int = 3, length: int = 16) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, VOCAB, (batch, length), generator=g) for _ in range(n)]


def clone(model: torch.nn.Module) -> torch.nn.Module:
    return copy.deepcopy(model)


def lm_loss(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    from forgather.ml.loss import causal_lm_loss

    return causal_lm_loss(model(input_ids=ids).logits, ids)


def same_parameters(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def roundtrip(state: dict) -> dict:
    """What a checkpoint does to a state dict: torch.save, then a weights-only torch.load."""
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)
