"""Input encoder: token embedding, optional scaling, absolute positions, dropout."""

import math

import torch
from torch import nn


class InputEncoder(nn.Module):
    """Maps token ids `(B, T)` to input vectors `(B, T, d_model)`.

    `scale_sqrt_d_model` multiplies the embeddings by sqrt(d_model) as in Vaswani et al. 2017
    §3.4 (pairs with an N(0, 1/d_model) embedding init); `scale` is a further constant factor.
    The positional encoder, when the causal LM passes one, adds absolute positions before the
    dropout, as GPT-2 does: drop(wte + wpe).
    """

    def __init__(
        self,
        d_model: int,
        vocab_size: int,
        *,
        dropout: float = 0.0,
        scale: float = 1.0,
        scale_sqrt_d_model: bool = False,
        padding_idx: int | None = None,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.scale = scale * (math.sqrt(d_model) if scale_sqrt_d_model else 1.0)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor | None = None,
        positional_encoder: nn.Module | None = None,
    ) -> torch.Tensor:
        x = self.embedding(input_ids)  # (B, T, D)
        if self.scale != 1.0:
            x = x * self.scale
        if positional_encoder is not None:
            x = positional_encoder(x, position_ids)
        return self.dropout(x)

    def extra_repr(self) -> str:
        return f"scale={self.scale:g}"
