"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, arXiv 1711.05101).

Same update, options and defaults as `torch.optim.AdamW` (checked against it in the tests):

    p <- p * (1 - lr * wd)
    m <- beta1 * m + (1 - beta1) * g          v <- beta2 * v + (1 - beta2) * g^2
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)

One difference in arithmetic, none in mathematics: eps is scaled by sqrt(1 - beta2^t) and that
factor moved into the step size, which saves one pass over the second moment. Multi-tensor:
each step is a handful of `torch._foreach_*` kernels per (device, dtype) bucket.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import torch

from ._common import OptimizerBase, buckets, check_adam_group, dense_grad, pick, scalars


class AdamW(OptimizerBase):
    """AdamW with `torch.optim.AdamW` semantics.

    Args:
        params: parameters, named parameters or param-group dicts.
        lr: learning rate.
        betas: decay rates of the first and second moment estimates.
        eps: added to the bias-corrected sqrt(v).
        weight_decay: decoupled weight decay; each step multiplies p by (1 - lr * weight_decay).
        maximize: ascend instead of descend.

    State per parameter: `step` (int), `exp_avg`, `exp_avg_sq` (like the parameter).
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
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_adam_group(group)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._loss(closure)
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = dense_grad(p, "AdamW")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                params.append(p)
                grads.append(grad)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                steps.append(state["step"])
            if params:
                _adamw_(params, grads, exp_avgs, exp_avg_sqs, steps, group)
        return loss


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
