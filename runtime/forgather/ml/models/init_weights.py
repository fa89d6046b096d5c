"""Initialisation schemes: `init(model)` re-initialises every Linear and Embedding weight in place.

Layers are recognised by their attribute names (`q_proj`, `k_proj`, `v_proj`, `o_proj`,
`gate_proj`, `up_proj`, `down_proj`, `output_head`), which the blocks of this package use.
Norms and positional-encoder parameters keep the values their constructors gave them. A
parameter shared by two modules (tied embeddings) is initialised once, by its first owner (the
token embedding). `num_layers` defaults to `model.num_layers`.
"""

import math

import torch
from torch import nn

RESIDUAL_WRITERS = (
    "o_proj",
    "down_proj",
)  # their output is added to the residual stream


def _linears_and_embeddings(model: nn.Module):
    """(attribute name, module) for each Linear / Embedding, skipping already-seen weights."""
    seen: set[int] = set()
    for name, module in model.named_modules():
        if (
            isinstance(module, (nn.Linear, nn.Embedding))
            and id(module.weight) not in seen
        ):
            seen.add(id(module.weight))
            yield name.rsplit(".", 1)[-1], module


def _num_layers(model: nn.Module, num_layers: int | None) -> int:
    if num_layers is None:
        num_layers = getattr(model, "num_layers", None)
    if not num_layers:
        raise ValueError("pass num_layers: the model has no num_layers attribute")
    return num_layers


def _zero_bias(module: nn.Module) -> None:
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)


@torch.no_grad()
def init_normal(
    model: nn.Module, *, std: float = 0.02, num_layers: int | None = None
) -> None:
    """GPT-2 / nanoGPT: N(0, std) weights, zero biases; layers writing into the residual stream
    get std / sqrt(2 * num_layers) (Radford et al. 2019 §2.3)."""
    residual_std = std / math.sqrt(2 * _num_layers(model, num_layers))
    for attr, module in _linears_and_embeddings(model):
        nn.init.normal_(
            module.weight, 0.0, residual_std if attr in RESIDUAL_WRITERS else std
        )
        _zero_bias(module)


@torch.no_grad()
def init_llama(
    model: nn.Module, *, std: float = 0.02, num_layers: int | None = None
) -> None:
    """In the style of TorchTitan's Llama: token embeddings N(0, 1); projections truncated
    normal (at 3 sigma) with std, residual writers std / sqrt(2 * num_layers); output head std
    d_model^-0.5. A token embedding tied to the output head takes N(0, std), as GPT-2 and HF
    Llama do: at init the final hidden state is mostly the token's own embedding, so a tied
    weight of std s gives the current token a logit of about d_model * s, and N(0, 1) would start
    the loss far above ln(vocab)."""
    residual_std = std / math.sqrt(2 * _num_layers(model, num_layers))
    tied = {id(m.weight) for n, m in model.named_modules() if n.rsplit(".", 1)[-1] == "output_head"}
    for attr, module in _linears_and_embeddings(model):
        if isinstance(module, nn.Embedding):
            s = std if id(module.weight) in tied else 1.0
            nn.init.normal_(module.weight, 0.0, s)
            continue
        if attr == "output_head":
            s = module.in_features**-0.5
        else:
            s = residual_std if attr in RESIDUAL_WRITERS else std
        nn.init.trunc_normal_(module.weight, 0.0, s, -3 * s, 3 * s)
        _zero_bias(module)


@torch.no_grad()
def init_deepnet(model: nn.Module, *, num_layers: int | None = None) -> None:
    """DeepNet (Wang et al. 2022): Xavier-normal with gain beta = (8N)^(-1/4) for values, attention
    output and feed-forward, gain 1 for queries and keys; embeddings and output head
    N(0, d_model^-0.5). Pair it with `layers.DeepNetLayer`."""
    beta = (8 * _num_layers(model, num_layers)) ** -0.25
    for attr, module in _linears_and_embeddings(model):
        if isinstance(module, nn.Embedding) or attr == "output_head":
            nn.init.normal_(module.weight, 0.0, module.weight.shape[1] ** -0.5)
        elif attr in ("q_proj", "k_proj"):
            nn.init.xavier_normal_(module.weight, gain=1.0)
        else:
            nn.init.xavier_normal_(module.weight, gain=beta)
        _zero_bias(module)
