"""A stack of identical layers with optional activation checkpointing."""

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


class LayerStack(nn.Module):
    """`num_layers` layers from `layer_factory(layer_idx=i)`, applied in order.

    With `gradient_checkpointing` (also switched by transformers'
    `gradient_checkpointing_enable()`), every `checkpoint_stride`-th layer recomputes its
    activations in the backward pass instead of storing them (Chen et al. 2016).
    """

    def __init__(
        self,
        layer_factory: Callable[..., nn.Module],
        num_layers: int,
        *,
        gradient_checkpointing: bool = False,
        checkpoint_stride: int = 1,
    ) -> None:
        super().__init__()
        if num_layers < 1 or checkpoint_stride < 1:
            raise ValueError(
                f"need num_layers >= 1 and checkpoint_stride >= 1, got {num_layers}, {checkpoint_stride}"
            )
        self.layers = nn.ModuleList(
            layer_factory(layer_idx=i) for i in range(num_layers)
        )
        self.gradient_checkpointing = gradient_checkpointing
        self.checkpoint_stride = checkpoint_stride

    def forward(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            if (
                self.gradient_checkpointing
                and self.training
                and i % self.checkpoint_stride == 0
            ):
                x = self._checkpoint(layer, x, **attn_kwargs)
            else:
                x = layer(x, **attn_kwargs)
        return x

    def _checkpoint(self, layer: nn.Module, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        # transformers' activation_checkpointing_enable(kwargs) sets _gradient_checkpointing_func
        # (torch's checkpoint with those kwargs, or its CPU-offloading variant)
        func = getattr(self, "_gradient_checkpointing_func", None)
        if func is None:
            return checkpoint(layer, x, use_reentrant=False, **attn_kwargs)
        return func(layer, x, **attn_kwargs)

    @property
    def needs_final_norm(self) -> bool:
        return bool(getattr(self.layers[0], "needs_final_norm", False))
