"""Stopping after N steps and resuming for N more equals 2N uninterrupted steps, bit for bit.

Dropout is on and the data is shuffled, so the RNG states and the data position must both be
restored exactly; an epoch boundary falls inside the resumed half.
"""

import pytest
import torch
from trainer_testlib import RandomTokens, StopAt, Subset, params_equal, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import Trainer, TrainingArguments

N = 4


def make_trainer(output_dir, ga, train, vocab, callbacks=(), workers=0):
    args = TrainingArguments(
        output_dir=str(output_dir), max_steps=2 * N, per_device_train_batch_size=2, dataloader_num_workers=workers,
        gradient_accumulation_steps=ga, learning_rate=3e-3, warmup_steps=2, lr_scheduler_type="cosine",
        logging_steps=1, save_steps=N, disable_tqdm=True, seed=7,
    )
    model = tiny_llama(vocab, seed=1, dropout=0.2)
    return Trainer(model, args, data_collator=DataCollatorForCausalLM(pad_token_id=0),
                   train_dataset=train, callbacks=list(callbacks))


def optimizer_state_equal(a, b):
    sa, sb = a.state_dict()["state"], b.state_dict()["state"]
    return sa.keys() == sb.keys() and all(
        torch.equal(sa[k][name], sb[k][name]) for k in sa for name in sa[k]
    )


@pytest.mark.parametrize("ga,workers", [(1, 0), (3, 0), (2, 2)])
def test_resume_is_bit_identical(ga, workers, tmp_path, train_blocks, tok):
    """(With loader workers, prefetching runs ahead of training: the position must not.)"""
    train = Subset(train_blocks, 2 * ga * 5)  # 5 steps per epoch: the resumed half crosses an epoch
    full = make_trainer(tmp_path / "full", ga, train, len(tok), workers=workers)
    full.train()

    first = make_trainer(tmp_path / "split", ga, train, len(tok), callbacks=[StopAt(N)], workers=workers)
    first.train()
    assert first.state.global_step == N
    assert params_equal(first.model, full.model)  # after N steps the weights still differ from 2N

    second = make_trainer(tmp_path / "split", ga, train, len(tok), workers=workers)
    second.train(resume_from_checkpoint=True)
    assert second.state.global_step == 2 * N
    assert params_equal(second.model, full.model) == []
    assert optimizer_state_equal(second.optimizer, full.optimizer)
    assert second.lr_scheduler.state_dict() == full.lr_scheduler.state_dict()
    resumed_losses = [r["loss"] for r in second.state.log_history if "loss" in r]
    full_losses = [r["loss"] for r in full.state.log_history if "loss" in r]
    assert resumed_losses == full_losses  # the log history is restored and continued


class Stream(torch.utils.data.IterableDataset):
    """An iterable dataset without a position of its own: resuming replays the skipped batches."""

    def __init__(self):
        self.items = [RandomTokens(24, vocab=64, seed=3)[i] for i in range(24)]
        self.yielded = 0

    def __iter__(self):
        for item in self.items:
            self.yielded += 1
            yield item


class StatefulStream(Stream):
    """An iterable dataset that can seek: resuming restores its position without replaying."""

    def __init__(self):
        super().__init__()
        self.position = 0

    def __iter__(self):
        while self.position < len(self.items):
            self.position += 1
            self.yielded += 1
            yield self.items[self.position - 1]
        self.position = 0

    def state_dict(self):
        return {"position": self.position}

    def load_state_dict(self, state):
        self.position = state["position"]


@pytest.mark.parametrize("stream_cls,replayed", [(Stream, True), (StatefulStream, False)])
def test_resume_iterable_dataset(stream_cls, replayed, tmp_path):
    full = make_trainer(tmp_path / "full", 1, stream_cls(), 64)  # 12 batches of 2 per pass
    full.train()
    make_trainer(tmp_path / "split", 1, stream_cls(), 64, callbacks=[StopAt(N)]).train()
    stream = stream_cls()
    second = make_trainer(tmp_path / "split", 1, stream, 64)
    second.train(resume_from_checkpoint=True)
    assert params_equal(second.model, full.model) == []
    # 2N steps of 2 items; the first N were replayed only by the stream that cannot seek.
    assert stream.yielded == (2 * N if replayed else N) * 2
