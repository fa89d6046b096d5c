"""APOLLO and APOLLO-Mini (Zhu et al., "APOLLO: SGD-like Memory, AdamW-level Performance",
arXiv 2412.05270, Algorithm 1).

For a projected m x n matrix W with gradient G, at step t (counted from 0), with r = min(rank,
m, n) and the channels along the larger dimension of W:

    every update_proj_gap steps:  P ~ N(0, 1/r), drawn from a generator seeded with
                                  projection_seed(seed, parameter index, t // update_proj_gap)
    R = P G (r x n, when m < n)   or   R = G P^T (m x r, when m >= n)
    m <- beta1 m + (1 - beta1) R      v <- beta2 v + (1 - beta2) R^2     (low-rank moments)
    R~ = m / (sqrt(v) + eps)
    channel-wise:  s_j = ||R~_j|| / (||R_j|| + 1e-8)  for each channel j;  tensor-wise: one s
    U = G * s                                             (the scaled raw gradient)
    norm-growth limiter (Fira): if ||U|| > gamma * ||U_prev||: U <- U * gamma * ||U_prev|| / ||U||
    W <- W - lr * wd * W - lr * scale * sqrt(1 - beta2^t) / (1 - beta1^t) * U

Conventions, with the reasons:
* Weight decay uses the learning rate (the paper's W <- W - eta*lambda*W, applied before the
  update like torch's AdamW). The reference Forgather code scaled it by `scale` instead.
* `scale` is the paper's alpha and multiplies the update directly. apollo-torch's `scale`
  option is squared (it multiplies by sqrt(scale)): its APOLLO-Mini `scale=128` is our
  `scale=sqrt(128)`, the paper's value; `apollo_mini()` sets it.
* Bias correction and eps follow the official implementation: eps is added to sqrt(v) and
  the correction sqrt(1 - beta2^t) / (1 - beta1^t) multiplies the step after the limiter,
  which therefore compares uncorrected norms.
* Limiter: U_prev is the previous (limited) update; the ratio is ||U|| / (||U_prev|| + 1e-8),
  as in the official code; `norm_growth_limit=None` disables it.
* Randomness: the projection for refresh k of the i-th parameter (order of the param groups)
  is a pure function of (seed, i, k), so a reloaded optimizer draws exactly what the original
  would have; the current matrix is also kept in the state (`projection`, float32 draws cast
  to the gradient's dtype), so nothing needs regenerating on load. Draws use a CPU generator
  and are moved to the parameter's device: CPU and CUDA runs see the same projections.

Parameters that are not projected (groups with rank=None, vectors, 3-D tensors, names not
matching `target`) get Adam with the same eps, bias-correction and weight-decay conventions.
The scaled gradient U is never materialized: ||U|| comes from the channel norms of G, and the
update is a single `addcmul_(G, s * step)` on the parameter.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import torch
from torch import Tensor

from ._common import (
    OptimizerBase,
    check_projected_group,
    check_choice,
    dense_grad,
    efficient_adam_,
    projected_flags,
)

SCALE_TYPES = ("channel", "tensor")
_MASK64 = (1 << 64) - 1


def projection_seed(seed: int, index: int, refresh: int) -> int:
    """The generator seed of the `refresh`-th projection of parameter `index` (SplitMix64 of the
    three numbers: independent streams for every parameter and every refresh)."""
    x = (seed * 0x9E3779B97F4A7C15 + (index + 1) * 0xD1B54A32D192ED03 + (refresh + 1) * 0x8CB92BA72F3D8DD7) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def random_projection(rank: int, dim: int, seed: int) -> Tensor:
    """A rank x dim float32 CPU matrix with entries drawn from N(0, 1/rank)."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.randn(rank, dim, generator=generator, dtype=torch.float32) / math.sqrt(rank)


