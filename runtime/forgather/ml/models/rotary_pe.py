"""Rotary position embedding (RoPE, Su et al. 2021), with optional Llama-3 frequency scaling.

Uses the rotate-half layout of Hugging Face's Llama, so Llama weights need no permutation.
"""

import math

import torch
from torch import nn


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Rotation:
    """The cos/sin of one forward pass; rotates queries and keys `(B, H, T, hd)`."""

    def __init__(self, cos: torch.Tensor, sin: torch.Tensor) -> None:
        self.cos = cos[:, None]  # (B, 1, T, hd)
        self.sin = sin[:, None]

    def __call__(
        self, q: torch.Tensor, k: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if q.shape[-1] != self.cos.shape[-1]:
            raise ValueError(
                f"RotaryPE rotates head_dim {self.cos.shape[-1]} but the attention heads have {q.shape[-1]}: "
                "give RotaryPE the attention's d_model and num_heads (or head_dim)"
            )
        cos, sin = self.cos.to(q.dtype), self.sin.to(q.dtype)
        return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def llama3_scaled(inv_freq: torch.Tensor, scaling: dict) -> torch.Tensor:
    """Llama 3.1's three-band frequency scaling: long wavelengths are divided by `factor`, short
    ones kept, and the band between interpolated smoothly (Meta's `apply_scaling`)."""
    factor = scaling["factor"]
    low_freq_factor = scaling.get("low_freq_factor", 1.0)
    high_freq_factor = scaling.get("high_freq_factor", 4.0)
    old_context = scaling.get("original_max_position_embeddings", 8192)
    low_freq_wavelen = old_context / low_freq_factor
    high_freq_wavelen = old_context / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    smooth = (old_context / wavelen - low_freq_factor) / (
        high_freq_factor - low_freq_factor
    )
    interpolated = (1 - smooth) * inv_freq / factor + smooth * inv_freq
    scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, interpolated)
    return torch.where(wavelen < high_freq_wavelen, inv_freq, scaled)


class RotaryPE(nn.Module):
    """RoPE shared by all attention layers: `rotary(position_ids)` is computed once per pass.

    `scaling` is None or a dict like Hugging Face's `rope_scaling` / `rope_parameters` with
    `rope_type: llama3` and `factor`, `low_freq_factor`, `high_freq_factor`,
    `original_max_position_embeddings`.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        *,
        head_dim: int | None = None,
        theta: float = 10000.0,
        scaling: dict | None = None,
    ) -> None:
        super().__init__()
        self.head_dim = head_dim or d_model // num_heads
        if self.head_dim % 2:
            raise ValueError(f"RotaryPE needs an even head_dim, got {self.head_dim}")
        rope_type = (scaling or {}).get(
            "rope_type", (scaling or {}).get("type", "default")
        )
        if scaling is not None and rope_type not in ("llama3", "default"):
            raise ValueError(
                f"RotaryPE supports rope_type 'llama3' or 'default', got {rope_type!r}"
            )
        self.theta = theta
        self.scaling = scaling if rope_type == "llama3" else None
        self._inv_freq: dict[torch.device, torch.Tensor] = (
            {}
        )  # derived, never saved: safe on meta

    def inv_freq(self, device: torch.device) -> torch.Tensor:
        if device not in self._inv_freq:
            exponents = (
                torch.arange(0, self.head_dim, 2, dtype=torch.float32, device=device)
                / self.head_dim
            )
            inv_freq = 1.0 / (self.theta**exponents)  # (hd/2,)
            if self.scaling is not None:
                inv_freq = llama3_scaled(inv_freq, self.scaling)
            self._inv_freq[device] = inv_freq
        return self._inv_freq[device]

    def forward(
        self, x: torch.Tensor, position_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        return x  # positions enter through the attention

    def rotary(self, position_ids: torch.Tensor) -> Rotation:
        freqs = position_ids[..., None].float() * self.inv_freq(
            position_ids.device
        )  # (B, T, hd/2)
        angles = torch.cat((freqs, freqs), dim=-1)  # (B, T, hd)
        return Rotation(angles.cos(), angles.sin())

    def extra_repr(self) -> str:
        return f"head_dim={self.head_dim}, theta={self.theta:g}, scaling={self.scaling}"
