"""No positional encoding, and the protocol every positional encoder follows.

A positional encoder is an `nn.Module`; the causal LM builds one per model and uses up to three
hooks, each optional except `forward`:

- `forward(x, position_ids) -> x`: called on the token embeddings `(B, T, D)` before the
  dropout; absolute encoders add their signal here, the others return `x` unchanged.
- `rotary(position_ids) -> rotate`: a callable `rotate(q, k) -> (q, k)` on `(B, H, T, hd)`
  tensors, computed once per forward pass and applied by every attention layer (RoPE).
- `attention_bias(q_len, kv_len, device, dtype) -> (H, q_len, kv_len)`: an additive bias on the
  attention scores, computed once per forward pass (ALiBi). Query i sits at key index
  `kv_len - q_len + i`.

A user module (say `walsh_pe.py` next to a template) only needs `forward`.
"""

import torch
from torch import nn


class NullPE(nn.Module):
    """No positional information: for models whose attention is order-aware by itself, or ablations."""

    def forward(
        self, x: torch.Tensor, position_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        return x
