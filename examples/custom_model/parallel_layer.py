"""A parallel transformer layer (GPT-J; PaLM, Chowdhery et al. 2022 section 2): attention and the
feed-forward read the same normalised input and their outputs are added to the residual together,

    y = x + attn(norm(x)) + ff(norm(x))

instead of one after the other. One norm per layer, and the two branches can run at once.

It follows the layer protocol of forgather.ml.models.layers (the factories, `layer_idx`,
`needs_final_norm`) and imports only torch, so it travels with the exported model.
"""

from collections.abc import Callable

import torch
from torch import nn


class ParallelLayer(nn.Module):
    needs_final_norm = True  # the stack's output is a residual sum: normalise before the head

    def __init__(
        self,
        attention_factory: Callable[..., nn.Module],
        feedforward_factory: Callable[[], nn.Module],
        norm_factory: Callable[[], nn.Module],
        *,
        layer_idx: int = 0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.norm = norm_factory()
        self.attention = attention_factory(layer_idx=layer_idx)
        self.feedforward = feedforward_factory()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        h = self.norm(x)  # (B, T, D)
        return x + self.dropout(self.attention(h, **attn_kwargs) + self.feedforward(h))
