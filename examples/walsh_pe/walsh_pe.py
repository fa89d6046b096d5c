"""Walsh positional encoding: an absolute encoding built from Walsh functions (the rows of a
Hadamard matrix in natural order) instead of sinusoids.

Dimension j of position p is (-1)^popcount(p & (j + 1)): each dimension is a square wave over
positions, dimension 0 flips at every position and the higher ones at combinations of the
position's bits, so positions below 2^bit_length(d_model) get distinct codes. The table is
computed once and added to the token embeddings, scaled to about their size.

The protocol of a positional encoder (forgather.ml.models.null_pe): `forward(x, position_ids)`
returns the embeddings with the positions added. This module imports only torch, so it travels
with the exported model.
"""

import torch
from torch import nn


def walsh_table(length: int, d_model: int) -> torch.Tensor:
    """(length, d_model) of +-1: entry (p, j) is (-1)^popcount(p & (j + 1))."""
    bits = torch.arange(length)[:, None] & torch.arange(1, d_model + 1)[None, :]  # (L, D)
    parity = torch.zeros_like(bits)
    while bool(bits.any()):
        parity ^= bits & 1
        bits = bits >> 1
    return 1.0 - 2.0 * parity.float()


class WalshPE(nn.Module):
    def __init__(self, d_model: int, max_sequence_length: int, scale: float = 0.1) -> None:
        super().__init__()
        self.max_sequence_length = max_sequence_length
        self.scale = scale
        # Not a parameter and not saved: the table is a function of the sizes.
        self.register_buffer("table", walsh_table(max_sequence_length, d_model), persistent=False)

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        if int(position_ids.max()) >= self.max_sequence_length:
            raise ValueError(
                f"WalshPE: position {int(position_ids.max())} is past max_sequence_length "
                f"{self.max_sequence_length}"
            )
        return x + self.scale * self.table[position_ids].to(x.dtype)  # (B, T, D) + (B|1, T, D)
