"""Pretrained models for fine-tuning (issue 20, part 4): loading a local directory, new tokens with
mean-initialised embeddings, LoRA through peft (new tokens trainable) and QLoRA's 4-bit weights
(bitsandbytes, which runs on this CPU)."""

from __future__ import annotations

import pytest
import torch

from finetune_testlib import make_pretrained, tiny_forgather_model
from forgather.ml.finetune import (
    PretrainedError,
    apply_lora,
    load_pretrained,
    load_pretrained_tokenizer,
    prepare_tokenizer,
    resize_embeddings,
)
from forgather.ml.finetune.tokens import ADDED_IDS
from forgather.ml.run_inputs import forget, read_model_dirs


def tokenizer_with_markers(path):
    return prepare_tokenizer(load_pretrained_tokenizer(path), chat_template="chatml", pad_token="<|pad|>")


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_new_rows_are_the_mean_of_the_old_ones(arch, llama_dir, gpt2_dir):
    path = llama_dir if arch == "llama" else gpt2_dir
    before = load_pretrained(path)
    old_in = before.get_input_embeddings().weight.detach().double().clone()
    old_out = before.get_output_embeddings().weight.detach().double().clone()
    tokenizer = tokenizer_with_markers(path)
    added = getattr(tokenizer, ADDED_IDS)
    assert len(added) == 3 and tokenizer.convert_tokens_to_ids("<|im_end|>") in added
    model = resize_embeddings(load_pretrained(path), tokenizer)
    n = old_in.shape[0]
    emb = model.get_input_embeddings().weight.detach().double()
    out = model.get_output_embeddings().weight.detach().double()
    assert emb.shape[0] == len(tokenizer) == n + 3
    assert torch.equal(emb[:n], old_in) and torch.equal(out[:n], old_out)
    for row in added:  # float64 reference: the mean over the old rows
        assert torch.allclose(emb[row], old_in.mean(0), atol=1e-6)
        assert torch.allclose(out[row], old_out.mean(0), atol=1e-6)
    if arch == "gpt2":  # tied: one matrix
        assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    ids = torch.randint(0, n, (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # the old tokens' logits do not move
        assert torch.allclose(model(ids).logits[..., :n], before(ids).logits, atol=1e-5)


def test_spare_rows_are_initialised_without_resizing(tmp_path):
    """A model with more embedding rows than tokens (common: padded vocabularies) keeps its shape;
    the rows the new tokens take are set to the mean of the others."""
    path = make_pretrained(tmp_path / "spare", "llama")
    model = load_pretrained(path)
    model.resize_token_embeddings(len(load_pretrained_tokenizer(path)) + 8, mean_resizing=False)
    model.save_pretrained(path)
    model = load_pretrained(path)
    rows = model.get_input_embeddings().weight.shape[0]
    tokenizer = tokenizer_with_markers(path)
    resize_embeddings(model, tokenizer)
    weight = model.get_input_embeddings().weight.detach()
    assert weight.shape[0] == rows
    old = [i for i in range(rows) if i not in getattr(tokenizer, ADDED_IDS)]
    for row in getattr(tokenizer, ADDED_IDS):
        assert torch.allclose(weight[row].double(), weight[old].double().mean(0), atol=1e-6)


def test_our_own_models_grow_their_embeddings_too():
    model = tiny_forgather_model()
    n = model.get_input_embeddings().weight.shape[0]

    class Tokenizer:  # what resize_embeddings reads: a length and the added ids
        def __len__(self):
            return n + 2

    tok = Tokenizer()
    setattr(tok, ADDED_IDS, (n, n + 1))
    old = model.get_input_embeddings().weight.detach().clone()
    resize_embeddings(model, tok)
    weight = model.get_input_embeddings().weight.detach()
    assert weight.shape[0] == n + 2 and model.config.vocab_size == n + 2
    assert torch.allclose(weight[n], old.mean(0), atol=1e-6)
    assert model(torch.tensor([[n + 1, 3]])).logits.shape[-1] == n + 2


def test_lora_trains_adapters_and_the_new_tokens_only(llama_dir):
    torch.manual_seed(0)
    tokenizer = tokenizer_with_markers(llama_dir)
    model = apply_lora(resize_embeddings(load_pretrained(llama_dir), tokenizer), r=4, tokenizer=tokenizer)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or "trainable_tokens" in n for n in trainable), trainable
    assert sum("trainable_tokens" in n for n in trainable) == 2  # input rows and (untied) output rows
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    ids = torch.tensor([[tokenizer.bos_token_id, 40, 41, im_end, 42, 43, im_end]])
    emb_before = model.get_input_embeddings()(torch.tensor([im_end])).detach().clone()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(5):
        loss = model(ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert not torch.equal(model.get_input_embeddings()(torch.tensor([im_end])).detach(), emb_before)


def test_lora_on_our_own_models():
    model = tiny_forgather_model()
    n = model.get_input_embeddings().weight.shape[0]

    class Tokenizer:
        def __len__(self):
            return n + 1

    tok = Tokenizer()
    setattr(tok, ADDED_IDS, (n,))
    model = apply_lora(resize_embeddings(model, tok), r=2, tokenizer=tok)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert any("q_proj.lora_A" in name for name in trainable) and sum("trainable_tokens" in t for t in trainable) == 2
    assert not any("output_head.lora" in name for name in trainable)  # "all-linear" leaves the head alone
    ids = torch.tensor([[1, n, 2, 3]])
    model(ids, labels=ids).loss.backward()


def test_qlora_loads_4bit_weights_and_trains(llama_dir):
    pytest.importorskip("bitsandbytes")
    import bitsandbytes as bnb

    model = load_pretrained(llama_dir, quantize="4bit")
    assert isinstance(model.model.layers[0].self_attn.q_proj, bnb.nn.Linear4bit)
    model = apply_lora(model, r=4)
    ids = torch.randint(0, 200, (2, 12), generator=torch.Generator().manual_seed(1))
    loss = model(ids, labels=ids).loss
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for n, p in model.named_parameters() if "lora_B" in n]
    assert grads and all(g is not None for g in grads)


@pytest.mark.parametrize("call, message", [
    (lambda d: load_pretrained(d / "nowhere"), "no such directory"),
    (lambda d: load_pretrained(d), "no config.json"),
    (lambda d: load_pretrained_tokenizer(d), "no config.json"),
    (lambda d: load_pretrained(d, dtype="float33"), "no config.json"),
])
def test_bad_model_directories_are_named(call, message, tmp_path):
    with pytest.raises(PretrainedError, match=message):
        call(tmp_path)


@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": "float33"}, "not a torch dtype"),
    ({"quantize": "3bit"}, "quantize must be one of 4bit, 8bit"),
])
def test_bad_options_are_named(kwargs, message, llama_dir):
    with pytest.raises(PretrainedError, match=message):
        load_pretrained(llama_dir, **kwargs)


