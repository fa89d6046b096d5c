"""Walsh positional encoding: an absolute encoding built from Walsh functions (the rows of a
Hadamard matrix in natural order) instead of sinusoids.

Dimension j of position p is (-1)^popcount(p & (j + 1)): each dimension is a square wave over
positions, dimension 0 flips at every position and the higher ones at combinations of the
position's bits, so positions below 2^bit_length(d_model) get distinct codes. The codes are
computed from the positions at every call (nothing to save or restore, nothing to build on the
meta device transformers loads with) and added to the token embeddings, scaled to about their
size.

The protocol of a positional encoder (forgather.ml.models.null_pe): `forward(x, position_ids)`
returns the embeddings with the positions added. This module imports only torch, so it travels
with the exported model.
"""

import torch
from torch import nn


def walsh_codes(position_ids: torch.Tensor, d_model: int) -> torch.Tensor:
    """(..., d_model) of +-1 for integer positions (...): (-1)^popcount(p & (j + 1))."""
    masks = torch.arange(1, d_model + 1, device=position_ids.device)
    bits = position_ids[..., None] & masks  # (..., D)
    parity = torch.zeros_like(bits)
    for _ in range(d_model.bit_length()):  # a fixed count: no data-dependent loop (meta-safe)
        parity ^= bits & 1
        bits = bits >> 1
    return 1.0 - 2.0 * parity.float()


class WalshPE(nn.Module):
    def __init__(self, d_model: int, max_sequence_length: int, scale: float = 0.1) -> None:
        super().__init__()
        self.d_model = d_model
        self.max_sequence_length = max_sequence_length
        self.scale = scale  # no parameters and no buffers: the codes are computed from the sizes

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        if int(position_ids.max()) >= self.max_sequence_length:
            raise ValueError(
                f"WalshPE: position {int(position_ids.max())} is past max_sequence_length "
                f"{self.max_sequence_length}"
            )
        return x + self.scale * walsh_codes(position_ids, self.d_model).to(x.dtype)  # (B, T, D)

    def extra_repr(self) -> str:
        return f"{self.d_model}, max_sequence_length={self.max_sequence_length}, scale={self.scale}"
