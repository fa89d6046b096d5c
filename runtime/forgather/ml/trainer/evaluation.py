"""Predictions and metrics with ``transformers.Trainer``'s semantics: what ``evaluate()`` and
``predict()`` hand to ``compute_metrics``.

A `PredictionCollector` keeps, per evaluated sample, the model's logits (after
``preprocess_logits_for_metrics``), its labels and, when asked (``include_for_metrics``), its
input ids and loss, on the CPU. `gather` puts the samples of every process back in dataset order
(process ``r`` of ``n`` evaluated samples ``r, r + n, ...``), and `stack` pads them along the
sequence axis with -100 as transformers' ``nested_concat`` does, so that the arrays
``compute_metrics`` receives are the same whatever the number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

PAD = -100  # transformers' padding_index for predictions and labels


def _rows(value: Any) -> list:
    """The per-sample rows of a batch output: a tensor, or a tuple/list of them (nested)."""
    if isinstance(value, (tuple, list)):
        parts = [_rows(v) for v in value]
        return [type(value)(p[i] for p in parts) for i in range(len(parts[0]))]
    array = value.detach().float().cpu().numpy() if value.dtype.is_floating_point else value.detach().cpu().numpy()
    return list(array)


@dataclass
class PredictionCollector:
    """What one evaluation collects on this process (see the module docstring)."""

    preprocess: Callable[[torch.Tensor, torch.Tensor], Any] | None = None
    include_inputs: bool = False
    include_losses: bool = False
    predictions: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    accept: bool = True  # False while a lockstep repeat batch runs (its result is not the data's)

    def add(self, logits: torch.Tensor, labels: torch.Tensor | None, inputs: torch.Tensor | None,
            mean_loss: torch.Tensor | None) -> None:
        if not self.accept:
            return
        if self.preprocess is not None:
            logits = self.preprocess(logits, labels)
        rows = _rows(logits)
        self.predictions += rows
        if labels is not None:
            self.labels += _rows(labels)
        if self.include_inputs and inputs is not None:
            self.inputs += _rows(inputs)
        if self.include_losses and mean_loss is not None:
            self.losses += [np.float32(mean_loss.item())] * len(rows)

    def local(self) -> dict[str, list]:
        return {"predictions": self.predictions, "labels": self.labels, "inputs": self.inputs, "losses": self.losses}


def gather(local: dict[str, list], world: int, rank_shards: int) -> dict[str, list]:
    """Every process's samples in dataset order. ``rank_shards``: the number of data shards
    (process r of them evaluated samples r, r + n, ...); with one shard nothing is exchanged."""
    if rank_shards <= 1 or world <= 1:
        return local
    import torch.distributed as dist

    everyone: list[Any] = [None] * world
    dist.all_gather_object(everyone, local)
    shards = everyone[:rank_shards] if world == rank_shards else _one_per_shard(everyone, world, rank_shards)
    merged: dict[str, list] = {}
    for key in local:
        columns = [shard[key] for shard in shards]
        merged[key] = [columns[r][j] for j in range(max(map(len, columns), default=0))
                       for r in range(rank_shards) if j < len(columns[r])]
    return merged


def _one_per_shard(everyone: list, world: int, shards: int) -> list:
    # processes of one data shard (pipeline ranks of one replica) saw the same samples; the
    # ones that collected them hold them
    per = world // shards
    return [next((p for p in everyone[s * per:(s + 1) * per] if p["predictions"]), everyone[s * per])
            for s in range(shards)]


def stack(rows: list) -> Any:
    """Rows of possibly different lengths as one array, padded with -100 on the right of every
    axis but the first (transformers' ``nested_concat``); nested tuples stay tuples. None when
    there is no row."""
    if not rows:
        return None
    if isinstance(rows[0], (tuple, list)):
        return type(rows[0])(stack([r[i] for r in rows]) for i in range(len(rows[0])))
    rows = [np.asarray(r) for r in rows]
    if rows[0].ndim == 0:
        return np.stack(rows)
    shape = tuple(max(r.shape[d] for r in rows) for d in range(rows[0].ndim))
    out = np.full((len(rows), *shape), PAD, dtype=np.result_type(*rows))
    for i, r in enumerate(rows):
        out[(i, *(slice(0, n) for n in r.shape))] = r
    return out


def prefixed(metrics: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Keys as transformers writes them: ``{prefix}_{name}`` unless the name already starts so;
    numpy and tensor scalars as Python numbers (``denumpify_detensorize``)."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
            value = value.item()
        elif isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        out[key if key.startswith(f"{prefix}_") else f"{prefix}_{key}"] = value
    return out
