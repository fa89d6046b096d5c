"""Local byte-level BPE: trains, saves as PreTrainedTokenizerFast, reloads identically."""

import pytest
from transformers import PreTrainedTokenizerFast

from forgather.ml.data import DataError, load_tokenizer, train_bpe_tokenizer

SAMPLES = ["def f(x):\n    return x ** 2\n", "naïve café — 数学 🙂", "\t\n  ", "import os, sys"]


def test_special_tokens_and_round_trip(bpe):
    assert isinstance(bpe, PreTrainedTokenizerFast) and len(bpe) == 320
    assert [bpe.pad_token_id, bpe.bos_token_id, bpe.eos_token_id, bpe.unk_token_id] == [0, 1, 2, 3]
    for text in SAMPLES:  # byte-level: every string survives, no unknown token
        ids = bpe(text, add_special_tokens=False)["input_ids"]
        assert bpe.unk_token_id not in ids and bpe.decode(ids) == text
    assert bpe("x")["input_ids"][0] == bpe.bos_token_id  # BOS prefix by default
    assert bpe.padding_side == "right"


def test_save_and_load(tmp_path, small_corpus, bpe):
    saved = train_bpe_tokenizer(small_corpus.train, 320, output_dir=tmp_path / "tok")
    assert saved.get_vocab() == bpe.get_vocab()  # training is deterministic
    loaded = load_tokenizer(tmp_path / "tok")
    for text in SAMPLES:
        assert loaded(text)["input_ids"] == bpe(text)["input_ids"]
    train_bpe_tokenizer(["abc abc"], 270, output_dir=tmp_path / "tok", min_frequency=1)  # replaces
    replaced = load_tokenizer(tmp_path / "tok")
    assert len(replaced) <= 270 and replaced.get_vocab() != bpe.get_vocab()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="vocab_size 100 is too small .* at least 260"):
        train_bpe_tokenizer(["text"], 100)
    with pytest.raises(DataError, match="empty corpus"):
        train_bpe_tokenizer([], 300)
    with pytest.raises(DataError, match="no tokenizer.json here"):
        load_tokenizer(tmp_path)