class APOLLO(OptimizerBase):
    """APOLLO: AdamW-like updates from low-rank, randomly projected optimizer state.

    Args:
        params: parameters, named parameters or param-group dicts; every key below can be set
            per group (rank=None opts a group out of projection).
        lr: learning rate.
        betas: decay rates of the low-rank first and second moments.
        eps: added to sqrt(v).
        weight_decay: decoupled weight decay, p <- p * (1 - lr * weight_decay).
        rank: rank of the projection (the paper: a quarter of the hidden size, or 256); clamped
            to the smaller dimension of each matrix. None disables projection.
        update_proj_gap: steps between projection refreshes (the paper's T, 200).
        scale: the paper's alpha multiplying the update (sqrt(128) for APOLLO-Mini).
        scale_type: "channel" (one factor per channel of the larger dimension) or "tensor".
        norm_growth_limit: the limiter's gamma (1.01), or None to disable it.
        seed: base seed of the random projections.
        target: optional regular expression; with named parameters only matrices whose name
            matches (re.search) are projected, e.g. r"\\.(self_attn|mlp)\\.".
        state_dtype: dtype the moments are stored in (a name or a torch dtype; None: the
            gradient's); the arithmetic runs in the gradient's dtype.

    State per projected matrix: `step` (int), `projection` (r x min(m, n)), low-rank `exp_avg`
    and `exp_avg_sq` (r x max(m, n), transposed when m >= n), `update_norm` (0-dim, with the
    limiter); per other parameter: `step`, `exp_avg`, `exp_avg_sq`.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        rank: int | None = 256,
        update_proj_gap: int = 200,
        scale: float = 1.0,
        scale_type: str = "channel",
        norm_growth_limit: float | None = 1.01,
        seed: int = 0,
        target: str | None = None,
        state_dtype: torch.dtype | str | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            rank=rank,
            update_proj_gap=update_proj_gap,
            scale=scale,
            scale_type=scale_type,
            norm_growth_limit=norm_growth_limit,
            seed=seed,
            target=target,
            state_dtype=state_dtype,
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_projected_group(group, "APOLLO")
        check_choice("scale_type", group["scale_type"], SCALE_TYPES)
        limit = group["norm_growth_limit"]
        if limit is not None and (not isinstance(limit, (int, float)) or isinstance(limit, bool) or limit < 1.0):
            raise ValueError(f"invalid norm_growth_limit {limit!r}: expected None or a number >= 1")
        if not isinstance(group["seed"], int) or isinstance(group["seed"], bool) or group["seed"] < 0:
            raise ValueError(f"invalid seed {group['seed']!r}: expected a non-negative integer")

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._loss(closure)
        index = 0  # position of the parameter across all groups: part of its projection seed
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            full = ([], [], [], [], [])  # params, grads, exp_avgs, exp_avg_sqs, steps
            projected = ([], [], [])  # params, grads, indices
            for p, is_projected in zip(group["params"], projected_flags(group, "APOLLO")):
                index += 1
                if p.grad is None:
                    continue
                grad = dense_grad(p, "APOLLO")
                if is_projected:
                    for items, item in zip(projected, (p, grad, index - 1)):
                        items.append(item)
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    dtype = group["state_dtype"] or p.dtype
                    state["exp_avg"] = torch.zeros_like(p, dtype=dtype, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, dtype=dtype, memory_format=torch.preserve_format)
                state["step"] += 1
                for items, item in zip(full, (p, grad, state["exp_avg"], state["exp_avg_sq"], state["step"])):
                    items.append(item)
            if projected[0]:
                self._projected_steps(*projected, group)
            if full[0]:
                efficient_adam_(
                    *full,
                    lr=group["lr"],
                    beta1=beta1,
                    beta2=beta2,
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    decay_after_update=False,
                )
        return loss

    def _projected_steps(
        self, params: list[Tensor], grads: list[Tensor], indices: list[int], group: dict[str, Any]
    ) -> None:
        """One step of every projected matrix of a group. Per matrix: the projection, the norms
        and the final update; the moments and the limiter are multi-tensor ops over all of them
        (a small model's step is otherwise dominated by kernel launches on a GPU)."""
        lr, (beta1, beta2), wd, gamma = group["lr"], group["betas"], group["weight_decay"], group["norm_growth_limit"]
        states = [self.state[p] for p in params]
        by_rows = [g.shape[0] >= g.shape[1] for g in grads]  # channels run along the larger dimension
        low_ranks, step_sizes = [], []
        for state, grad, index, rows in zip(states, grads, indices, by_rows):
            if not state:
                state["step"] = 0
            t = state["step"]
            if t % group["update_proj_gap"] == 0:
                rank = min(group["rank"], *grad.shape)
                seed = projection_seed(group["seed"], index, t // group["update_proj_gap"])
                state["projection"] = random_projection(rank, grad.shape[1] if rows else grad.shape[0], seed).to(grad)
            projection = state["projection"]
            low_ranks.append(grad @ projection.T if rows else projection @ grad)  # R: m x r or r x n
            if "exp_avg" not in state:
                dtype = group["state_dtype"] or low_ranks[-1].dtype
                state["exp_avg"] = torch.zeros_like(low_ranks[-1], dtype=dtype)
                state["exp_avg_sq"] = torch.zeros_like(low_ranks[-1], dtype=dtype)
            state["step"] = t = t + 1
            step_sizes.append(-lr * group["scale"] * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t))

        # the arithmetic in the gradients' dtype; moments stored in another are copied back
        exp_avgs = [s["exp_avg"].to(r.dtype) for s, r in zip(states, low_ranks)]
        exp_avg_sqs = [s["exp_avg_sq"].to(r.dtype) for s, r in zip(states, low_ranks)]
        torch._foreach_lerp_(exp_avgs, low_ranks, 1.0 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, low_ranks, low_ranks, 1.0 - beta2)
        for state, m, v in zip(states, exp_avgs, exp_avg_sqs):
            for key, value in (("exp_avg", m), ("exp_avg_sq", v)):
                if state[key] is not value:
                    state[key].copy_(value)
        denoms = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_add_(denoms, group["eps"])
        normalized = torch._foreach_div(exp_avgs, denoms)  # R~

        # s = ||R~_j|| / (||R_j|| + 1e-8) over the rank axis, per channel or per matrix; ||G * s||
        # comes from the channel norms of G, so the scaled gradient is never materialized
        if group["scale_type"] == "channel":
            axes = [1 if rows else 0 for rows in by_rows]
            normalized_norms = [torch.linalg.vector_norm(x, dim=a) for x, a in zip(normalized, axes)]
            low_rank_norms = [torch.linalg.vector_norm(x, dim=a) for x, a in zip(low_ranks, axes)]
            grad_norms = [torch.linalg.vector_norm(g, dim=a) for g, a in zip(grads, axes)]
        else:
            normalized_norms = list(torch._foreach_norm(normalized))
            low_rank_norms = list(torch._foreach_norm(low_ranks))
            grad_norms = list(torch._foreach_norm(grads))
        torch._foreach_add_(low_rank_norms, 1e-8)
        factors = torch._foreach_div(normalized_norms, low_rank_norms)
        update_norms = torch._foreach_norm(torch._foreach_mul(factors, grad_norms))

        if gamma is not None:  # first step: the previous norm is this one, so nothing is limited
            previous = [s.get("update_norm", n) for s, n in zip(states, update_norms)]
            limiters = torch._foreach_div(update_norms, torch._foreach_add(previous, 1e-8))
            torch._foreach_clamp_min_(limiters, gamma)
            torch._foreach_div_(limiters, gamma)
            for state, norm in zip(states, torch._foreach_div(update_norms, limiters)):
                state["update_norm"] = norm
            torch._foreach_div_(factors, limiters)
        if wd != 0:  # p - lr*wd*p, not p * (1 - lr*wd): that factor rounds in float32
            torch._foreach_add_(params, params, alpha=-lr * wd)
        for p, grad, factor, rows, step_size in zip(params, grads, factors, by_rows, step_sizes):
            if factor.dim() == 1:
                factor = factor.unsqueeze(1) if rows else factor.unsqueeze(0)
            p.addcmul_(grad, factor, value=step_size)


def apollo_mini(
    params: Iterable[Any],
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    *,
    rank: int = 1,
    update_proj_gap: int = 200,
    scale: float = math.sqrt(128),
    scale_type: str = "tensor",
    norm_growth_limit: float | None = 1.01,
    seed: int = 0,
    target: str | None = None,
    state_dtype: torch.dtype | str | None = None,
) -> APOLLO:
    """APOLLO-Mini (paper section 4.2): APOLLO with rank 1, tensor-wise scaling and scale
    alpha = sqrt(128). The arguments are APOLLO's, with those three defaults."""
    return APOLLO(
        params,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        rank=rank,
        update_proj_gap=update_proj_gap,
        scale=scale,
        scale_type=scale_type,
        norm_growth_limit=norm_growth_limit,
        seed=seed,
        target=target,
        state_dtype=state_dtype,
    )
