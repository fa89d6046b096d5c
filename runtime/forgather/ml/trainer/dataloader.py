"""Training data loader with an exact, resumable position.

The position is ``(epoch, batches handed to the trainer in that epoch)``, counted where the
trainer consumes batches, so worker prefetching cannot make it run ahead. Resuming a map-style
dataset restarts the epoch's (seeded) sample order at that offset without loading the skipped
samples; an iterable dataset restores its own ``state_dict`` when it has one (single-process
loading) and otherwise replays the skipped batches.

Several data-parallel processes each load a shard: process ``r`` of ``W`` takes the samples at
positions ``r, r + W, r + 2W, ...`` of the epoch's order (truncated to a multiple of ``W`` so that
every process runs the same number of steps). Batch ``k`` of all processes together then holds
exactly the samples of batch ``k`` of one process with a ``W`` times larger batch. An iterable
dataset is split the same way as it streams: item ``r`` of every complete group of ``W`` items,
the last incomplete group dropped, so every process gets as many items (and batches) per epoch;
a process that ran out a step early would otherwise wait in a collective the others never join.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

logger = logging.getLogger(__name__)


def has_length(obj: Any) -> bool:
    try:
        return len(obj) is not None
    except (TypeError, NotImplementedError, AttributeError):
        return False


class EpochSampler(Sampler[int]):
    """Indices of one epoch: a permutation seeded by ``(seed, epoch)``, or in order; this
    process's shard of it; from ``start`` (a position within the shard)."""

    def __init__(self, num_samples: int, *, shuffle: bool, seed: int, num_shards: int = 1,
                 shard_index: int = 0) -> None:
        if not 0 <= shard_index < num_shards:
            raise ValueError(f"shard_index {shard_index} out of range for {num_shards} shards")
        self.num_samples = num_samples
        self.shuffle = shuffle
        self.seed = seed
        self.num_shards = num_shards
        self.shard_index = shard_index
        self.epoch = 0
        self.start = 0

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.num_samples, generator=generator)
        else:
            order = torch.arange(self.num_samples)
        if self.num_shards > 1:
            order = order[: len(self) * self.num_shards][self.shard_index :: self.num_shards]
        return iter(order[self.start :].tolist())

    def __len__(self) -> int:
        return self.num_samples // self.num_shards if self.num_shards > 1 else self.num_samples


class ShardedIterable(IterableDataset):
    """Every ``num_shards``-th item of an iterable dataset, from ``shard_index``. With ``even``
    (training), only complete groups of ``num_shards`` items count: every shard gets the same
    number of items, and the last ``len % num_shards`` items are dropped (as the map-style
    sampler truncates); without it (evaluation) every item goes to exactly one shard."""

    def __init__(self, dataset: Any, num_shards: int, shard_index: int, *, even: bool = False) -> None:
        self.dataset, self.num_shards, self.shard_index, self.even = dataset, num_shards, shard_index, even

    def __iter__(self) -> Iterator[Any]:
        mine = None
        for i, item in enumerate(self.dataset):
            position = i % self.num_shards
            if position == self.shard_index:
                mine = item
                if not self.even:
                    yield item
            if self.even and position == self.num_shards - 1:  # the group is complete
                yield mine

    def set_epoch(self, epoch: int) -> None:
        if callable(getattr(self.dataset, "set_epoch", None)):
            self.dataset.set_epoch(epoch)


class ResumableDataLoader:
    """Iterates batches of ``dataset`` epoch after epoch; ``state_dict`` is its exact position."""

    def __init__(
        self,
        dataset: Dataset | IterableDataset,
        *,
        batch_size: int,
        collate_fn: Callable | None,
        shuffle: bool,
        seed: int,
        drop_last: bool = False,
        num_workers: int = 0,
        pin_memory: bool = False,
        num_shards: int = 1,
        shard_index: int = 0,
    ) -> None:
        self.iterable = isinstance(dataset, IterableDataset) or not has_length(dataset)
        if self.iterable and num_shards > 1:
            dataset = ShardedIterable(dataset, num_shards, shard_index, even=True)  # replays; no state_dict
        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = None if self.iterable else EpochSampler(
            len(dataset), shuffle=shuffle, seed=seed, num_shards=num_shards, shard_index=shard_index
        )
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=self.sampler,
            collate_fn=collate_fn,
            drop_last=drop_last,
            num_workers=num_workers,
            pin_memory=pin_memory,
            # Its own generator: making an iterator must not draw from the global torch RNG,
            # or a resumed run would see a different random stream than an uninterrupted one.
            generator=torch.Generator().manual_seed(seed),
            persistent_workers=False,
        )
        self.epoch = 0
        self.batches_seen = 0
        self._dataset_state: dict | None = None  # iterable dataset's own state at the last batch
        self._pending_state: dict | None = None

    def __len__(self) -> int:
        if self.iterable:
            raise TypeError("an iterable dataset has no length")
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning, unless it is the epoch a restored position is in."""
        if epoch != self.epoch:
            self.epoch = epoch
            self.batches_seen = 0
            self._pending_state = None

    def __iter__(self) -> Iterator[Any]:
        skip = 0
        if callable(getattr(self.dataset, "set_epoch", None)):  # e.g. HF IterableDataset shuffling
            self.dataset.set_epoch(self.epoch)
        if self.sampler is not None:
            self.sampler.epoch = self.epoch
            self.sampler.start = self.batches_seen * self.batch_size
        elif self._pending_state is not None:
            self.dataset.load_state_dict(self._pending_state)
        else:
            skip = self.batches_seen  # no way to seek: replay
        self._pending_state = None
        iterator = iter(self.loader)
        for _ in range(skip):
            next(iterator, None)
        for batch in iterator:
            self.batches_seen += 1
            if self._tracks_dataset_state():
                self._dataset_state = self.dataset.state_dict()
            yield batch

    def _tracks_dataset_state(self) -> bool:
        return (
            self.iterable
            and self.loader.num_workers == 0
            and callable(getattr(self.dataset, "state_dict", None))
            and callable(getattr(self.dataset, "load_state_dict", None))
        )

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"epoch": self.epoch, "batches_seen": self.batches_seen}
        if self._dataset_state is not None:
            state["dataset"] = self._dataset_state
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.batches_seen = int(state["batches_seen"])
        if not self.iterable and self.batches_seen >= len(self):
            self.epoch, self.batches_seen = self.epoch + 1, 0  # the saved epoch was complete
        self._pending_state = state.get("dataset") if self._tracks_dataset_state() else None
        self._dataset_state = self._pending_state


def eval_dataloader(
    dataset: Dataset | IterableDataset,
    *,
    batch_size: int,
    collate_fn: Callable | None,
    drop_last: bool = False,
    num_workers: int = 0,
    pin_memory: bool = False,
    num_shards: int = 1,
    shard_index: int = 0,
) -> DataLoader:
    """A plain, ordered data loader for evaluation; process ``shard_index`` of ``num_shards``
    takes every ``num_shards``-th sample (all of them together: each sample once)."""
    sampler = None
    if num_shards > 1:
        if isinstance(dataset, IterableDataset) or not has_length(dataset):
            dataset = ShardedIterable(dataset, num_shards, shard_index)
        else:
            sampler = range(shard_index, len(dataset), num_shards)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False,
        collate_fn=collate_fn,
        drop_last=drop_last,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )
