"""GaLore: gradient low-rank projection (Zhao et al., arXiv 2403.03507), in the form of the
`galore-torch` package's `GaLoreAdamW` (checked against it in the tests).

For a projected m x n matrix with gradient G, at step t (counted from 0):

    every update_proj_gap steps:  U, S, Vh = svd(G);  P = U[:, :r] ("left") or Vh[:r] ("right")
    R = P^T G (left, r x n)   or   R = G P^T (right, m x r)
    m <- beta1 m + (1 - beta1) R      v <- beta2 v + (1 - beta2) R^2     (low-rank moments)
    N = m / (sqrt(v) + eps)
    p <- (p - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * scale * back(N)) * (1 - lr * wd)

with back(N) = P N (left) or N P (right). `proj_type` picks the side: "std" projects the smaller
dimension (right when m >= n, else left), "reverse_std" the larger one, "left"/"right" force a
side, "full" projects both (R = U^T G Vh^T, r x r). Moments are kept across refreshes, as in
galore-torch. Parameters that are not projected (other groups, vectors, 3-D tensors) get the
same Adam update in full rank, multi-tensor.

Project-back, learning rate and scale are one `addmm_` on the parameter: no full-size
temporary, one pass over p.
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
    check_rank,
    dense_grad,
    efficient_adam_,
    projected_flags,
)

PROJ_TYPES = ("std", "reverse_std", "left", "right", "full")


class GaLoreProjector:
    """The SVD subspace of one gradient matrix.

    `fit(grad)` returns the projection matrices (keys "left": m x r with orthonormal columns,
    "right": r x n with orthonormal rows, or both for "full"); `project` and `project_back`
    take them back. The matrices live in the optimizer state, so they are checkpointed with it.
    """

    def __init__(self, rank: int, proj_type: str = "std") -> None:
        check_rank(rank, allow_none=False)
        check_choice("proj_type", proj_type, PROJ_TYPES)
        self.rank = rank
        self.proj_type = proj_type

    def sides(self, shape: torch.Size) -> tuple[str, ...]:
        m, n = shape
        if self.proj_type == "std":
            return ("right",) if m >= n else ("left",)
        if self.proj_type == "reverse_std":
            return ("left",) if m >= n else ("right",)
        if self.proj_type == "full":
            return ("left", "right")
        return (self.proj_type,)

    def fit(self, grad: Tensor) -> dict[str, Tensor]:
        # 16-bit gradients are decomposed in float32 (as galore-torch), float64 ones in float64
        exact = grad if grad.dtype in (torch.float32, torch.float64) else grad.float()
        u, _, vh = torch.linalg.svd(exact, full_matrices=False)
        # copies, not views: a view of U or Vh would keep the whole factor alive in the state
        mats = {"left": u[:, : self.rank], "right": vh[: self.rank]}
        return {side: mats[side].to(grad.dtype, copy=True).contiguous() for side in self.sides(grad.shape)}

    @staticmethod
    def project(grad: Tensor, mats: dict[str, Tensor]) -> Tensor:
        if "left" in mats:
            grad = mats["left"].T @ grad
        if "right" in mats:
            grad = grad @ mats["right"].T
        return grad

    @staticmethod
    def project_back(low_rank: Tensor, mats: dict[str, Tensor]) -> Tensor:
        if "left" in mats:
            low_rank = mats["left"] @ low_rank
        if "right" in mats:
            low_rank = low_rank @ mats["right"]
        return low_rank


class GaLoreAdamW(OptimizerBase):
    """AdamW with GaLore projection of the matrices in param groups that set `rank`.

    Args:
        params: parameters, named parameters or param-group dicts. Group keys override the
            keyword defaults below, as with any torch optimizer, e.g. galore-torch's
            `[{"params": others}, {"params": matrices, "rank": 128, "update_proj_gap": 200,
            "scale": 0.25, "proj_type": "std"}]`.
        lr, betas, eps, weight_decay, correct_bias: Adam, in galore-torch's (= HF's) form: eps is
            added to sqrt(v) before bias correction; weight decay p *= (1 - lr * wd) after the update.
        rank: projection rank; None (the default) projects nothing in groups that do not set it.
        update_proj_gap: steps between SVD refreshes of the projection.
        scale: multiplier of the projected-back update (the paper's alpha; 0.25 in its runs).
        proj_type: "std" | "reverse_std" | "left" | "right" | "full" (see the module docstring).
        target: optional regular expression; with named parameters, only matrices whose name
            matches (re.search) are projected, e.g. r"\\.(self_attn|mlp)\\.".
        state_dtype: dtype the moments are stored in (a name or a torch dtype; None: the
            gradient's); the arithmetic runs in the gradient's dtype.

    State per projected matrix: `step` (int), `proj_left` and/or `proj_right`, and the low-rank
    `exp_avg` and `exp_avg_sq`; per other parameter: `step`, `exp_avg`, `exp_avg_sq`.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        correct_bias: bool = True,
        *,
        rank: int | None = None,
        update_proj_gap: int = 200,
        scale: float = 1.0,
        proj_type: str = "std",
        target: str | None = None,
        state_dtype: torch.dtype | str | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            correct_bias=correct_bias,
            rank=rank,
            update_proj_gap=update_proj_gap,
            scale=scale,
            proj_type=proj_type,
            target=target,
            state_dtype=state_dtype,
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_projected_group(group, "GaLoreAdamW")
        check_choice("proj_type", group["proj_type"], PROJ_TYPES)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            full = ([], [], [], [], [])  # params, grads, exp_avgs, exp_avg_sqs, steps
            for p, projected in zip(group["params"], projected_flags(group, "GaLoreAdamW")):
                if p.grad is None:
                    continue
                grad = dense_grad(p, "GaLoreAdamW")
                if projected:
                    self._projected_step(p, grad, group)
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
            if full[0]:
                efficient_adam_(
                    *full,
                    lr=group["lr"],
                    beta1=beta1,
                    beta2=beta2,
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    decay_after_update=True,
                    correct_bias=group["correct_bias"],
                )
        return loss

    def _projected_step(self, p: Tensor, grad: Tensor, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        projector = GaLoreProjector(group["rank"], group["proj_type"])
        state = self.state[p]
        if not state:
            state["step"] = 0
        if state["step"] % group["update_proj_gap"] == 0:
            for side in ("left", "right"):
                state.pop(f"proj_{side}", None)
            state.update({f"proj_{side}": mat for side, mat in projector.fit(grad).items()})
        mats = {side: state[f"proj_{side}"] for side in ("left", "right") if f"proj_{side}" in state}
        low_rank = projector.project(grad, mats)
        if "exp_avg" not in state:
            state["exp_avg"] = torch.zeros_like(low_rank, dtype=group["state_dtype"] or low_rank.dtype)
            state["exp_avg_sq"] = torch.zeros_like(low_rank, dtype=group["state_dtype"] or low_rank.dtype)
        state["step"] += 1
        t = state["step"]
        # the arithmetic in the gradient's dtype; moments stored in another are copied back
        exp_avg, exp_avg_sq = (state[k].to(low_rank.dtype) for k in ("exp_avg", "exp_avg_sq"))
        exp_avg.lerp_(low_rank, 1.0 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(low_rank, low_rank, value=1.0 - beta2)
        for key, value in (("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)):
            if state[key] is not value:
                state[key].copy_(value)
        normalized = exp_avg / exp_avg_sq.sqrt().add_(group["eps"])

        step_size = lr
        if group["correct_bias"]:
            step_size *= math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
        # p <- p - step_size * scale * back(N), as one addmm_ (no full-size temporary)
        alpha = -step_size * group["scale"]
        if "left" in mats and "right" in mats:
            p.addmm_(mats["left"] @ normalized, mats["right"], alpha=alpha)
        elif "left" in mats:
            p.addmm_(mats["left"], normalized, alpha=alpha)
        else:
            p.addmm_(normalized, mats["right"], alpha=alpha)
        if wd > 0:  # after the update, as galore-torch; p - lr*wd*p rounds better than p * (1 - lr*wd)
            p.add_(p, alpha=-lr * wd)
