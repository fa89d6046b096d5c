"""Adafactor (Shazeer & Stern, arXiv 1804.04235) with the options, defaults and update of
`transformers.optimization.Adafactor` (checked against it in the tests).

Per step t of a parameter p with gradient g (arithmetic in float32 for 16-bit parameters):

    lr_t   = lr, or with relative_step min(1e-6 * t if warmup_init else 1e-2, 1 / sqrt(t));
             times max(eps[1], RMS(p)) with scale_parameter
    b2_t   = 1 - t^decay_rate
    tensors with >= 2 dims (factored on the last two, leading dims are a batch):
        r <- b2_t r + (1 - b2_t) mean_cols(g^2 + eps[0])      c <- ... mean_rows(g^2 + eps[0])
        u  = g / sqrt(outer(r / mean(r), c))
    vectors:  v <- b2_t v + (1 - b2_t) (g^2 + eps[0]);  u = g / sqrt(v)
    u <- lr_t * u / max(1, RMS(u) / clip_threshold)
    with beta1: m <- beta1 m + (1 - beta1) u;  u = m
    p <- p - wd * lr_t * p - u

Low precision: the arithmetic is float32 for 16-bit parameters, and the result is written back
rounded to nearest or, with `stochastic_rounding`, stochastically (`rounding.py`; the reference's
`bf16_stochastic_round` was only a flag). `state_dtype` stores the statistics (and the first
moment) in another dtype; they are upcast for the arithmetic.

The arithmetic avoids the reference's temporaries: one full-size buffer holds g^2 for the row
and column statistics and is then overwritten by the update, and the clipping and learning-rate
factors are one scalar applied in the final `addcmul_`; nothing waits on the host. A 16-bit
matrix (the weights of a bfloat16 model) is updated in float32 chunks of whole rows instead
(`CHUNK` elements: statistics, then RMS(u), then the update), so a step never holds a float32
copy of a large embedding (four full-size float32 temporaries otherwise: gradient, weight,
update, rounding bits).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import torch
from torch import Tensor

from ._common import OptimizerBase, check_lr, check_non_negative, check_seed, dense_grad
from .rounding import CHUNK
from .rounding import HALF as _HALF
from .rounding import Rounder, state_dtype_of


class Adafactor(OptimizerBase):
    """Adafactor with `transformers.optimization.Adafactor` semantics.

    Args:
        params: parameters, named parameters or param-group dicts.
        lr: external learning rate; must be None when `relative_step` is on.
        eps: (eps1, eps2): regularizer added to g^2, and the floor of RMS(p) for parameter scaling.
        clip_threshold: the update is scaled down when its RMS exceeds this.
        decay_rate: exponent of the second-moment decay schedule b2_t = 1 - t^decay_rate.
        beta1: first-moment decay; None keeps no first moment (the memory-saving default).
        weight_decay: decoupled weight decay, scaled by the step's learning rate.
        scale_parameter: multiply the learning rate by max(eps2, RMS(p)).
        relative_step: time-dependent learning rate min(1e-2, 1/sqrt(t)) instead of `lr`.
        warmup_init: with relative_step, warm up as min(1e-6 * t, 1/sqrt(t)).
        state_dtype: dtype of the state tensors ("float32", "bfloat16", "float16" or a torch
            dtype); None: float32 for 16-bit parameters, else the parameter's dtype.
        stochastic_rounding: round updated bfloat16 weights (and bfloat16 state) stochastically
            instead of to nearest.
        seed: base seed of the rounding's random bits (see `rounding.rounding_seed`).

    State per parameter: `step` (int); `exp_avg_sq_row` and `exp_avg_sq_col` for tensors with
    2 or more dims, else `exp_avg_sq`; `exp_avg` with beta1; in `state_dtype`.
    HF's recommended manual setting: lr=1e-3, relative_step=False, scale_parameter=False.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | None = None,
        eps: tuple[float, float] = (1e-30, 1e-3),
        clip_threshold: float = 1.0,
        decay_rate: float = -0.8,
        beta1: float | None = None,
        weight_decay: float = 0.0,
        scale_parameter: bool = True,
        relative_step: bool = True,
        warmup_init: bool = False,
        *,
        state_dtype: torch.dtype | str | None = None,
        stochastic_rounding: bool = False,
        seed: int = 0,
    ) -> None:
        defaults = dict(
            lr=lr,
            eps=eps,
            clip_threshold=clip_threshold,
            decay_rate=decay_rate,
            beta1=beta1,
            weight_decay=weight_decay,
            scale_parameter=scale_parameter,
            relative_step=relative_step,
            warmup_init=warmup_init,
            state_dtype=state_dtype,
            stochastic_rounding=stochastic_rounding,
            seed=seed,
        )
        self._rounder = Rounder()
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        if group["relative_step"]:
            if group["lr"] is not None:
                raise ValueError("Adafactor: cannot combine a manual `lr` with relative_step=True")
        else:
            if group["lr"] is None:
                raise ValueError("Adafactor: relative_step=False needs an `lr`")
            check_lr(group["lr"])
        if group["warmup_init"] and not group["relative_step"]:
            raise ValueError("Adafactor: warmup_init=True needs relative_step=True")
        try:
            eps1, eps2 = (float(e) for e in group["eps"])
        except (TypeError, ValueError):
            raise ValueError(f"Adafactor: invalid eps {group['eps']!r}: expected two numbers") from None
        group["eps"] = (eps1, eps2)
        check_non_negative("clip_threshold", group["clip_threshold"])
        if group["decay_rate"] >= 0:
            raise ValueError(f"Adafactor: invalid decay_rate {group['decay_rate']!r}: expected a negative number")
        if group["beta1"] is not None and not 0.0 <= group["beta1"] < 1.0:
            raise ValueError(f"Adafactor: invalid beta1 {group['beta1']!r}: expected None or a number in [0, 1)")
        check_non_negative("weight_decay", group["weight_decay"])
        group["state_dtype"] = state_dtype_of(group["state_dtype"])
        check_seed(group["seed"])

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._loss(closure)
        index = -1  # position of the parameter across all groups: part of its rounding seed
        for group in self.param_groups:
            for p in group["params"]:
                index += 1
                if p.grad is not None:
                    self._update(p, dense_grad(p, "Adafactor"), group, index)
        return loss

    def _update(self, p: Tensor, grad: Tensor, group: dict[str, Any], index: int) -> None:
        eps1, eps2 = group["eps"]
        half = p.dtype in _HALF
        if grad.dtype in _HALF:
            grad = grad.float()
        factored = grad.dim() >= 2
        stored = self.state[p]
        if not stored:
            dtype = group["state_dtype"] or grad.dtype
            stored["step"] = 0
            if factored:
                stored["exp_avg_sq_row"] = grad.new_zeros(grad.shape[:-1], dtype=dtype)
                stored["exp_avg_sq_col"] = grad.new_zeros(grad.shape[:-2] + grad.shape[-1:], dtype=dtype)
            else:
                stored["exp_avg_sq"] = torch.zeros_like(grad, dtype=dtype)
            if group["beta1"] is not None:
                stored["exp_avg"] = torch.zeros_like(grad, dtype=dtype)
        stored["step"] += 1
        t = stored["step"]
        if half and grad.dim() == 2 and type(p.data) is torch.Tensor and type(grad) is torch.Tensor:
            self._update_in_chunks(p, grad, stored, group, index)
            return
        # the arithmetic runs on `grad.dtype` working copies of lower-precision state
        state = {k: v.to(grad.dtype) if torch.is_tensor(v) else v for k, v in stored.items()}
        master = p.float() if half else p

        lr: float | Tensor = group["lr"]
        if group["relative_step"]:
            lr = min(1e-6 * t if group["warmup_init"] else 1e-2, 1.0 / math.sqrt(t))
        if group["scale_parameter"]:
            lr = _rms(master).clamp_(min=eps2) * lr
        beta2t = 1.0 - t ** group["decay_rate"]

        if factored:
            row, col = state["exp_avg_sq_row"], state["exp_avg_sq_col"]
            update = torch.square(grad)  # one full-size buffer: g^2 for the statistics, then u
            # out of place: on a sharded parameter (FSDP's DTensor) a mean over the sharded
            # dimension is a pending sum, which an in-place add cannot take
            row.lerp_(update.mean(dim=-1) + eps1, 1.0 - beta2t)
            col.lerp_(update.mean(dim=-2) + eps1, 1.0 - beta2t)
            row_factor = (row / row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
            torch.mul(grad, row_factor, out=update)
            update.mul_(col.rsqrt().unsqueeze(-2))
        else:
            v = state["exp_avg_sq"]
            v.mul_(beta2t).addcmul_(grad, grad, value=1.0 - beta2t).add_(eps1 * (1.0 - beta2t))
            update = grad * v.rsqrt()

        # lr_t / max(1, RMS(u) / clip), as a 0-dim tensor: no host sync
        factor = (_rms(update) / group["clip_threshold"]).clamp_(min=1.0).reciprocal_().mul_(lr)
        if group["weight_decay"] != 0:  # p - wd*lr*p, not p * (1 - wd*lr): that factor rounds in float32
            if torch.is_tensor(lr):
                master.addcmul_(master, lr, value=-group["weight_decay"])
            else:
                master.add_(master, alpha=-group["weight_decay"] * lr)
        if group["beta1"] is not None:
            exp_avg = state["exp_avg"]
            exp_avg.mul_(group["beta1"]).addcmul_(update, factor, value=1.0 - group["beta1"])
            master.sub_(exp_avg)
        else:
            master.addcmul_(update, factor, value=-1.0)
        gen = None
        if group["stochastic_rounding"]:
            gen = self._rounder.generator(p.device, group["seed"], index, t)
        self._rounder.write_(p, master, gen)
        for key, value in stored.items():
            if torch.is_tensor(value):
                self._rounder.write_(value, state[key], gen)

    def _update_in_chunks(self, p: Tensor, grad: Tensor, stored: dict[str, Any], group: dict[str, Any],
                          index: int) -> None:
        """`_update` of a 16-bit matrix, in float32 chunks of whole rows (see the module)."""
        eps1, eps2 = group["eps"]
        t = stored["step"]
        n_rows = max(1, CHUNK // p.shape[1])
        rows = [slice(i, min(i + n_rows, p.shape[0])) for i in range(0, p.shape[0], n_rows)]
        state = {k: stored[k].float() for k in ("exp_avg_sq_row", "exp_avg_sq_col")}  # small: whole
        row, col = state["exp_avg_sq_row"], state["exp_avg_sq_col"]

        lr: float | Tensor = group["lr"]
        if group["relative_step"]:
            lr = min(1e-6 * t if group["warmup_init"] else 1e-2, 1.0 / math.sqrt(t))
        if group["scale_parameter"]:
            sq = sum(torch.linalg.vector_norm(p[r].float()).square() for r in rows)
            lr = (sq / p.numel()).sqrt().clamp_(min=eps2) * lr
        beta2t = 1.0 - t ** group["decay_rate"]

        row_mean = torch.empty_like(row)  # statistics of g^2, one chunk of rows at a time
        col_sum = torch.zeros_like(col)
        for r in rows:
            g2 = torch.square(grad[r].float())  # out of place: a float32 gradient is not a copy
            row_mean[r] = g2.mean(dim=-1)
            col_sum += g2.sum(dim=0)
        row.lerp_(row_mean + eps1, 1.0 - beta2t)
        col.lerp_(col_sum / p.shape[0] + eps1, 1.0 - beta2t)
        row_factor = (row / row.mean()).rsqrt_().unsqueeze(-1)
        col_factor = col.rsqrt().unsqueeze(0)

        def update(r: slice) -> Tensor:
            return (grad[r].float() * row_factor[r]).mul_(col_factor)

        sq = sum(torch.linalg.vector_norm(update(r)).square() for r in rows)
        factor = ((sq / p.numel()).sqrt() / group["clip_threshold"]).clamp_(min=1.0).reciprocal_().mul_(lr)
        gen = None
        if group["stochastic_rounding"]:
            gen = self._rounder.generator(p.device, group["seed"], index, t)
        for r in rows:
            master = p[r].float()
            if group["weight_decay"] != 0:
                if torch.is_tensor(lr):
                    master.addcmul_(master, lr, value=-group["weight_decay"])
                else:
                    master.add_(master, alpha=-group["weight_decay"] * lr)
            u = update(r)
            if group["beta1"] is not None:
                exp_avg = stored["exp_avg"][r].float()
                exp_avg.mul_(group["beta1"]).addcmul_(u, factor, value=1.0 - group["beta1"])
                master.sub_(exp_avg)
                self._rounder.write_(stored["exp_avg"][r], exp_avg, gen)
            else:
                master.addcmul_(u, factor, value=-1.0)
            self._rounder.write_(p[r], master, gen)
        for key in ("exp_avg_sq_row", "exp_avg_sq_col"):
            self._rounder.write_(stored[key], state[key], gen)


def _rms(t: Tensor) -> Tensor:
    return torch.linalg.vector_norm(t) / math.sqrt(t.numel())
