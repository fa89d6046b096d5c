"""The learning-rate schedule and the Trainer's plan.

A schedule factory that takes ``num_training_steps`` gets the Trainer's total number of optimizer
steps (``max_steps``, or what ``num_train_epochs`` makes of the data), so that a schedule left
without its own ``total_steps`` decays over the run however its length is given (the stdlib's
schedules: `forgather.ml.optim.schedulers`).

On resume the checkpoint gives the schedule's position (the step, the optimizer's learning rates)
and the config and the plan give its settings: a run resumed with a larger ``max_steps`` decays
to the new end instead of holding the old schedule's floor. A ``LambdaLR`` saves its multiplier
objects' attributes in its state; those are put back to what the factory just built, and the
learning rate of the current step is recomputed from them.
"""

from __future__ import annotations

import copy
import inspect
import types
from typing import Any, Callable


def create_schedule(factory: Callable, optimizer: Any, total_steps: int) -> Any:
    """``factory(optimizer)``, plus ``num_training_steps=total_steps`` when it takes that keyword
    (or any keyword)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if "num_training_steps" in params or takes_any:
        return factory(optimizer, num_training_steps=total_steps)
    return factory(optimizer)


def schedule_settings(scheduler: Any) -> list[dict] | None:
    """The settings a LambdaLR's state would overwrite: its multiplier objects' attributes."""
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if lambdas is None:
        return None
    return [copy.deepcopy(fn.__dict__) if not isinstance(fn, types.FunctionType) else {} for fn in lambdas]


def restore_schedule_settings(scheduler: Any, settings: list[dict] | None, optimizer: Any) -> bool:
    """Put `schedule_settings` back after a state was loaded; when they differ from the saved
    ones, set the optimizer's learning rates for the current step from them. True if changed."""
    if settings is None:
        return False
    changed = False
    for fn, mine in zip(scheduler.lr_lambdas, settings):
        if isinstance(fn, types.FunctionType) or fn.__dict__ == mine:
            continue
        fn.__dict__.clear()
        fn.__dict__.update(mine)
        changed = True
    if changed:
        step = scheduler.last_epoch
        lrs = [base * fn(step) for base, fn in zip(scheduler.base_lrs, scheduler.lr_lambdas)]
        for group, lr in zip(optimizer.param_groups, lrs):
            group["lr"] = lr
        scheduler._last_lr = lrs
    return changed