def test_the_model_directory_is_recorded(llama_dir):
    import hashlib

    forget()
    load_pretrained(llama_dir)
    (entry,) = read_model_dirs().values()
    weights = entry["files"]["model.safetensors"]
    assert weights["sha256"] == hashlib.sha256((llama_dir / "model.safetensors").read_bytes()).hexdigest()
    assert {"config.json", "tokenizer.json"} <= set(entry["files"])


def _lora_update(model, layer: int = 0) -> torch.Tensor:
    """scale * B @ A of layer `layer`'s q_proj, in float64."""
    proj = model.base_model.model.model.layers[layer].self_attn.q_proj
    a, b = proj.lora_A["default"].weight.double(), proj.lora_B["default"].weight.double()
    return proj.scaling["default"] * (b @ a)


@pytest.mark.parametrize("quantize", [None, "4bit"])
def test_merged_copy_adds_the_adapters_to_the_full_precision_base(llama_dir, quantize):
    if quantize:
        pytest.importorskip("bitsandbytes")
    from forgather.ml.finetune import merged_copy

    model = apply_lora(load_pretrained(llama_dir, quantize=quantize), r=4)
    with torch.no_grad():  # trained adapters: B is zero at initialisation
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1, generator=torch.Generator().manual_seed(len(name)))
    merged = merged_copy(model)
    assert not getattr(merged, "is_loaded_in_4bit", False) and merged.dtype == torch.float32
    base = load_pretrained(llama_dir).model.layers[0].self_attn.q_proj.weight.double()
    expected = base + _lora_update(model)  # from the directory's float32 weights, not the 4-bit ones
    assert torch.allclose(merged.model.layers[0].self_attn.q_proj.weight.double(), expected, atol=1e-6)
    assert any("lora_A" in n for n, _ in model.named_parameters())  # the trained model keeps its adapters
