"""Splitting a causal LM built from our blocks into pipeline stages, by layer.

A stage is a `CausalLMStage`: the first holds the input encoder, every stage a run of consecutive
layers, the last the final norm and the output head. The stage modules *share* their parts with
the whole model (no copies), and name them as the whole model does (`layer_stack.layers.3...`),
so a stage's state dict is a slice of the model's and checkpoints merge back by name.

A parameter that several stages hold (the token embedding tied to the output head, a trainable
ALiBi slope, a positional encoder with weights that later stages need for `rotary`) is a *shared
parameter*: `shared_parameters` lists its holders, and the pipeline trainer sums its gradient over
them so every copy takes the same step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributed.pipelining._utils import generate_stage_to_rank_mapping
from torch.utils.checkpoint import checkpoint

from ..models.masks import build_attention_mask


class SplitError(ValueError):
    """The model cannot be split as asked; the message says why."""


def core_model(model: nn.Module) -> tuple[nn.Module, str]:
    """The `CausalLM` inside `model` and the prefix of its names in `model.state_dict()`.

    Accepts a `CausalLM` or a Hugging Face wrapper holding one at `.model` (`ForgatherCausalLM`).
    """
    for core, prefix in ((model, ""), (getattr(model, "model", None), "model.")):
        if core is not None and all(
            hasattr(core, part) for part in ("input_encoder", "layer_stack", "final_norm", "output_head")
        ) and isinstance(getattr(core.layer_stack, "layers", None), nn.ModuleList):
            return core, prefix
    raise SplitError(
        f"cannot split {type(model).__name__} into pipeline stages: expected a causal LM built from "
        "forgather.ml.models blocks (input_encoder, layer_stack.layers, final_norm, output_head), "
        "or a Hugging Face wrapper holding one at .model"
    )


def even_split_points(num_layers: int, num_stages: int) -> list[int]:
    """The first layer of stages 1..S-1 for an even split; the remainder goes to the middle stages
    first (the first and last stages also run the embedding and the head with the loss)."""
    if num_stages < 1:
        raise SplitError(f"need at least one pipeline stage, got {num_stages}")
    if num_layers < num_stages:
        raise SplitError(
            f"cannot split {num_layers} layers into {num_stages} stages with at least one layer each; "
            "use fewer stages or give split_points"
        )
    base, extra = divmod(num_layers, num_stages)
    order = list(range(1, num_stages - 1)) + [0, num_stages - 1] if num_stages > 2 else list(range(num_stages))
    counts = [base] * num_stages
    for stage in order[:extra]:
        counts[stage] += 1
    points, start = [], 0
    for count in counts[:-1]:
        start += count
        points.append(start)
    return points


def check_split_points(points: Sequence[int], num_layers: int, num_stages: int) -> list[int]:
    """Validate explicit split points: S-1 strictly increasing layer indices in [0, num_layers]."""
    points = [int(p) for p in points]
    if len(points) != num_stages - 1:
        raise SplitError(
            f"split_points {points} give {len(points) + 1} stages, but the pipeline has {num_stages} "
            f"(world size x stages_per_rank): give {num_stages - 1} split points"
        )
    bounds = [0, *points, num_layers]
    for a, b in zip(bounds[1:-2], bounds[2:-1]):
        if b <= a:
            raise SplitError(f"split_points {points} must be strictly increasing (a middle stage would be empty)")
    if points and (points[0] < 0 or points[-1] > num_layers):
        raise SplitError(f"split_points {points} must lie in [0, {num_layers}] (the model has {num_layers} layers)")
    return points


def stage_layer_ranges(num_layers: int, num_stages: int, split_points: Sequence[int] | None) -> list[range]:
    points = (
        even_split_points(num_layers, num_stages)
        if split_points is None
        else check_split_points(split_points, num_layers, num_stages)
    )
    bounds = [0, *points, num_layers]
    return [range(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


class _Layers(nn.Module):
    """Holds the stage's layers as `layers.<index in the whole model>` (the whole model's names)."""

    def __init__(self, layers: dict[str, nn.Module], gradient_checkpointing: bool, stride: int) -> None:
        super().__init__()
        self.layers = nn.ModuleDict(layers)
        self.gradient_checkpointing = gradient_checkpointing
        self.checkpoint_stride = stride

    def forward(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        for name, layer in self.layers.items():
            if self.gradient_checkpointing and self.training and int(name) % self.checkpoint_stride == 0:
                x = checkpoint(layer, x, use_reentrant=False, **attn_kwargs)
            else:
                x = layer(x, **attn_kwargs)
        return x


class CausalLMStage(nn.Module):
    """Stage `index` of a causal LM: hidden states (or token ids on the first stage) in, hidden
    states (or logits on the last stage) out. Every stage receives `position_ids` and the padding
    `attention_mask` as keyword arguments and builds its own rotary tables and mask, so only the
    hidden states travel between stages."""

    def __init__(self, model: nn.Module, layers: range, *, is_first: bool, is_last: bool) -> None:
        super().__init__()
        core, _ = core_model(model)
        self.is_first, self.is_last = is_first, is_last
        self.input_encoder = core.input_encoder if is_first else None
        pe = core.positional_encoder
        # Later stages need the encoder only for what it gives the attention (rotation, bias).
        needs_pe = is_first or hasattr(pe, "rotary") or hasattr(pe, "attention_bias")
        self.positional_encoder = pe if needs_pe else None
        stack = core.layer_stack
        self.layer_stack = _Layers(
            {str(i): stack.layers[i] for i in layers},
            getattr(stack, "gradient_checkpointing", False),
            getattr(stack, "checkpoint_stride", 1),
        )
        self.final_norm = core.final_norm if is_last else None
        self.output_head = core.output_head if is_last else None

    def forward(
        self,
        x: torch.Tensor,
        position_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        T = x.shape[1]
        if position_ids is None:
            position_ids = torch.arange(T, device=x.device)[None]  # (1, T)
        pe = self.positional_encoder
        if self.is_first:
            x = self.input_encoder(x, position_ids, pe)  # (B, T) ids -> (B, T, D)
        bias = pe.attention_bias(T, T, x.device, x.dtype) if hasattr(pe, "attention_bias") else None
        mask = build_attention_mask(T, T, padding_mask=attention_mask, position_ids=position_ids, bias=bias,
                                    device=x.device, dtype=x.dtype)  # packed documents: attention stays in each
        rotary = pe.rotary(position_ids) if hasattr(pe, "rotary") else None
        x = self.layer_stack(x, rotary=rotary, attn_mask=mask, cache=None)
        if self.is_last:
            x = self.output_head(self.final_norm(x))  # (B, T, V)
        return x


@dataclass
class SharedParameter:
    """A parameter held by more than one stage (e.g. a tied embedding)."""

    name: str  # its name in the whole model's state dict
    stages: list[int]  # the stages holding it, ascending; the first one owns it


@dataclass
class PipelineSplit:
    """The stages of a model and what they share."""

    stages: list[CausalLMStage]
    layer_ranges: list[range]
    prefix: str  # "model." for a Hugging Face wrapper: prefix + a stage's name = the model's name
    shared: list[SharedParameter]
    owner: dict[str, int]  # every model state-dict key (parameters and buffers) -> owning stage
    canonical: dict[str, str]  # model key -> the first key naming the same tensor (tied weights)

    def stage_state_dict(self, index: int) -> dict[str, torch.Tensor]:
        """The tensors that stage `index` owns, each once, under the whole model's names."""
        state = self.stages[index].state_dict()
        return {
            self.prefix + k: v
            for k, v in state.items()
            if self.owner.get(self.prefix + k) == index and self.canonical.get(self.prefix + k) == self.prefix + k
        }


