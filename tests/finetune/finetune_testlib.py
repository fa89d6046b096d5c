"""A tiny "pretrained" causal LM and chat data, made locally (nothing can be downloaded): a BPE
tokenizer trained on a few documents and a Llama (or GPT-2) of random weights, written with
`save_pretrained` as a hub checkpoint would be."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from forgather.ml.data import train_bpe_tokenizer

CORPUS = [
    "The quick brown fox jumps over the lazy dog. " * 3,
    "What is two plus three? Two plus three is five. " * 3,
    "Hello! How are you today? I am fine, thank you. " * 3,
    "def add(a, b):\n    return a + b\n" * 3,
]


def conversations(n: int = 12) -> list[dict]:
    """Arithmetic chats: a user asks, the assistant answers; some with a system turn or two rounds."""
    out = []
    for i in range(n):
        a, b = i % 7, (3 * i) % 5
        messages = [{"role": "user", "content": f"What is {a} plus {b}?"},
                    {"role": "assistant", "content": f"{a} plus {b} is {a + b}."}]
        if i % 3 == 1:
            messages = [{"role": "system", "content": "You answer briefly."}] + messages
        if i % 4 == 2:
            messages += [{"role": "user", "content": "And times two?"},
                         {"role": "assistant", "content": f"That is {2 * (a + b)}."}]
        out.append({"messages": messages})
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def make_pretrained(directory: Path, arch: str = "llama", seed: int = 0, vocab_size: int = 300) -> Path:
    """Write a tiny model and its tokenizer into `directory` (as from_pretrained reads them)."""
    tokenizer = train_bpe_tokenizer(CORPUS, vocab_size=vocab_size, min_frequency=1)
    torch.manual_seed(seed)
    n = len(tokenizer)
    if arch == "llama":
        config = LlamaConfig(vocab_size=n, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                             bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)
        model = LlamaForCausalLM(config)
    else:
        config = GPT2Config(vocab_size=n, n_embd=32, n_layer=2, n_head=4, n_positions=256,
                            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
        model = GPT2LMHeadModel(config)
    with torch.no_grad():  # the default init is tiny; make the weights matter
        for p in model.parameters():
            if p.ndim == 2:
                p.normal_(0, 0.1)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return Path(directory)


def tiny_forgather_model(vocab_size: int = 64):
    """One of the project's own models (Llama blocks), built in process."""
    from functools import partial

    from forgather.ml.models.attention import CausalSelfAttention
    from forgather.ml.models.causal_lm import CausalLM
    from forgather.ml.models.dynamic import dynamic_causal_lm
    from forgather.ml.models.feedforward import GLUFeedforward
    from forgather.ml.models.input_encoder import InputEncoder
    from forgather.ml.models.layer_stack import LayerStack
    from forgather.ml.models.layers import PreLNLayer
    from forgather.ml.models.norms import RMSNorm
    from forgather.ml.models.rotary_pe import RotaryPE

    def definition(vocab_size: int, hidden_size: int):
        return CausalLM(
            input_encoder_factory=partial(InputEncoder, hidden_size, vocab_size),
            positional_encoder_factory=partial(RotaryPE, hidden_size, 2),
            attention_factory=partial(CausalSelfAttention, hidden_size, 2),
            feedforward_factory=partial(GLUFeedforward, hidden_size, 2 * hidden_size),
            norm_factory=partial(RMSNorm, hidden_size),
            layer_factory=PreLNLayer,
            layer_stack_factory=partial(LayerStack, num_layers=1),
        )

    torch.manual_seed(0)
    return dynamic_causal_lm(definition, vocab_size=vocab_size, hidden_size=16)
