"""Causal self-attention: multi-head, grouped-query (GQA) and multi-query (MQA), optional
QK-norm, SDPA or eager backend, key/value cache for generation."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .norms import RMSNorm


class CausalSelfAttention(nn.Module):
    """Attention with `num_heads` query heads sharing `num_kv_heads` key/value heads.

    `num_kv_heads` = `num_heads` is multi-head attention, 1 is multi-query (Shazeer 2019), values
    in between are grouped-query (Ainslie et al. 2023). `qk_norm` RMS-normalises each query and
    key head before the rotation (as Qwen3 / OLMo-2 do). `backend` is "sdpa"
    (`F.scaled_dot_product_attention`) or "eager" (the same arithmetic written out).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        *,
        num_kv_heads: int | None = None,
        head_dim: int | None = None,
        bias: bool = False,
        qk_norm: bool = False,
        qk_norm_eps: float = 1e-6,
        dropout: float = 0.0,
        backend: str = "sdpa",
        layer_idx: int = 0,
    ) -> None:
        super().__init__()
        num_kv_heads = num_kv_heads or num_heads
        if num_heads % num_kv_heads:
            raise ValueError(
                f"num_heads ({num_heads}) must be a multiple of num_kv_heads ({num_kv_heads})"
            )
        if head_dim is None and d_model % num_heads:
            raise ValueError(
                f"d_model ({d_model}) must be a multiple of num_heads ({num_heads}) or give head_dim"
            )
        if backend not in ("sdpa", "eager"):
            raise ValueError(f"backend must be 'sdpa' or 'eager', got {backend!r}")
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        self.head_dim = head_dim or d_model // num_heads
        self.dropout, self.backend, self.layer_idx = dropout, backend, layer_idx
        self.q_proj = nn.Linear(d_model, num_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(d_model, num_kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(d_model, num_kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(num_heads * self.head_dim, d_model, bias=bias)
        self.q_norm = RMSNorm(self.head_dim, eps=qk_norm_eps) if qk_norm else None
        self.k_norm = RMSNorm(self.head_dim, eps=qk_norm_eps) if qk_norm else None

    def tp_plan(self, degree: int) -> dict:
        """How tensor parallel splits this block over ``degree`` processes (Megatron's split):
        q/k/v by output rows (each process computes whole heads of its own), the output
        projection by input columns (its partial sums all-reduced). The forward then runs on the
        local heads: it takes their number from the projections' outputs."""
        from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel

        for name, heads in (("num_heads", self.num_heads), ("num_kv_heads", self.num_kv_heads)):
            if heads % degree:
                raise ValueError(f"tensor parallel over {degree} processes splits attention by heads: "
                                 f"{name}={heads} (layer {self.layer_idx}) is not a multiple of {degree}")
        return {"q_proj": ColwiseParallel(), "k_proj": ColwiseParallel(), "v_proj": ColwiseParallel(),
                "o_proj": RowwiseParallel()}

    def forward(
        self, x: torch.Tensor, *, rotary=None, attn_mask=None, cache=None
    ) -> torch.Tensor:
        """`x` (B, T, D); `rotary` from the positional encoder or None; `attn_mask` from
        `masks.attention_mask` (None = plain causal); `cache` a transformers `Cache` or None.
        """
        B, T, _ = x.shape
        # heads: -1, since under tensor parallel this process holds a part of them
        q = self.q_proj(x).view(B, T, -1, self.head_dim).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, -1, self.head_dim).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(x).view(B, T, -1, self.head_dim).transpose(1, 2)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if rotary is not None:
            q, k = rotary(q, k)
        if cache is not None:
            k, v = cache.update(k, v, self.layer_idx)  # (B, nkv, S, hd), S = cached + T
        dropout = self.dropout if self.training else 0.0
        if self.backend == "sdpa":
            y = F.scaled_dot_product_attention(
                q,
                k,
                v,
                attn_mask=attn_mask,
                dropout_p=dropout,
                is_causal=attn_mask is None and T > 1,
                enable_gqa=self.num_kv_heads != self.num_heads,
            )
        else:
            y = eager_attention(q, k, v, attn_mask, dropout)
        y = y.transpose(1, 2).reshape(B, T, -1)  # (B, T, nh*hd)
        return self.o_proj(y)

    def extra_repr(self) -> str:
        return f"heads={self.num_heads}, kv_heads={self.num_kv_heads}, head_dim={self.head_dim}, backend={self.backend}"


def eager_attention(q, k, v, attn_mask, dropout: float) -> torch.Tensor:
    """softmax(q k^T / sqrt(hd) + mask) v, spelled out; same conventions as SDPA above."""
    groups = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(
        groups, dim=1
    )  # kv head j serves query heads j*groups ... (j+1)*groups-1
    v = v.repeat_interleave(groups, dim=1)
    T, S = q.shape[-2], k.shape[-2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # (B, nh, T, S)
    if attn_mask is None:
        if T > 1:
            causal = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(S - T)
            scores = scores.masked_fill(~causal, float("-inf"))
    elif attn_mask.dtype == torch.bool:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    else:
        scores = scores + attn_mask
    weights = F.softmax(scores.float(), dim=-1).to(q.dtype)
    weights = F.dropout(weights, p=dropout, training=dropout > 0)
    return weights @ v  # (B, nh, T, hd)