def split_model(model: nn.Module, num_stages: int, split_points: Sequence[int] | None = None) -> PipelineSplit:
    """Split `model` into `num_stages` stages by layer (`split_points`: the first layer of stages
    1..S-1; None: an even split)."""
    core, prefix = core_model(model)
    ranges = stage_layer_ranges(len(core.layer_stack.layers), num_stages, split_points)
    stages = [
        CausalLMStage(model, r, is_first=i == 0, is_last=i == num_stages - 1) for i, r in enumerate(ranges)
    ]
    # Which stages hold each tensor, by identity: a tied weight is one tensor with two names.
    holders: dict[int, list[int]] = {}
    for index, stage in enumerate(stages):
        for tensor in stage.state_dict(keep_vars=True).values():
            entry = holders.setdefault(id(tensor), [])
            if index not in entry:
                entry.append(index)
    first_key: dict[int, str] = {}
    owner, canonical = {}, {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        if id(tensor) not in holders:
            raise SplitError(f"{key} belongs to no pipeline stage: the split does not cover the whole model")
        owner[key] = holders[id(tensor)][0]
        canonical[key] = first_key.setdefault(id(tensor), key)
    shared = [
        SharedParameter(first_key[id(p)], holders[id(p)])
        for p in model.parameters()  # yields a tied parameter once
        if len(holders.get(id(p), [])) > 1
    ]
    return PipelineSplit(stages, ranges, prefix, shared, owner, canonical)


def stage_to_rank(world_size: int, num_stages: int, style: str) -> dict[int, int]:
    """Which rank runs each stage: "loop" gives rank r the stages r, r + W, r + 2W, ...; "v" (the
    ZB-V and DualPipeV schedules) zig-zags, giving rank r the stages r and 2W - 1 - r. The
    schedules place stages with the same function, so the two always agree."""
    if style not in ("loop", "v"):
        raise SplitError(f"unknown stage placement style {style!r} (expected 'loop' or 'v')")
    return generate_stage_to_rank_mapping(world_size, num_stages, style=style)


def stage_indices(rank: int, world_size: int, num_stages: int, style: str) -> list[int]:
    """The stages that `rank` runs, ascending."""
    return sorted(s for s, r in stage_to_rank(world_size, num_stages, style).items() if r == rank)
