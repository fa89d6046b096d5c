"""Shared pieces of the trainer tests: a tiny Llama, a local corpus and tokenizer, a recorder."""

from __future__ import annotations

import functools

import torch
from transformers import LlamaConfig, LlamaForCausalLM, TrainerCallback

from forgather.ml.data import PackedDataset, stdlib_corpus, train_bpe_tokenizer

BLOCK = 32


def tiny_llama(vocab_size: int, *, seed: int = 0, dropout: float = 0.0, tie: bool = False) -> LlamaForCausalLM:
    """A 2-layer Llama (hidden 32) built deterministically from ``seed``."""
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        attention_dropout=dropout,
        tie_word_embeddings=tie,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return LlamaForCausalLM(config)


@functools.lru_cache(maxsize=None)
def corpus():
    return stdlib_corpus(40, eval_fraction=0.2)


@functools.lru_cache(maxsize=None)
def tokenizer():
    return train_bpe_tokenizer(corpus().train, 384)


@functools.lru_cache(maxsize=None)
def packed(split: str, block: int = BLOCK) -> PackedDataset:
    docs = corpus().train if split == "train" else corpus().eval
    return PackedDataset(docs, tokenizer(), block)


class Subset(torch.utils.data.Dataset):
    """The first ``n`` items of a dataset."""

    def __init__(self, dataset, n: int) -> None:
        self.dataset, self.n = dataset, min(n, len(dataset))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if i >= self.n:
            raise IndexError(i)
        return self.dataset[i]


class RandomTokens(torch.utils.data.Dataset):
    """Seeded random token sequences of varied lengths (no tokenizer needed)."""

    def __init__(self, n: int, vocab: int = 64, min_len: int = 6, max_len: int = 24, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        lengths = torch.randint(min_len, max_len + 1, (n,), generator=g)
        self.items = [torch.randint(4, vocab, (int(L),), generator=g) for L in lengths]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return {"input_ids": self.items[i]}


EVENTS = (
    "on_init_end", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_step_begin", "on_pre_optimizer_step", "on_optimizer_step", "on_substep_end",
    "on_step_end", "on_evaluate", "on_predict", "on_save", "on_log", "on_prediction_step",
)


class Recorder(TrainerCallback):
    """Records ``(event, global_step)`` for every event, under any trainer."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.logs: list[dict] = []


def _recording(event: str):
    def record(self, args, state, control, **kwargs):
        self.events.append((event, state.global_step))
        if event == "on_log":
            self.logs.append(dict(kwargs["logs"], step=state.global_step))

    return record


for _event in EVENTS:
    setattr(Recorder, _event, _recording(_event))


class StopAt(TrainerCallback):
    """Stops training after step ``n`` (an interruption that leaves the schedule intact)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.n:
            control.should_training_stop = True


def params_equal(a: torch.nn.Module, b: torch.nn.Module) -> list[str]:
    """Names of parameters that differ bit-wise (empty when identical)."""
    pb = dict(b.named_parameters())
    return [n for n, p in a.named_parameters() if not torch.equal(p, pb[n])]
