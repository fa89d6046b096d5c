"""A decoder-only causal language model assembled from block factories."""

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from .init_weights import init_normal
from .masks import build_attention_mask
from .null_pe import NullPE
from .output_head import OutputHead


class CausalLM(nn.Module):
    """Token ids (B, T) -> logits (B, T, vocab).

    Every part comes from a factory (a callable with no required arguments, typically a
    `functools.partial` / a config's `!partial`), so a config swaps one part by naming another:

    - `input_encoder_factory()`: token embedding, scaling, dropout (`input_encoder.InputEncoder`).
    - `positional_encoder_factory()`: see `null_pe` for the protocol; None = no positions.
    - `layer_stack_factory(layer_factory=...)`: the stack (`layer_stack.LayerStack`); it calls
      `layer_factory(layer_idx=i)`, which this class binds to
      `layer_factory(attention_factory=, feedforward_factory=, norm_factory=)`.
    - `attention_factory(layer_idx=i)`, `feedforward_factory()`, `norm_factory()`: the parts of a
      layer; `norm_factory()` also builds the final norm when the layer type needs one
      (`final_norm=None` asks the layers; True / False force it).
    - `output_head_factory()`: defaults to an `OutputHead` sized like the token embedding.
    - `init_weights(model)`: the initialisation scheme, applied once at the end of `__init__`
      (default `init_weights.init_normal`); kept as `init_weights_scheme`, so a model built on
      the meta device is initialised the same way once its parameters exist (`init_weights()`).
    - `tie_word_embeddings`: the output head shares the token embedding's weight.
    """

    def __init__(
        self,
        *,
        input_encoder_factory: Callable[[], nn.Module],
        attention_factory: Callable[..., nn.Module],
        feedforward_factory: Callable[[], nn.Module],
        norm_factory: Callable[[], nn.Module],
        layer_factory: Callable[..., nn.Module],
        layer_stack_factory: Callable[..., nn.Module],
        positional_encoder_factory: Callable[[], nn.Module] | None = None,
        output_head_factory: Callable[[], nn.Module] | None = None,
        init_weights: Callable[[nn.Module], None] | None = None,
        final_norm: bool | None = None,
        tie_word_embeddings: bool = False,
    ) -> None:
        super().__init__()
        self.input_encoder = input_encoder_factory()
        self.positional_encoder = (
            positional_encoder_factory() if positional_encoder_factory else NullPE()
        )
        layer = partial(
            layer_factory,
            attention_factory=attention_factory,
            feedforward_factory=feedforward_factory,
            norm_factory=norm_factory,
        )
        self.layer_stack = layer_stack_factory(layer_factory=layer)
        if final_norm is None:
            final_norm = getattr(self.layer_stack, "needs_final_norm", True)
        self.final_norm = norm_factory() if final_norm else nn.Identity()
        if output_head_factory is None:
            vocab_size, d_model = self.input_encoder.embedding.weight.shape
            output_head_factory = partial(OutputHead, d_model, vocab_size)
        self.output_head = output_head_factory()
        self.tie_word_embeddings = tie_word_embeddings
        if tie_word_embeddings:
            self.output_head.weight = (
                self.input_encoder.embedding.weight
            )  # Press & Wolf 2017
        self.init_weights_scheme = init_weights or init_normal
        self.init_weights_scheme(self)

    def init_weights(self) -> None:
        """Re-initialise every parameter: each part's `reset_parameters()` (norms to one, ...),
        then the scheme. Parameters still on the meta device are left as they are."""
        with torch.no_grad():
            for module in self.modules():
                if module is not self and callable(getattr(module, "reset_parameters", None)):
                    module.reset_parameters()
            self.init_weights_scheme(self)

    @property
    def num_layers(self) -> int:
        return len(self.layer_stack.layers)

    def forward(
        self,
        input_ids: torch.Tensor,
        *,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cache=None,
        logits_to_keep: int = 0,
    ) -> torch.Tensor:
        """`input_ids` (B, T); `attention_mask` (B, S) with 1 = token, 0 = padding, S = cached + T;
        `position_ids` (B, T) that restart inside a row mark packed documents, and attention
        stays inside each (`masks.document_ids`);
        `cache` a transformers `Cache` (updated in place); `logits_to_keep` > 0 computes logits
        for the last that many positions only. Returns logits (B, T or logits_to_keep, V).
        """
        T = input_ids.shape[1]
        past = cache.get_seq_length() if cache is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + T, device=input_ids.device)[
                None
            ]  # (1, T)
        pe = self.positional_encoder
        x = self.input_encoder(input_ids, position_ids, pe)  # (B, T, D)
        bias = (
            pe.attention_bias(T, past + T, x.device, x.dtype)
            if hasattr(pe, "attention_bias")
            else None
        )
        mask = build_attention_mask(
            T,
            past + T,
            padding_mask=attention_mask,
            position_ids=position_ids if cache is None else None,
            bias=bias,
            device=x.device,
            dtype=x.dtype,
        )  # None, (B|1, 1, T, S) bool or (B|1, H, T, S) additive
        rotary = pe.rotary(position_ids) if hasattr(pe, "rotary") else None
        x = self.layer_stack(x, rotary=rotary, attn_mask=mask, cache=cache)
        x = self.final_norm(x)
        if logits_to_keep:
            x = x[:, -logits_to_keep:]
        return self.output_head(x)
