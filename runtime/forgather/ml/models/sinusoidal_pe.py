"""Fixed sinusoidal position encoding (Vaswani et al. 2017 §3.5)."""

import math

import torch
from torch import nn


class SinusoidalPE(nn.Module):
    """Adds PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).

    Computed from `position_ids` on the fly: no table, no length limit, nothing to save, and
    packed sequences (positions that restart) work as they are.
    """

    def __init__(self, d_model: int, *, base: float = 10000.0) -> None:
        super().__init__()
        if d_model % 2:
            raise ValueError(f"SinusoidalPE needs an even d_model, got {d_model}")
        self.d_model = d_model
        self.base = base

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        i2 = torch.arange(0, self.d_model, 2, device=x.device, dtype=torch.float32)
        inv_freq = torch.exp(i2 * (-math.log(self.base) / self.d_model))  # (D/2,)
        angles = position_ids[..., None].float() * inv_freq  # (B, T, D/2)
        pe = torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(
            -2
        )  # (B, T, D) sin, cos interleaved
        return x + pe.to(x.dtype)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, base={self.base:g}"
