"""Learning-rate schedules as factories that take the optimizer, for configs:

    .define: &lr_scheduler !partial:forgather.ml.optim.schedulers:cosine_with_warmup
        warmup_steps: 500
        total_steps: 10000

and the trainer calls `lr_scheduler(optimizer, num_training_steps=N)`: N is the trainer's total
number of optimizer steps (`max_steps`, or what `num_train_epochs` makes of the data), the end of
a schedule whose `total_steps` is left unset. Each returns a `torch.optim.lr_scheduler.LambdaLR`
whose multiplier is a small picklable object. The scheduler is stepped once per optimizer step;
`step` below counts those calls (0 first). A resumed run keeps the checkpoint's position in the
schedule and takes the schedule's settings from its config and its trainer (forgather's Trainer:
`trainer/schedule.py`), so `--resume --set max_steps=...` extends the decay.

Warm-up follows the Hugging Face convention: the multiplier is step / warmup_steps, so the
first step runs at lr 0 (exactly like `transformers.get_cosine_schedule_with_warmup`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

DECAYS = ("cosine", "linear", "constant")
ANNEAL_SHAPES = ("linear", "cosine", "sqrt")


def _check_steps(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"invalid {name} {value!r}: expected a non-negative integer")


def _check_ratio(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0.0:
        raise ValueError(f"invalid {name} {value!r}: expected a number >= 0")


def _shape(progress: float, shape: str) -> float:
    """1 -> 0 as progress goes 0 -> 1."""
    progress = min(max(progress, 0.0), 1.0)
    if shape == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if shape == "sqrt":  # "1 - sqrt" cool-down of Hägele et al., arXiv 2405.18392
        return 1.0 - math.sqrt(progress)
    return 1.0 - progress


@dataclass
class WarmupDecay:
    """Multiplier: linear warm-up 0 -> 1 over warmup_steps, then `decay` from 1 to
    min_lr_ratio at total_steps (held there afterwards)."""

    warmup_steps: int
    total_steps: int
    decay: str
    min_lr_ratio: float = 0.0

    def __post_init__(self) -> None:
        _check_steps("warmup_steps", self.warmup_steps)
        _check_steps("total_steps", self.total_steps)
        _check_ratio("min_lr_ratio", self.min_lr_ratio)
        if self.decay not in DECAYS:
            raise ValueError(f"invalid decay {self.decay!r}: expected one of {', '.join(DECAYS)}")
        if self.decay != "constant" and self.total_steps < self.warmup_steps:
            raise ValueError(f"total_steps ({self.total_steps}) is smaller than warmup_steps ({self.warmup_steps})")

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return step / self.warmup_steps
        if self.decay == "constant":
            return 1.0
        span = self.total_steps - self.warmup_steps
        progress = (step - self.warmup_steps) / span if span > 0 else 1.0
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * _shape(progress, self.decay)


@dataclass
class WarmupStableDecay:
    """Multiplier: warm-up 0 -> 1 over warmup_steps; an optional cosine cool-down to
    stable_lr_ratio over cooldown_steps; the stable phase; and, from decay_start on (never when
    None: the "infinite" schedule), an anneal to min_lr_ratio over decay_steps."""

    warmup_steps: int = 0
    cooldown_steps: int = 0
    stable_lr_ratio: float = 1.0
    decay_start: Optional[int] = None
    decay_steps: int = 0
    decay_shape: str = "linear"
    min_lr_ratio: float = 0.0

    def __post_init__(self) -> None:
        _check_steps("warmup_steps", self.warmup_steps)
        _check_steps("cooldown_steps", self.cooldown_steps)
        _check_steps("decay_steps", self.decay_steps)
        _check_ratio("stable_lr_ratio", self.stable_lr_ratio)
        _check_ratio("min_lr_ratio", self.min_lr_ratio)
        if self.decay_shape not in ANNEAL_SHAPES:
            raise ValueError(f"invalid decay_shape {self.decay_shape!r}: expected one of {', '.join(ANNEAL_SHAPES)}")
        if self.decay_start is not None:
            _check_steps("decay_start", self.decay_start)
            if self.decay_start < self.warmup_steps + self.cooldown_steps:
                raise ValueError(
                    f"decay_start ({self.decay_start}) falls inside warm-up and cool-down "
                    f"({self.warmup_steps} + {self.cooldown_steps} steps)"
                )

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return step / self.warmup_steps
        if self.decay_start is not None and step >= self.decay_start:
            progress = (step - self.decay_start) / max(1, self.decay_steps)
            return self.min_lr_ratio + (self.stable_lr_ratio - self.min_lr_ratio) * _shape(progress, self.decay_shape)
        if step < self.warmup_steps + self.cooldown_steps:
            progress = (step - self.warmup_steps) / self.cooldown_steps
            return self.stable_lr_ratio + (1.0 - self.stable_lr_ratio) * _shape(progress, "cosine")
        return self.stable_lr_ratio


def _span(warmup_steps: int, total_steps: int | None, num_training_steps: int | None) -> tuple[int, int]:
    """(warm-up, total): `total_steps` when given, else the trainer's `num_training_steps`; a
    warm-up longer than the trainer's run is that run (a short `--set max_steps=3` run works)."""
    if total_steps is not None:
        return warmup_steps, total_steps
    if num_training_steps is None:
        raise ValueError(
            "total_steps is unset and no trainer gave num_training_steps: set total_steps, or let "
            "forgather's Trainer call the schedule (it passes its total number of steps)"
        )
    _check_steps("num_training_steps", num_training_steps)
    return min(warmup_steps, num_training_steps), num_training_steps


