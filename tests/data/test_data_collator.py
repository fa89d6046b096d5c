"""The causal-LM collator: padding, -100 labels, position ids restarting per document."""

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from forgather.ml.data import DataCollatorForCausalLM

P = -100
CASES = [  # (features, options) -> (input_ids, labels, position_ids)
    (
        [{"input_ids": [5, 6, 7]}, {"input_ids": [8]}],
        {"pad_token_id": 0},
        ([[5, 6, 7], [8, 0, 0]], [[5, 6, 7], [8, P, P]], [[0, 1, 2], [0, 1, 2]]),
    ),
    (  # two documents packed in one row: positions restart, the boundary label is masked
        [{"input_ids": [1, 5, 2, 1, 6, 2], "document_starts": [0, 3]}],
        {"pad_token_id": 0},
        ([[1, 5, 2, 1, 6, 2]], [[1, 5, 2, P, 6, 2]], [[0, 1, 2, 0, 1, 2]]),
    ),
    (  # ... unless asked not to mask it
        [{"input_ids": [1, 5, 1, 6], "document_starts": [0, 2]}],
        {"pad_token_id": 0, "mask_document_boundaries": False},
        ([[1, 5, 1, 6]], [[1, 5, 1, 6]], [[0, 1, 0, 1]]),
    ),
    (  # padding continues the last document's positions; explicit labels are kept
        [{"input_ids": [3, 4], "labels": [P, 4]}, {"input_ids": [1, 2, 1, 2], "document_starts": [0, 2]}],
        {"pad_token_id": 9},
        ([[3, 4, 9, 9], [1, 2, 1, 2]], [[P, 4, P, P], [1, 2, P, 2]], [[0, 1, 2, 3], [0, 1, 0, 1]]),
    ),
    (  # truncation drops the starts beyond it; padding to a multiple
        [{"input_ids": [1, 2, 3, 4, 5, 6], "document_starts": [0, 2, 5]}],
        {"pad_token_id": 0, "max_length": 4, "pad_to_multiple_of": 3},
        ([[1, 2, 3, 4, 0, 0]], [[1, 2, P, 4, P, P]], [[0, 1, 0, 1, 2, 3]]),
    ),
]


@pytest.mark.parametrize("features,options,expected", CASES)
def test_cases(features, options, expected):
    batch = DataCollatorForCausalLM(**options)(features)
    assert set(batch) == {"input_ids", "labels", "position_ids"}
    got = (batch["input_ids"].tolist(), batch["labels"].tolist(), batch["position_ids"].tolist())
    assert got == expected
    assert all(t.dtype == torch.long for t in batch.values())


def test_pad_id_from_the_tokenizer(bpe):
    collator = DataCollatorForCausalLM(bpe)
    assert collator.pad_token_id == bpe.pad_token_id
    batch = collator([{"input_ids": torch.tensor([7, 8, 9])}, {"input_ids": [7]}])
    assert batch["input_ids"][1, 1:].tolist() == [bpe.pad_token_id] * 2
    assert "position_ids" not in DataCollatorForCausalLM(bpe, return_position_ids=False)([{"input_ids": [1]}])


def test_errors():
    collator = DataCollatorForCausalLM()
    with pytest.raises(KeyError, match="feature 1 has no 'input_ids' \\(keys: text\\)"):
        collator([{"input_ids": [1]}, {"text": "x"}])
    with pytest.raises(ValueError, match="feature 0 has 2 labels for 3 input ids"):
        collator([{"input_ids": [1, 2, 3], "labels": [1, 2]}])
    with pytest.raises(ValueError, match="empty batch"):
        collator([])


def test_packed_documents_do_not_see_each_other():
    """Through a Llama, a packed row gives each document the logits it has on its own.

    (Without a KV cache, as both trainers run HF models, Llama derives a block-diagonal mask
    from the restarting position ids.)"""
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2)).eval()
    doc_a, doc_b = [1, 11, 12, 13, 2], [1, 21, 22, 2]
    batch = DataCollatorForCausalLM(pad_token_id=0)([{"input_ids": doc_a + doc_b, "document_starts": [0, 5]}])
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone_a = model(input_ids=torch.tensor([doc_a])).logits[0]
        alone_b = model(input_ids=torch.tensor([doc_b])).logits[0]
    torch.testing.assert_close(packed[:5], alone_a, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(packed[5:], alone_b, rtol=1e-4, atol=1e-5)
