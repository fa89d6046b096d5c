"""Transformer layers: pre-LN, post-LN and DeepNet (post-LN with scaled residuals).

Each layer builds its parts from factories: `attention_factory(layer_idx=i)`,
`feedforward_factory()` and `norm_factory()` (twice). `needs_final_norm` tells the causal LM
whether the stack's output still needs a normalisation before the output head.
"""

from collections.abc import Callable

import torch
from torch import nn


class PreLNLayer(nn.Module):
    """x + attn(norm(x)), then x + ff(norm(x)) (GPT-2, Llama; Xiong et al. 2020)."""

    needs_final_norm = True

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
        self.attn_norm = norm_factory()
        self.attention = attention_factory(layer_idx=layer_idx)
        self.ff_norm = norm_factory()
        self.feedforward = feedforward_factory()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        x = x + self.dropout(self.attention(self.attn_norm(x), **attn_kwargs))
        return x + self.dropout(self.feedforward(self.ff_norm(x)))


class PostLNLayer(nn.Module):
    """norm(x + attn(x)), then norm(x + ff(x)) (Vaswani et al. 2017)."""

    needs_final_norm = False

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
        self.attention = attention_factory(layer_idx=layer_idx)
        self.attn_norm = norm_factory()
        self.feedforward = feedforward_factory()
        self.ff_norm = norm_factory()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        x = self.attn_norm(x + self.dropout(self.attention(x, **attn_kwargs)))
        return self.ff_norm(x + self.dropout(self.feedforward(x)))


def deepnet_alpha(num_layers: int) -> float:
    """Residual scale of a decoder-only DeepNet: (2N)^(1/4) (Wang et al. 2022, Table 1)."""
    return (2 * num_layers) ** 0.25


def deepnet_beta(num_layers: int) -> float:
    """Init gain of a decoder-only DeepNet's value/output/feed-forward weights: (8N)^(-1/4)."""
    return (8 * num_layers) ** -0.25


class DeepNetLayer(nn.Module):
    """DeepNorm: norm(alpha * x + f(x)) for attention and feed-forward (Wang et al. 2022).

    Pair it with `init_weights.init_deepnet`, which applies the matching init gain beta.
    """

    needs_final_norm = False

    def __init__(
        self,
        attention_factory: Callable[..., nn.Module],
        feedforward_factory: Callable[[], nn.Module],
        norm_factory: Callable[[], nn.Module],
        *,
        num_layers: int,
        alpha: float | None = None,
        layer_idx: int = 0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.alpha = deepnet_alpha(num_layers) if alpha is None else alpha
        self.attention = attention_factory(layer_idx=layer_idx)
        self.attn_norm = norm_factory()
        self.feedforward = feedforward_factory()
        self.ff_norm = norm_factory()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        x = self.attn_norm(
            self.alpha * x + self.dropout(self.attention(x, **attn_kwargs))
        )
        return self.ff_norm(self.alpha * x + self.dropout(self.feedforward(x)))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:.4g}"
