"""Pieces shared by the optimizers: the base class, argument checks, tensor bucketing and the
multi-tensor Adam kernel used for the parameters that GaLore and APOLLO do not project."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import Tensor
from torch.optim import Optimizer


class OptimizerBase(Optimizer):
    """`torch.optim.Optimizer` with two fixes every optimizer here wants.

    * `load_state_dict` keeps the dtype a state tensor was saved with. Torch casts every
      floating state tensor to its parameter's dtype, which silently rounds the float32 state
      that Adafactor keeps for bfloat16 parameters; resuming must continue bit-identically.
    * `_loss(closure)` evaluates an optional closure with gradients enabled.
    """

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        params = [p for group in self.param_groups for p in group["params"]]
        saved_ids = [i for group in state_dict["param_groups"] for i in group["params"]]
        for p, saved_id in zip(params, saved_ids):
            for key, value in state_dict["state"].get(saved_id, {}).items():
                loaded = self.state[p].get(key)
                if torch.is_tensor(value) and torch.is_tensor(loaded) and value.dtype != loaded.dtype:
                    self.state[p][key] = value.to(device=p.device, copy=True)

    @staticmethod
    def _loss(closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()


def check_lr(lr: float | None, allow_none: bool = False) -> None:
    if lr is None and allow_none:
        return
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or lr < 0.0:
        raise ValueError(f"invalid learning rate {lr!r}: expected a number >= 0")


def check_betas(betas: Sequence[float]) -> tuple[float, float]:
    try:
        beta1, beta2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise ValueError(f"invalid betas {betas!r}: expected two numbers in [0, 1)") from None
    for name, beta in (("betas[0]", beta1), ("betas[1]", beta2)):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"invalid {name} {beta!r}: expected a number in [0, 1)")
    return beta1, beta2


def check_non_negative(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0.0:
        raise ValueError(f"invalid {name} {value!r}: expected a number >= 0")


def check_seed(seed: Any) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"invalid seed {seed!r}: expected a non-negative integer")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"invalid {name} {value!r}: expected one of {', '.join(map(repr, choices))}")


def dense_grad(p: Tensor, optimizer_name: str) -> Tensor:
    if p.grad.is_sparse:
        raise RuntimeError(f"{optimizer_name} does not support sparse gradients")
    return p.grad


def buckets(tensors: Sequence[Tensor]) -> list[list[int]]:
    """Indices of `tensors` grouped by (device, dtype, tensor type): one multi-tensor kernel
    launch each (a tensor-parallel model mixes DTensors and plain tensors, which one
    ``torch._foreach_*`` call refuses to take together)."""
    groups: dict[tuple[torch.device, torch.dtype, type], list[int]] = defaultdict(list)
    for i, t in enumerate(tensors):
        groups[(t.device, t.dtype, type(t))].append(i)
    return list(groups.values())


def pick(items: Sequence[Any], indices: Sequence[int]) -> list[Any]:
    return [items[i] for i in indices]


def scalars(values: list[float]) -> float | list[float]:
    """A single Python scalar when all are equal (the usual case), else the list."""
    return values[0] if all(v == values[0] for v in values) else values


def efficient_adam_(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    steps: list[int],
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decay_after_update: bool,
    correct_bias: bool = True,
) -> None:
    """Multi-tensor Adam in the form of the GaLore and APOLLO reference code (and BERT's):
    eps is added to sqrt(v) before bias correction, which is folded into the step size
    lr * sqrt(1 - beta2^t) / (1 - beta1^t). Decoupled weight decay p <- p * (1 - lr * wd) comes
    before the update (APOLLO, as torch.optim.AdamW) or after it (galore-torch), computed as
    p - lr*wd*p: the factor (1 - lr*wd) itself would round in float32 and bias the decay.
    `steps` are the already incremented step counts. Moments stored in another dtype than their
    parameter (`state_dtype`) are updated per tensor in float32 chunks and rounded back."""
    from .rounding import Rounder, chunks, compute_dtype, flat, working

    mixed = [i for i, (p, m, v) in enumerate(zip(params, exp_avgs, exp_avg_sqs)) if m.dtype != p.dtype or v.dtype != p.dtype]
    for i in mixed:
        t = steps[i]
        step_size = lr * (math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t) if correct_bias else 1.0)
        dt = compute_dtype(params[i])
        stored = [flat(params[i]), flat(exp_avgs[i]), flat(exp_avg_sqs[i])]
        fg = flat(grads[i])
        for sl in chunks(fg.numel()):
            views = [x[sl] for x in stored]
            w, m, v = (working(x, dt) for x in views)
            g = working(fg[sl], dt)
            if weight_decay != 0 and not decay_after_update:
                w.add_(w, alpha=-lr * weight_decay)
            m.lerp_(g, 1.0 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            w.addcdiv_(m, v.sqrt().add_(eps), value=-step_size)
            if weight_decay != 0 and decay_after_update:
                w.add_(w, alpha=-lr * weight_decay)
            for dst, src in zip(views, (w, m, v)):
                Rounder.write_(dst, src, None)
    if mixed:
        keep = [i for i in range(len(params)) if i not in set(mixed)]
        params, grads, exp_avgs, exp_avg_sqs, steps = (pick(x, keep) for x in (params, grads, exp_avgs, exp_avg_sqs, steps))
    for idx in buckets(params):
        p, g, m, v = pick(params, idx), pick(grads, idx), pick(exp_avgs, idx), pick(exp_avg_sqs, idx)
        if weight_decay != 0 and not decay_after_update:
            torch._foreach_add_(p, p, alpha=-lr * weight_decay)
        torch._foreach_lerp_(m, g, 1.0 - beta1)
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, g, g, 1.0 - beta2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_add_(denom, eps)
        step_sizes = []
        for t in pick(steps, idx):
            step_size = lr
            if correct_bias:
                step_size *= math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
            step_sizes.append(-step_size)
        torch._foreach_addcdiv_(p, m, denom, step_sizes)
        if weight_decay != 0 and decay_after_update:
            torch._foreach_add_(p, p, alpha=-lr * weight_decay)


def projected_flags(group: dict[str, Any], optimizer_name: str) -> list[bool]:
    """Which parameters of a GaLore/APOLLO param group are projected: the matrices of a group
    whose `rank` is set, narrowed to the names matching the group's `target` regex if any."""
    rank = group.get("rank")
    if rank is None:
        return [False] * len(group["params"])
    target = group.get("target")
    if target is None:
        flags = [p.dim() == 2 for p in group["params"]]
    else:
        names = group.get("param_names")
        if names is None:
            raise ValueError(
                f"{optimizer_name}: `target` ({target!r}) selects parameters by name; pass named "
                "parameters, e.g. model.named_parameters()"
            )
        pattern = re.compile(target)
        flags = [p.dim() == 2 and pattern.search(name) is not None for p, name in zip(group["params"], names)]
    sharded = [i for i, (p, flag) in enumerate(zip(group["params"], flags)) if flag and hasattr(p, "device_mesh")]
    if sharded:
        names = group.get("param_names") or [f"params[{i}]" for i in range(len(group["params"]))]
        raise ValueError(
            f"{optimizer_name}: {names[sharded[0]]}"
            + (f" (and {len(sharded) - 1} more)" if len(sharded) > 1 else "")
            + " would be projected, but it is sharded (a DTensor, e.g. under FSDP's FullyShard): the "
            "low-rank projection needs the whole matrix on one process. Train with DataParallel or "
            "Pipeline, or leave the sharded matrices out of the projection (`target`)"
        )
    return flags


def check_target(target: Any) -> None:
    if target is None:
        return
    if not isinstance(target, str):
        raise ValueError(f"invalid target {target!r}: expected a regular expression string or None")
    try:
        re.compile(target)
    except re.error as e:
        raise ValueError(f"invalid target regular expression {target!r}: {e}") from None


def check_rank(rank: Any, allow_none: bool) -> None:
    if rank is None and allow_none:
        return
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise ValueError(f"invalid rank {rank!r}: expected a positive integer" + (" or None" if allow_none else ""))


def check_positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"invalid {name} {value!r}: expected a positive integer")


def check_adam_group(group: dict[str, Any]) -> None:
    """Validate (and normalise `betas` of) the Adam options every Adam-style group has."""
    check_lr(group["lr"])
    group["betas"] = check_betas(group["betas"])
    check_non_negative("eps", group["eps"])
    check_non_negative("weight_decay", group["weight_decay"])


def check_projected_group(group: dict[str, Any], optimizer_name: str) -> None:
    """Validate the options of a low-rank projected Adam group (GaLore, APOLLO); fails early
    when `target` has no parameter names to match."""
    check_adam_group(group)
    check_rank(group["rank"], allow_none=True)
    check_positive_int("update_proj_gap", group["update_proj_gap"])
    check_non_negative("scale", group["scale"])
    check_target(group["target"])
    projected_flags(group, optimizer_name)
    from .rounding import state_dtype_of

    group["state_dtype"] = state_dtype_of(group["state_dtype"])
