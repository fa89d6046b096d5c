"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, arXiv 1711.05101).

Same update, options and defaults as `torch.optim.AdamW` (checked against it in the tests):

    p <- p * (1 - lr * wd)
    m <- beta1 * m + (1 - beta1) * g          v <- beta2 * v + (1 - beta2) * g^2
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)

One difference in arithmetic, none in mathematics: eps is scaled by sqrt(1 - beta2^t) and that
factor moved into the step size, which saves one pass over the second moment. Multi-tensor:
each step is a handful of `torch._foreach_*` kernels per (device, dtype) bucket.

Low precision (`rounding.py`): 16-bit parameters, or state kept in another dtype than the
parameter (`state_dtype`), are updated per tensor in float32 chunks and written back rounded to
nearest, or stochastically with `stochastic_rounding` (bfloat16 storage: weights and moments).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import torch

from ._common import OptimizerBase, buckets, check_adam_group, check_seed, dense_grad, pick, scalars
from .rounding import HALF, Rounder, chunks, compute_dtype, flat, state_dtype_of, working


class AdamW(OptimizerBase):
    """AdamW with `torch.optim.AdamW` semantics.

    Args:
        params: parameters, named parameters or param-group dicts.
        lr: learning rate.
        betas: decay rates of the first and second moment estimates.
        eps: added to the bias-corrected sqrt(v).
        weight_decay: decoupled weight decay; each step multiplies p by (1 - lr * weight_decay).
        maximize: ascend instead of descend.
        state_dtype: dtype of `exp_avg` and `exp_avg_sq` ("float32", "bfloat16", "float16" or a
            torch dtype); None keeps the parameter's dtype. The arithmetic is float32 either way.
        stochastic_rounding: round updated bfloat16 weights (and bfloat16 moments) stochastically
            instead of to nearest; float32 storage is unaffected.
        seed: base seed of the rounding's random bits (see `rounding.rounding_seed`).

    State per parameter: `step` (int), `exp_avg`, `exp_avg_sq` (the parameter's shape, in
    `state_dtype`).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        maximize: bool = False,
        state_dtype: torch.dtype | str | None = None,
        stochastic_rounding: bool = False,
        seed: int = 0,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            state_dtype=state_dtype,
            stochastic_rounding=stochastic_rounding,
            seed=seed,
        )
        self._rounder = Rounder()
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_adam_group(group)
        group["state_dtype"] = state_dtype_of(group["state_dtype"])
        check_seed(group["seed"])

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._loss(closure)
        index = -1  # position of the parameter across all groups: part of its rounding seed
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
            for p in group["params"]:
                index += 1
                if p.grad is None:
                    continue
                grad = dense_grad(p, "AdamW")
                state = self.state[p]
                if not state:
                    dtype = group["state_dtype"] or p.dtype
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, dtype=dtype, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, dtype=dtype, memory_format=torch.preserve_format)
                state["step"] += 1
                if _low_precision(p, grad, state["exp_avg"], state["exp_avg_sq"]):
                    self._low_precision_update(p, grad, state, index, group)
                    continue
                params.append(p)
                grads.append(grad)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                steps.append(state["step"])
            if params:
                _adamw_(params, grads, exp_avgs, exp_avg_sqs, steps, group)
        return loss

    def _low_precision_update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], index: int,
                              group: dict[str, Any]) -> None:
        """The update of one parameter in float32 chunks, written back (rounded) to its storage."""
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        t = state["step"]
        c = math.sqrt(1.0 - beta2**t)
        step_size, eps_c = -lr * c / (1.0 - beta1**t), eps * c
        gen = None
        if group["stochastic_rounding"]:
            gen = self._rounder.generator(p.device, group["seed"], index, t)
        dt = compute_dtype(p)
        stored = [flat(p), flat(state["exp_avg"]), flat(state["exp_avg_sq"])]
        fg = flat(grad)
        for sl in chunks(fg.numel()):
            views = [s[sl] for s in stored]
            w, m, v = (working(x, dt) for x in views)
            g = working(fg[sl], dt)
            if group["maximize"]:
                g = -g
            if wd != 0:
                w.mul_(1.0 - lr * wd)
            m.lerp_(g, 1.0 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            w.addcdiv_(m, v.sqrt().add_(eps_c), value=step_size)
            for dst, src in zip(views, (w, m, v)):
                self._rounder.write_(dst, src, gen)


def _low_precision(p: torch.Tensor, *others: torch.Tensor) -> bool:
    """Whether a parameter takes the float32-chunk path: 16-bit weights, or gradient or state
    stored in another dtype than the weight."""
    return p.dtype in HALF or any(t.dtype != p.dtype for t in others)


def _adamw_(params, grads, exp_avgs, exp_avg_sqs, steps, group: dict[str, Any]) -> None:
    lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
    for idx in buckets(params):
        p, g, m, v = pick(params, idx), pick(grads, idx), pick(exp_avgs, idx), pick(exp_avg_sqs, idx)
        if group["maximize"]:
            g = torch._foreach_neg(g)
        if wd != 0:
            torch._foreach_mul_(p, 1.0 - lr * wd)
        torch._foreach_lerp_(m, g, 1.0 - beta1)
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, g, g, 1.0 - beta2)
        # m / (sqrt(v) / c + eps) == c * m / (sqrt(v) + eps * c), with c = sqrt(1 - beta2^t)
        corrections = [math.sqrt(1.0 - beta2**t) for t in pick(steps, idx)]
        step_sizes = [-lr * c / (1.0 - beta1**t) for c, t in zip(corrections, pick(steps, idx))]
        denom = torch._foreach_sqrt(v)
        torch._foreach_add_(denom, scalars([eps * c for c in corrections]))
        torch._foreach_addcdiv_(p, m, denom, step_sizes)
