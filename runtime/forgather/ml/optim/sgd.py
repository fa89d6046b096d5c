"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and (coupled, L2)
weight decay: the update, options and defaults of `torch.optim.SGD`.

    g <- g + wd * p
    b <- g                                   on the first step
    b <- momentum * b + (1 - dampening) * g  afterwards
    g <- g + momentum * b  (Nesterov)   or   g <- b
    p <- p - lr * g
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

from ._common import OptimizerBase, buckets, check_lr, check_non_negative, dense_grad, pick


class SGD(OptimizerBase):
    """SGD with `torch.optim.SGD` semantics; multi-tensor.

    Args:
        params: parameters, named parameters or param-group dicts.
        lr: learning rate.
        momentum: momentum factor (0 disables the buffer).
        dampening: dampening of the gradient added to the momentum buffer.
        weight_decay: L2 penalty added to the gradient (coupled, as in torch).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend instead of descend.

    State per parameter: `momentum_buffer` (like the parameter) when momentum > 0, else none.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_lr(group["lr"])
        check_non_negative("momentum", group["momentum"])
        check_non_negative("weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening 0")

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._loss(closure)
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            grads = [dense_grad(p, "SGD") for p in params]
            for idx in buckets(params):
                self._update(pick(params, idx), pick(grads, idx), group)
        return loss

    def _update(self, params: list[torch.Tensor], grads: list[torch.Tensor], group: dict[str, Any]) -> None:
        momentum, dampening, wd = group["momentum"], group["dampening"], group["weight_decay"]
        if group["maximize"]:
            grads = torch._foreach_neg(grads)
        if wd != 0:
            grads = torch._foreach_add(grads, params, alpha=wd)
        if momentum != 0:
            states = [self.state[p] for p in params]
            old = [i for i, s in enumerate(states) if "momentum_buffer" in s]
            if old:
                old_bufs = [states[i]["momentum_buffer"] for i in old]
                torch._foreach_mul_(old_bufs, momentum)
                torch._foreach_add_(old_bufs, pick(grads, old), alpha=1.0 - dampening)
            for s, g in zip(states, grads):
                if "momentum_buffer" not in s:
                    s["momentum_buffer"] = g.detach().clone()
            bufs = [s["momentum_buffer"] for s in states]
            # never modify p.grad in place: a fresh list when Nesterov needs to add to it
            grads = torch._foreach_add(grads, bufs, alpha=momentum) if group["nesterov"] else bufs
        torch._foreach_add_(params, grads, alpha=-group["lr"])
