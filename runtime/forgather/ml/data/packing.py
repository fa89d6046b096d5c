"""Pack tokenized documents into fixed-length blocks, remembering where each document starts.

Documents are concatenated (each wrapped in BOS ... EOS) into one token stream that is cut every
``block_size`` tokens; a document may continue into the next block. Each block carries its
``document_starts``: the offsets inside the block where a document (or the continuation of one, at
offset 0) begins. The collator turns those into position ids that restart per document, which
Hugging Face models and ours use to mask attention per document.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from .text import as_documents


def tokenize_documents(
    documents: Any,
    tokenizer: Any,
    *,
    add_bos: bool = True,
    add_eos: bool = True,
    field: str = "text",
    batch_size: int = 1000,
) -> list[list[int]]:
    """Token ids of each document, without the tokenizer's own special tokens, plus BOS/EOS."""
    texts = as_documents(documents, field=field)
    bos = [tokenizer.bos_token_id] if add_bos else []
    eos = [tokenizer.eos_token_id] if add_eos else []
    if (add_bos and tokenizer.bos_token_id is None) or (add_eos and tokenizer.eos_token_id is None):
        raise ValueError("the tokenizer has no bos/eos token: pass add_bos=False / add_eos=False")
    sequences = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(texts[start : start + batch_size], add_special_tokens=False, verbose=False)
        sequences.extend(bos + ids + eos for ids in encoded["input_ids"])
    return sequences


class PackedDataset(Dataset):
    """A map-style dataset of packed blocks: ``{"input_ids": (L,), "document_starts": (k,)}``.

    The stream is stored once as a flat tensor; a block is a view of it. The last block is shorter
    than ``block_size`` unless ``drop_remainder`` drops it.
    """

    def __init__(
        self,
        documents: Any,
        tokenizer: Any,
        block_size: int,
        *,
        add_bos: bool = True,
        add_eos: bool = True,
        drop_remainder: bool = False,
        field: str = "text",
    ) -> None:
        sequences = tokenize_documents(
            documents, tokenizer, add_bos=add_bos, add_eos=add_eos, field=field
        )
        self._init_from_sequences(sequences, block_size, drop_remainder)

    @classmethod
    def from_sequences(
        cls, sequences: Iterable[Sequence[int]], block_size: int, *, drop_remainder: bool = False
    ) -> "PackedDataset":
        """Pack already tokenized sequences (e.g. an ``input_ids`` column)."""
        dataset = cls.__new__(cls)
        dataset._init_from_sequences(sequences, block_size, drop_remainder)
        return dataset

    def _init_from_sequences(
        self, sequences: Iterable[Sequence[int]], block_size: int, drop_remainder: bool
    ) -> None:
        if block_size < 2:
            raise ValueError(f"block_size must be at least 2, got {block_size}")
        lengths, chunks = [], []
        for seq in sequences:
            seq = torch.as_tensor(seq, dtype=torch.long)
            if seq.numel():
                lengths.append(seq.numel())
                chunks.append(seq)
        self.block_size = block_size
        self.tokens = torch.cat(chunks) if chunks else torch.zeros(0, dtype=torch.long)
        self.document_offsets = torch.cumsum(torch.tensor([0] + lengths[:-1]), 0)  # stream offsets
        n = self.tokens.numel()
        self._len = n // block_size if drop_remainder else math.ceil(n / block_size)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -self._len <= index < self._len:
            raise IndexError(f"block {index} out of range for {self._len} blocks")
        index %= self._len
        start = index * self.block_size
        end = min(start + self.block_size, self.tokens.numel())
        lo, hi = torch.searchsorted(self.document_offsets, torch.tensor([start, end]))
        starts = self.document_offsets[lo:hi] - start
        if starts.numel() == 0 or starts[0] != 0:  # a document continues from the previous block
            starts = torch.cat([torch.zeros(1, dtype=torch.long), starts])
        return {"input_ids": self.tokens[start:end], "document_starts": starts}

    def utilization(self) -> float:
        """Fraction of block positions holding tokens (1.0 but for the last, shorter block)."""
        capacity = self._len * self.block_size
        return min(self.tokens.numel(), capacity) / max(1, capacity)


class PackedExamples(Dataset):
    """Labelled examples (chat, instructions) packed whole into blocks of at most ``block_size``
    tokens: ``{"input_ids", "labels", "document_starts"}`` per block.

    Unlike `PackedDataset`, an example is never split across blocks (its prompt would be lost);
    examples are taken in order and a block is closed when the next one does not fit. An example
    longer than ``block_size`` is cut to it (a warning counts them). With the collator's position
    ids that restart per example, attention stays inside each example (`models.masks`), so
    packing changes no example's loss, only the padding wasted.
    """

    def __init__(self, examples: Any, block_size: int, *, input_field: str = "input_ids",
                 label_field: str = "labels") -> None:
        if block_size < 2:
            raise ValueError(f"block_size must be at least 2, got {block_size}")
        self.block_size = block_size
        self.blocks: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        ids: list[torch.Tensor] = []
        labels: list[torch.Tensor] = []
        used = cut = 0
        for example in examples:
            x = torch.as_tensor(example[input_field], dtype=torch.long).reshape(-1)
            y = torch.as_tensor(example[label_field], dtype=torch.long).reshape(-1)
            if x.shape != y.shape:
                raise ValueError(f"an example has {x.numel()} input ids and {y.numel()} labels")
            if x.numel() > block_size:
                x, y, cut = x[:block_size], y[:block_size], cut + 1
            if used + x.numel() > block_size:
                self._close(ids, labels)
                ids, labels, used = [], [], 0
            ids.append(x)
            labels.append(y)
            used += x.numel()
        self._close(ids, labels)
        if cut:
            import logging

            logging.getLogger(__name__).warning(
                "%d examples are longer than block_size=%d and were cut to it", cut, block_size
            )

    def _close(self, ids: list[torch.Tensor], labels: list[torch.Tensor]) -> None:
        if not ids:
            return
        lengths = torch.tensor([0] + [x.numel() for x in ids[:-1]])
        self.blocks.append((torch.cat(ids), torch.cat(labels), torch.cumsum(lengths, 0)))

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ids, labels, starts = self.blocks[index]
        return {"input_ids": ids, "labels": labels, "document_starts": starts}

    def utilization(self) -> float:
        """Fraction of the blocks' positions holding tokens."""
        used = sum(ids.numel() for ids, _, _ in self.blocks)
        return used / max(1, len(self.blocks) * self.block_size)
