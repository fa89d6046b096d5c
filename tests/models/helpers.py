"""Small builders shared by the model tests."""

import torch

from architectures import GPT2, GPT2_HPARAMS, LLAMA, LLAMA_HPARAMS
from forgather.ml.models.dynamic import DynamicCausalLM
from modelspec import definition_callable

TINY_LLAMA = dict(
    LLAMA_HPARAMS,
    vocab_size=101,
    hidden_size=48,
    num_attention_heads=6,
    num_key_value_heads=2,
    num_hidden_layers=3,
    intermediate_size=80,
)
TINY_GPT2 = dict(
    GPT2_HPARAMS,
    vocab_size=101,
    hidden_size=48,
    num_attention_heads=4,
    num_hidden_layers=3,
    intermediate_size=96,
    max_position_embeddings=64,
    embedding_dropout=0.0,
    attention_dropout=0.0,
    residual_dropout=0.0,
)


def build(definition, hparams, seed: int = 0):
    torch.manual_seed(seed)
    return DynamicCausalLM(definition_callable(definition), **hparams)


def llama(seed: int = 0, **overrides):
    return build(LLAMA, {**TINY_LLAMA, **overrides}, seed)


def gpt2(seed: int = 0, **overrides):
    return build(GPT2, {**TINY_GPT2, **overrides}, seed)
