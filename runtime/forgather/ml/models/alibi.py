"""Attention with linear biases (ALiBi, Press et al. 2022): no embeddings, a per-head distance
penalty on the attention scores."""

import math

import torch
from torch import nn


def alibi_slopes(num_heads: int) -> list[float]:
    """The paper's geometric slopes 2^(-8/n), 2^(-16/n), ...; for a head count that is not a
    power of two, the slopes of the next lower power of two plus every other slope of the next
    higher one (the reference implementation's rule)."""
    if num_heads & (num_heads - 1) == 0:
        start = 2 ** (-8 / num_heads)
        return [start ** (h + 1) for h in range(num_heads)]
    lower = 2 ** math.floor(math.log2(num_heads))
    return alibi_slopes(lower) + alibi_slopes(2 * lower)[0::2][: num_heads - lower]


class ALiBi(nn.Module):
    """Bias (H, T, S) = slope_h * (key index - query index); positive entries are masked anyway.

    Uses sequence indices, not `position_ids`, so left padding (masked) changes nothing.
    `trainable=True` makes the slopes parameters (saved with the model).
    """

    def __init__(self, num_heads: int, *, trainable: bool = False) -> None:
        super().__init__()
        self.num_heads = num_heads
        slopes = torch.tensor(alibi_slopes(num_heads), dtype=torch.float32)
        self.slopes = nn.Parameter(slopes) if trainable else None
        self._fixed: dict[torch.device, torch.Tensor] = (
            {}
        )  # derived, never saved: safe on meta

    def reset_parameters(self) -> None:
        if self.slopes is not None:
            with torch.no_grad():
                self.slopes.copy_(torch.tensor(alibi_slopes(self.num_heads)))

    def forward(
        self, x: torch.Tensor, position_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        return x  # positions enter through the attention scores

    def attention_bias(
        self, q_len: int, kv_len: int, device: torch.device, dtype: torch.dtype
    ) -> torch.Tensor:
        slopes = self.slopes
        if slopes is None:
            if device not in self._fixed:
                self._fixed[device] = torch.tensor(
                    alibi_slopes(self.num_heads), device=device
                )
            slopes = self._fixed[device]
        q_idx = torch.arange(kv_len - q_len, kv_len, device=device)
        k_idx = torch.arange(kv_len, device=device)
        distance = (
            k_idx[None, :] - q_idx[:, None]
        ).float()  # (T, S), <= 0 where attended
        return (slopes[:, None, None] * distance).to(dtype)  # (H, T, S)

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, trainable={self.slopes is not None}"
