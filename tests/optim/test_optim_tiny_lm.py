"""Each optimizer trains a tiny transformers LlamaForCausalLM on bytes of local text (the Python
standard library's own source) and lowers its held-out loss."""

import json
from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from forgather.ml.optim import APOLLO, SGD, Adafactor, AdamW, GaLoreAdamW, apollo_mini, cosine_with_warmup

STEPS, BATCH, LENGTH = 30, 8, 32
MATRICES = r"_proj\.weight$"  # attention and MLP projections: what GaLore / APOLLO project

OPTIMIZERS = {
    "adamw": lambda m: AdamW(m.parameters(), lr=1e-2, weight_decay=0.01),
    "sgd": lambda m: SGD(m.parameters(), lr=0.2, momentum=0.9),
    "adafactor": lambda m: Adafactor(m.parameters(), lr=1e-2, relative_step=False, scale_parameter=False),
    "adafactor_relative": lambda m: Adafactor(m.parameters(), scale_parameter=False),
    "galore": lambda m: GaLoreAdamW(m.named_parameters(), lr=1e-2, rank=8, update_proj_gap=20, target=MATRICES),
    "apollo": lambda m: APOLLO(m.named_parameters(), lr=1e-2, rank=8, update_proj_gap=20, target=MATRICES),
    "apollo_mini": lambda m: apollo_mini(m.named_parameters(), lr=1e-2, update_proj_gap=20, target=MATRICES),
}


def corpus() -> torch.Tensor:
    package = Path(json.__file__).parent
    text = (package / "decoder.py").read_bytes() + (package / "encoder.py").read_bytes()
    return torch.tensor(list(text), dtype=torch.long)


def windows(data: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    starts = torch.randint(0, len(data) - LENGTH - 1, (count,), generator=torch.Generator().manual_seed(seed))
    return torch.stack([data[s : s + LENGTH + 1] for s in starts.tolist()])


def mean_loss(model: LlamaForCausalLM, batch: torch.Tensor) -> float:
    with torch.no_grad():
        return float(model(input_ids=batch, labels=batch).loss)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_lowers_tiny_lm_loss(name):
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=256,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=LENGTH + 1,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    data = corpus()
    train_data, held_out = data[: len(data) * 9 // 10], windows(data[len(data) * 9 // 10 :], 32, seed=1)
    optimizer = OPTIMIZERS[name](model)
    scheduler = None
    if optimizer.param_groups[0]["lr"] is not None:  # relative-step Adafactor has its own schedule
        scheduler = cosine_with_warmup(optimizer, warmup_steps=5, total_steps=STEPS, min_lr_ratio=0.1)
    before = mean_loss(model, held_out)
    for step in range(STEPS):
        batch = windows(train_data, BATCH, seed=100 + step)
        optimizer.zero_grad(set_to_none=True)
        model(input_ids=batch, labels=batch).loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    after = mean_loss(model, held_out)
    assert after < before - 1.0, f"{name}: held-out loss {before:.3f} -> {after:.3f}"