def cosine_with_warmup(
    optimizer: Optimizer, warmup_steps: int = 0, total_steps: int | None = None, min_lr_ratio: float = 0.0,
    last_epoch: int = -1, *, num_training_steps: int | None = None,
) -> LambdaLR:
    """Linear warm-up, then half a cosine from lr to min_lr_ratio * lr at total_steps (unset: the
    trainer's `num_training_steps`)."""
    warmup_steps, total_steps = _span(warmup_steps, total_steps, num_training_steps)
    return LambdaLR(optimizer, WarmupDecay(warmup_steps, total_steps, "cosine", min_lr_ratio), last_epoch=last_epoch)


def linear_with_warmup(
    optimizer: Optimizer, warmup_steps: int = 0, total_steps: int | None = None, min_lr_ratio: float = 0.0,
    last_epoch: int = -1, *, num_training_steps: int | None = None,
) -> LambdaLR:
    """Linear warm-up, then a straight line from lr to min_lr_ratio * lr at total_steps (unset: the
    trainer's `num_training_steps`)."""
    warmup_steps, total_steps = _span(warmup_steps, total_steps, num_training_steps)
    return LambdaLR(optimizer, WarmupDecay(warmup_steps, total_steps, "linear", min_lr_ratio), last_epoch=last_epoch)


def constant_with_warmup(
    optimizer: Optimizer, warmup_steps: int = 0, last_epoch: int = -1, *, num_training_steps: int | None = None
) -> LambdaLR:
    """Linear warm-up, then the optimizer's lr for good (a warm-up longer than the trainer's run
    is that run)."""
    if num_training_steps is not None:
        warmup_steps = min(warmup_steps, num_training_steps)
    return LambdaLR(optimizer, WarmupDecay(warmup_steps, 0, "constant"), last_epoch=last_epoch)


def warmup_stable_decay(
    optimizer: Optimizer,
    warmup_steps: int = 0,
    cooldown_steps: int = 0,
    stable_lr_ratio: float = 1.0,
    decay_start: int | None = None,
    decay_steps: int = 0,
    decay_shape: str = "linear",
    min_lr_ratio: float = 0.0,
    last_epoch: int = -1,
    *,
    num_training_steps: int | None = None,
) -> LambdaLR:
    """Warmup-stable-decay (WSD) and the "infinite" schedule of arXiv 2503.02844.

    WSD (Hu et al., MiniCPM; Hägele et al.): warm up, hold lr, and from decay_start anneal to
    min_lr_ratio * lr over decay_steps (shape "linear", "cosine" or "sqrt" = 1 - sqrt).
    Infinite: add a cosine cool-down to stable_lr_ratio * lr over cooldown_steps after warm-up;
    leave decay_start None to train indefinitely and set it when you want the final anneal.
    `num_training_steps` (the trainer's total) is accepted and not used: the phases are given.
    """
    schedule = WarmupStableDecay(
        warmup_steps, cooldown_steps, stable_lr_ratio, decay_start, decay_steps, decay_shape, min_lr_ratio
    )
    return LambdaLR(optimizer, schedule, last_epoch=last_epoch)
