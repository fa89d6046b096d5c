"""stdlib/data: each data template builds what its header says, compared with the same pipeline
written directly against forgather.ml.data; and a child amends one block (`== super()` and a key)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from forgather.ml.data import DataCollatorForCausalLM, PackedDataset, stdlib_corpus, train_bpe_tokenizer
from stdlib_testlib import build, data_experiment, write

VOCAB, BLOCK = 300, 16
TEXTS = {
    "train/a.txt": "def add(a, b):\n    return a + b\n" * 6,
    "train/sub/b.txt": "class Point:\n    x: int = 0\n    y: int = 0\n" * 5,
    "train/c.txt": "for i in range(10):\n    print(i, i * i)\n" * 6,
    "train/notes.md": "not a .txt file: never read",
    "eval/d.txt": "while True:\n    break\n" * 4,
}
RECORDS = {
    "train.jsonl": [{"text": t, "id": i} for i, t in enumerate(v for k, v in TEXTS.items() if k.startswith("train/"))],
    "eval.jsonl": [{"text": TEXTS["eval/d.txt"], "id": 9}],
}


def stdlib_source(tmp_path):
    corpus = stdlib_corpus(6, eval_fraction=0.1, seed=0)  # the arguments data/causal_lm.fg documents
    return {"corpus_files": 6}, corpus.train, corpus.eval


def text_files_source(tmp_path):
    for name, text in TEXTS.items():
        write(tmp_path / "texts", text, name)
    train = [TEXTS["train/a.txt"], TEXTS["train/c.txt"], TEXTS["train/sub/b.txt"]]  # sorted by path
    variables = {"train_path": str(tmp_path / "texts/train"), "eval_path": str(tmp_path / "texts/eval")}
    return variables, train, [TEXTS["eval/d.txt"]]


def jsonl_source(tmp_path):
    for name, records in RECORDS.items():
        write(tmp_path / "jsonl", "".join(json.dumps(r) + "\n" for r in records), name)
    variables = {"train_path": str(tmp_path / "jsonl/train.jsonl"), "eval_path": str(tmp_path / "jsonl/eval.jsonl")}
    return variables, [r["text"] for r in RECORDS["train.jsonl"]], [r["text"] for r in RECORDS["eval.jsonl"]]


SOURCES = {
    "data/causal_lm.fg": stdlib_source,
    "data/text_files.fg": text_files_source,
    "data/jsonl.fg": jsonl_source,
}


def construct_data(tmp_path, template, blocks=""):
    variables, train, evaluation = SOURCES[template](tmp_path)
    config = build(write(tmp_path, data_experiment(template, blocks)))
    data = config.construct("data", vocab_size=VOCAB, block_size=BLOCK, **variables)
    return data, train, evaluation


@pytest.mark.parametrize("template", list(SOURCES))
def test_data_template_builds_the_documented_pipeline(template, tmp_path):
    data, train, evaluation = construct_data(tmp_path, template)
    assert data["train_documents"] == train and data["eval_documents"] == evaluation
    tokenizer = data["tokenizer"]
    reference = train_bpe_tokenizer(train, VOCAB)  # deterministic: the same vocabulary
    assert tokenizer.get_vocab() == reference.get_vocab() and len(tokenizer) <= VOCAB
    for split, documents in (("train_dataset", train), ("eval_dataset", evaluation)):
        dataset, expected = data[split], PackedDataset(documents, reference, BLOCK)
        assert dataset.block_size == BLOCK and len(dataset) == len(expected)
        assert torch.equal(dataset.tokens, expected.tokens)
    items = [data["train_dataset"][i] for i in range(2)]
    batch, expected = data["data_collator"](items), DataCollatorForCausalLM(reference)(items)
    assert batch.keys() == expected.keys() == {"input_ids", "labels", "position_ids"}
    assert all(torch.equal(batch[k], expected[k]) for k in batch)


# A child amends one block of a data template: `== super()`, then the key to change.
AMENDMENTS = {
    "drop-remainder": (
        "[train_dataset]\n    == super()\n    drop_remainder: true\n",
        lambda d: all(len(d["train_dataset"][i]["input_ids"]) == BLOCK for i in range(len(d["train_dataset"])))
        and len(d["eval_dataset"]) == math.ceil(d["eval_dataset"].tokens.numel() / BLOCK),
    ),
    "eval-fraction": (
        "[corpus]\n    == super()\n    eval_fraction: 0.5\n",
        lambda d: len(d["eval_documents"]) == len(d["train_documents"]) == 3,
    ),
    "collator-option": (
        "[data_collator]\n    == super()\n    mask_document_boundaries: false\n",
        lambda d: d["data_collator"].mask_document_boundaries is False,
    ),
}


@pytest.mark.parametrize("case", list(AMENDMENTS))
def test_child_amends_one_block(case, tmp_path):
    blocks, holds = AMENDMENTS[case]
    data, _, _ = construct_data(tmp_path, "data/causal_lm.fg", blocks)
    assert holds(data)
