"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and (coupled, L2)
weight decay: the update, options and defaults of `torch.optim.SGD`.

    g <- g + wd * p
    b <- g                                   on the first step
    b <- momentum * b + (1 - dampening) * g  afterwards
    g <- g + momentum * b  (Nesterov)   or   g <- b
    p <- p - lr * g

16-bit parameters, or a momentum buffer kept in another dtype (`state_dtype`), are updated per
tensor in float32 chunks and written back rounded (stochastically with `stochastic_rounding`),
as in `adamw` (`rounding.py`).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

from ._common import OptimizerBase, buckets, check_lr, check_non_negative, check_seed, dense_grad, pick
from .rounding import HALF, Rounder, chunks, compute_dtype, flat, state_dtype_of, working


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
        state_dtype: dtype of the momentum buffer (a name or a torch dtype); None keeps the
            parameter's.
        stochastic_rounding: round updated bfloat16 weights (and a bfloat16 buffer)
            stochastically instead of to nearest.
        seed: base seed of the rounding's random bits (see `rounding.rounding_seed`).

    State per parameter: `momentum_buffer` (the parameter's shape, in `state_dtype`) when
    momentum > 0; with stochastic rounding a `step` count (the rounding seed needs it).
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
        state_dtype: torch.dtype | str | None = None,
        stochastic_rounding: bool = False,
        seed: int = 0,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
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
        check_lr(group["lr"])
        check_non_negative("momentum", group["momentum"])
        check_non_negative("weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening 0")
        group["state_dtype"] = state_dtype_of(group["state_dtype"])
        check_seed(group["seed"])

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._loss(closure)
        offset = 0  # position of the first parameter of the group across all groups
        for group in self.param_groups:
            params, grads = [], []
            for index, p in enumerate(group["params"], offset):
                if p.grad is None:
                    continue
                grad = dense_grad(p, "SGD")
                buffer = self.state[p].get("momentum_buffer")
                dtype = group["state_dtype"] or p.dtype
                if p.dtype in HALF or grad.dtype != p.dtype or dtype != p.dtype or (
                        buffer is not None and buffer.dtype != p.dtype):
                    self._low_precision_update(p, grad, index, group)
                else:
                    params.append(p)
                    grads.append(grad)
            offset += len(group["params"])
            for idx in buckets(params):
                self._update(pick(params, idx), pick(grads, idx), group)
        return loss

    def _low_precision_update(self, p: torch.Tensor, grad: torch.Tensor, index: int, group: dict[str, Any]) -> None:
        """The update of one parameter in float32 chunks, written back (rounded) to its storage."""
        momentum, dampening, wd, lr = group["momentum"], group["dampening"], group["weight_decay"], group["lr"]
        state = self.state[p]
        gen = None
        if group["stochastic_rounding"]:
            state["step"] = state.get("step", 0) + 1
            gen = self._rounder.generator(p.device, group["seed"], index, state["step"])
        first = momentum != 0 and "momentum_buffer" not in state
        if first:
            state["momentum_buffer"] = torch.empty_like(p, dtype=group["state_dtype"] or p.dtype)
        dt = compute_dtype(p)
        stored = [flat(p)] + ([flat(state["momentum_buffer"])] if momentum != 0 else [])
        fg = flat(grad)
        for sl in chunks(fg.numel()):
            views = [s[sl] for s in stored]
            w = working(views[0], dt)
            g = working(fg[sl], dt)
            g = -g if group["maximize"] else g
            if wd != 0:
                g = g.add(w, alpha=wd)
            results = [w]
            if momentum != 0:
                if first:
                    b = g.clone()
                else:
                    b = working(views[1], dt)
                    b.mul_(momentum).add_(g, alpha=1.0 - dampening)
                results.append(b)
                g = g.add(b, alpha=momentum) if group["nesterov"] else b
            w.add_(g, alpha=-lr)
            for dst, src in zip(views, results):
                self._rounder.write_(dst, src, gen)

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
