"""Per-process data shards: W processes with batch b see, batch by batch, exactly the samples
one process with batch W*b sees; the eval shards hold every sample once; a resumed shard
continues where it stopped."""

import pytest
import torch

from forgather.ml.trainer.dataloader import EpochSampler, ResumableDataLoader, eval_dataloader


def batches(loader):
    return [b.tolist() for b in loader]


CASES = [  # (samples, processes, batch per process, shuffle)
    (16, 2, 2, True), (17, 2, 3, True), (10, 3, 2, False), (7, 4, 1, True), (9, 1, 4, True),
]


@pytest.mark.parametrize("n,world,batch,shuffle", CASES)
def test_shards_together_are_the_large_batch(n, world, batch, shuffle):
    data = torch.arange(n)
    single = ResumableDataLoader(data, batch_size=world * batch, collate_fn=torch.stack, shuffle=shuffle, seed=3,
                                 drop_last=False)
    shards = [ResumableDataLoader(data, batch_size=batch, collate_fn=torch.stack, shuffle=shuffle, seed=3,
                                  num_shards=world, shard_index=r) for r in range(world)]
    per_rank = [batches(s) for s in shards]
    assert len({len(b) for b in per_rank}) == 1  # every process runs the same number of steps
    kept = (n // world) * world  # the tail beyond a multiple of W is dropped (each sample at most once)
    expected = torch.cat([b for b in single.loader])[:kept]
    union = [sorted(sum((rank[k] for rank in per_rank), [])) for k in range(len(per_rank[0]))]
    want = [sorted(expected[k * world * batch:(k + 1) * world * batch].tolist()) for k in range(len(union))]
    assert union == want


@pytest.mark.parametrize("n,world", [(13, 2), (5, 3), (4, 4), (3, 4)])
def test_eval_shards_hold_every_sample_once(n, world):
    seen = []
    for r in range(world):
        for b in eval_dataloader(torch.arange(n), batch_size=2, collate_fn=torch.stack, num_shards=world,
                                 shard_index=r):
            seen += b.tolist()
    assert sorted(seen) == list(range(n))


def test_resumed_shard_continues():
    make = lambda: ResumableDataLoader(torch.arange(20), batch_size=2, collate_fn=torch.stack, shuffle=True,
                                       seed=1, num_shards=2, shard_index=1)
    full = batches(make())
    first = make()
    it = iter(first)
    head = [next(it).tolist() for _ in range(2)]
    resumed = make()
    resumed.load_state_dict(first.state_dict())
    assert head + batches(resumed) == full


def test_bad_shard_index():
    with pytest.raises(ValueError, match="shard_index 2 out of range for 2 shards"):
        EpochSampler(4, shuffle=False, seed=0, num_shards=2, shard_index=2)


class Stream(torch.utils.data.IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        return iter(torch.arange(self.n))


@pytest.mark.parametrize("n,world,batch", [(13, 2, 2), (10, 3, 1), (7, 4, 1), (3, 4, 1), (16, 2, 3)])
def test_iterable_shards_are_even(n, world, batch):
    """Every process gets as many items and batches of a stream; together the W processes'
    batch k is the single process's batch k (the tail beyond a multiple of W dropped). Before,
    the first n % W processes got one item more: one rank's epoch ran a step longer."""
    shards = [batches(ResumableDataLoader(Stream(n), batch_size=batch, collate_fn=torch.stack, shuffle=False, seed=0,
                                          num_shards=world, shard_index=r)) for r in range(world)]
    assert len({len(s) for s in shards}) == 1 and len({len(sum(s, [])) for s in shards}) == 1
    kept = (n // world) * world
    single = batches(ResumableDataLoader(Stream(kept), batch_size=world * batch, collate_fn=torch.stack,
                                         shuffle=False, seed=0))
    assert [sorted(sum((s[k] for s in shards), [])) for k in range(len(shards[0]))] == [sorted(b) for b in single]


def test_iterable_eval_shards_hold_every_item_once():
    seen = [x for r in range(3) for b in eval_dataloader(Stream(10), batch_size=2, collate_fn=torch.stack, num_shards=3,
                                                          shard_index=r) for x in b.tolist()]
    assert sorted(seen) == list(range(10))
