"""Packed documents attend only within themselves (issue 20, part 4): a document's logits do not
change when another document is packed before it, in our models (every positional encoding,
through the position ids that restart per document) and in Hugging Face's (through the same
position ids), and through the data pipeline's own packing and collator.
"""

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from architectures import CAUSAL_LM, CAUSAL_LM_HPARAMS, DEEPNET, DEEPNET_HPARAMS
from forgather.ml.data import DataCollatorForCausalLM, PackedDataset
from forgather.ml.models.masks import build_attention_mask, document_ids
from helpers import TINY_GPT2, TINY_LLAMA, build, gpt2, llama

TOL = 1e-5
SMALL = dict(
    vocab_size=101, hidden_size=48, num_attention_heads=4, num_hidden_layers=2, intermediate_size=64,
    embedding_dropout=0.0, residual_dropout=0.0,
)
MODELS = {
    "llama-rope": lambda: llama(),
    "gpt2-learned": lambda: gpt2(),
    "sinusoidal-post-ln": lambda: build(CAUSAL_LM, {**CAUSAL_LM_HPARAMS, **SMALL}),
    "deepnet-alibi": lambda: build(DEEPNET, {**DEEPNET_HPARAMS, **SMALL}),
    "llama-eager": lambda: llama(attention_backend="eager"),
}


def documents(vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return torch.randint(0, vocab, (7,), generator=g), torch.randint(0, vocab, (9,), generator=g)


def packed(first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.cat([first, second])[None]
    positions = torch.cat([torch.arange(len(first)), torch.arange(len(second))])[None]
    return ids, positions


@pytest.mark.parametrize("name", MODELS)
def test_a_document_packed_after_another_has_its_own_logits(name):
    model = MODELS[name]().eval()
    a, b = documents(model.config.vocab_size)
    with torch.no_grad():
        alone = model(b[None]).logits[0]
        ids, positions = packed(a, b)
        together = model(ids, position_ids=positions).logits[0, len(a):]
        unmasked = model(ids).logits[0, len(a):]  # without position ids: one long document
    assert (together - alone).abs().max().item() <= TOL
    assert (unmasked - alone).abs().max().item() > 1e-3  # the check can fail


def test_a_batch_from_the_collator_keeps_documents_apart():
    """PackedDataset + DataCollatorForCausalLM: the position ids they make are what the model reads."""
    model = llama().eval()
    a, b = documents(model.config.vocab_size)
    block = PackedDataset.from_sequences([a.tolist(), b.tolist()], block_size=64)
    batch = DataCollatorForCausalLM(pad_token_id=0)([block[0]])
    with torch.no_grad():
        together = model(batch["input_ids"], position_ids=batch["position_ids"]).logits[0, len(a):]
        alone = model(b[None]).logits[0]
    assert (together - alone).abs().max().item() <= TOL


def hf_llama() -> LlamaForCausalLM:
    h = TINY_LLAMA
    torch.manual_seed(0)
    return LlamaForCausalLM(
        LlamaConfig(
            vocab_size=h["vocab_size"], hidden_size=h["hidden_size"], intermediate_size=h["intermediate_size"],
            num_hidden_layers=h["num_hidden_layers"], num_attention_heads=h["num_attention_heads"],
            num_key_value_heads=h["num_key_value_heads"], attn_implementation="sdpa",
        )
    ).eval()


def hf_gpt2() -> GPT2LMHeadModel:
    h = TINY_GPT2
    torch.manual_seed(0)
    return GPT2LMHeadModel(
        GPT2Config(
            vocab_size=h["vocab_size"], n_embd=h["hidden_size"], n_layer=h["num_hidden_layers"],
            n_head=h["num_attention_heads"], n_positions=h["max_position_embeddings"],
            attn_implementation="sdpa",
        )
    ).eval()


@pytest.mark.parametrize("make", [hf_llama, hf_gpt2], ids=["llama", "gpt2"])
def test_hugging_face_models_keep_documents_apart_through_position_ids(make):
    model = make()
    a, b = documents(model.config.vocab_size)
    ids, positions = packed(a, b)
    with torch.no_grad():  # transformers reads the position ids only without a cache (as in training)
        together = model(ids, position_ids=positions, use_cache=False).logits[0, len(a):]
        alone = model(b[None], use_cache=False).logits[0]
    assert (together - alone).abs().max().item() <= TOL


def test_document_mask_against_the_definition():
    positions = torch.tensor([[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 5]])
    mask = build_attention_mask(6, 6, position_ids=positions, device=torch.device("cpu"), dtype=torch.float32)
    doc = [[0, 0, 0, 1, 1, 2], [0] * 6]
    for b in range(2):
        for i in range(6):
            for j in range(6):
                assert bool(mask[b, 0, i, j]) == (j <= i and doc[b][i] == doc[b][j])


def test_one_document_per_row_keeps_the_fast_path():
    positions = torch.arange(5)[None].expand(3, 5)
    assert document_ids(positions) is None
    assert build_attention_mask(5, 5, position_ids=positions, device=torch.device("cpu"), dtype=torch.float32) is None


def test_documents_combine_with_padding_and_a_bias():
    positions = torch.tensor([[0, 1, 0, 1]])
    padding = torch.tensor([[1, 1, 1, 0]])
    bias = torch.zeros(2, 4, 4)
    mask = build_attention_mask(4, 4, padding_mask=padding, position_ids=positions, bias=bias,
                                device=torch.device("cpu"), dtype=torch.float32)
    allowed = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]], dtype=torch.bool)
    allowed[3, 3] = True  # a padded query still sees itself
    allowed[:, 3] &= torch.tensor([False, False, False, True])
    assert torch.equal(mask[0, 0] == 0, allowed) and torch.equal(mask[0, 1] == 0, allowed)
