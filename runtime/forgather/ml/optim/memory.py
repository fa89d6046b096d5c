"""How much memory an optimizer's state holds."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import Optimizer


def state_bytes(optimizer: Optimizer) -> int:
    """Bytes of the tensors in `optimizer.state`, each storage counted once and in full.

    Counting storages rather than tensor sizes reports what is really held: a view (say a
    slice of an SVD factor kept as a projection matrix) keeps its whole storage alive. Tensors
    nested in lists, tuples, dicts and plain objects in the state (third-party optimizers keep
    projector objects there) are found too. Python numbers (our `step` counters) take none.
    Works for meta tensors, so the state of a large model can be sized without allocating it,
    and for tensor subclasses that wrap others (torchao's 4- and 8-bit state): their inner tensors.
    """
    storages: dict[int, int] = {}
    seen: set[int] = set()

    def visit(value: Any) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if torch.is_tensor(value) and hasattr(value, "__tensor_flatten__"):
            # a wrapper subclass (torchao's quantised state): what it holds are its inner tensors
            names, _ = value.__tensor_flatten__()
            for name in names:
                visit(getattr(value, name))
        elif torch.is_tensor(value):
            storage = value.untyped_storage()
            storages[storage._cdata] = storage.nbytes()
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                visit(item)
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            for item in vars(value).values():
                visit(item)

    for state in optimizer.state.values():
        visit(state)
    return sum(storages.values())
