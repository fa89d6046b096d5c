"""Packing documents into fixed-length blocks with document starts."""

import pytest
import torch

from forgather.ml.data import PackedDataset, tokenize_documents

CASES = [  # (sequences, block size, drop_remainder) -> [(block tokens, document starts)]
    ([[1, 2, 3], [4, 5]], 4, False, [([1, 2, 3, 4], [0, 3]), ([5], [0])]),
    ([[1, 2, 3], [4, 5]], 4, True, [([1, 2, 3, 4], [0, 3])]),
    ([[1, 2], [3, 4], [5, 6]], 2, False, [([1, 2], [0]), ([3, 4], [0]), ([5, 6], [0])]),
    ([[1, 2, 3, 4, 5, 6, 7]], 3, False, [([1, 2, 3], [0]), ([4, 5, 6], [0]), ([7], [0])]),
    ([[1], [2], [3], [4, 5, 6]], 4, False, [([1, 2, 3, 4], [0, 1, 2, 3]), ([5, 6], [0])]),
    ([[1, 2], [], [3]], 8, False, [([1, 2, 3], [0, 2])]),
    ([[9] * 5, [8] * 3], 4, False, [([9, 9, 9, 9], [0]), ([9, 8, 8, 8], [0, 1])]),
]


@pytest.mark.parametrize("sequences,block,drop,expected", CASES)
def test_blocks(sequences, block, drop, expected):
    dataset = PackedDataset.from_sequences(sequences, block, drop_remainder=drop)
    got = [(item["input_ids"].tolist(), item["document_starts"].tolist()) for item in dataset]
    assert got == expected
    assert len(dataset) == len(expected)


def test_blocks_cover_the_stream_exactly():
    g = torch.Generator().manual_seed(0)
    sequences = [torch.randint(0, 100, (int(n),), generator=g).tolist() for n in torch.randint(1, 40, (50,), generator=g)]
    dataset = PackedDataset.from_sequences(sequences, 16)
    stream = torch.cat([dataset[i]["input_ids"] for i in range(len(dataset))])
    assert stream.tolist() == [t for s in sequences for t in s]
    starts = [16 * i + s for i in range(len(dataset)) for s in dataset[i]["document_starts"].tolist()]
    offsets = [0]
    for s in sequences[:-1]:
        offsets.append(offsets[-1] + len(s))
    block_starts = list(range(0, len(stream), 16))
    assert sorted(set(starts)) == sorted(set(offsets) | set(block_starts))
    assert dataset[-1]["input_ids"].tolist() == dataset[len(dataset) - 1]["input_ids"].tolist()
    with pytest.raises(IndexError):
        dataset[len(dataset)]


def test_from_text_with_bos_and_eos(bpe):
    docs = ["def a(): pass", "x = 1"]
    ids = tokenize_documents(docs, bpe)
    assert [s[0] for s in ids] == [bpe.bos_token_id] * 2 and [s[-1] for s in ids] == [bpe.eos_token_id] * 2
    dataset = PackedDataset(docs, bpe, block_size=64)
    assert len(dataset) == 1
    item = dataset[0]
    assert item["document_starts"].tolist() == [0, len(ids[0])]
    assert bpe.decode(item["input_ids"], skip_special_tokens=True) == "def a(): passx = 1"
    assert dataset.utilization() == pytest.approx(len(ids[0] + ids[1]) / 64)
    bare = tokenize_documents(docs, bpe, add_bos=False, add_eos=False)
    assert [len(s) for s in bare] == [len(s) - 2 for s in ids]


def test_block_size_must_be_useful():
    with pytest.raises(ValueError, match="block_size must be at least 2"):
        PackedDataset.from_sequences([[1, 2]], 1)
