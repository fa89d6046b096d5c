"""Train a byte-level BPE tokenizer locally and use it as a ``transformers.PreTrainedTokenizerFast``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from forgather_files.atomic import new_directory
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from ..run_inputs import note_file
from .text import DataError, as_documents

BOS, EOS, PAD, UNK = "<|BOS|>", "<|EOS|>", "<|PAD|>", "<|UNK|>"


def train_bpe_tokenizer(
    texts: Any,
    vocab_size: int = 2000,
    *,
    min_frequency: int = 2,
    model_max_length: int = 2048,
    add_bos: bool = True,
    extra_special_tokens: Iterable[str] = (),
    output_dir: str | os.PathLike | None = None,
    field: str = "text",
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts`` (anything `as_documents` accepts).

    The special tokens are ``<|PAD|> <|BOS|> <|EOS|> <|UNK|>`` (ids 0-3) plus
    ``extra_special_tokens``; with ``add_bos`` the tokenizer prefixes ``<|BOS|>`` when called with
    ``add_special_tokens=True``. Byte-level means every string encodes without unknown tokens.
    When ``output_dir`` is given the tokenizer is saved there (atomically) with ``save_pretrained``.
    """
    documents = as_documents(texts, field=field)
    if not documents:
        raise DataError("cannot train a tokenizer on an empty corpus")
    specials = [PAD, BOS, EOS, UNK, *extra_special_tokens]
    if vocab_size < 256 + len(specials):
        raise ValueError(
            f"vocab_size {vocab_size} is too small for a byte-level BPE: it needs at least "
            f"{256 + len(specials)} (256 bytes + {len(specials)} special tokens)"
        )
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(documents, trainer=trainer, length=len(documents))
    if add_bos:
        bos_id = tokenizer.token_to_id(BOS)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
        )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        model_max_length=model_max_length,
        padding_side="right",
        truncation_side="right",
    )
    if output_dir is not None:
        save_tokenizer(fast, output_dir)
    return fast


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, output_dir: str | os.PathLike) -> Path:
    """``save_pretrained`` into a temporary sibling directory, then rename it to ``output_dir``."""
    output_dir = Path(output_dir)
    with new_directory(output_dir) as tmp:
        tokenizer.save_pretrained(tmp)
    return output_dir


def load_tokenizer(path: str | os.PathLike) -> PreTrainedTokenizerFast:
    """Load a tokenizer saved by `train_bpe_tokenizer` (or any ``tokenizer.json`` directory)."""
    path = Path(path)
    if not (path / "tokenizer.json").is_file():
        raise DataError(f"{path}: no tokenizer.json here (train one with train_bpe_tokenizer)")
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(path))
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (path / name).is_file():
            note_file(path / name)  # for the run record: what the run read
    return tokenizer
