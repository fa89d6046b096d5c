"""Learned absolute position embeddings (GPT-2's `wpe`)."""

import torch
from torch import nn


class LearnedPE(nn.Module):
    """Adds a trained vector per position; positions must be < `max_sequence_length`."""

    def __init__(self, d_model: int, max_sequence_length: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(max_sequence_length, d_model)

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        return x + self.embedding(position_ids)  # (B, T, D) + (B|1, T, D)
