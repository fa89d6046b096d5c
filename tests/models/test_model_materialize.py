"""forgather.ml.models.materialize: a model built on the meta device holds no weights; loading a
pretrained one streams each tensor from its safetensors file into its final place (ours and
Hugging Face's models, ties kept, dtype converted); without weights the model's own scheme
initialises what was materialised; only the asked-for parameters leave meta; bad weights are
explained."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from forgather.ml.models import materialize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from pipeline_testlib import TINY, build_model  # noqa: E402


def tiny_classes(root: Path):
    build_model(root)  # writes the package under root and imports it
    modeling = importlib.import_module("tinymodel.modeling")
    return modeling.TinyConfig, modeling.TinyForCausalLM


def saved(root: Path, model) -> Path:
    path = root / "pretrained"
    model.save_pretrained(path)
    return path


def test_load_pretrained_reads_every_weight_into_place(tmp_path):
    _, cls = tiny_classes(tmp_path)
    reference = build_model(tmp_path, tie=True, seed=5)
    model = materialize.load_pretrained(cls, saved(tmp_path, reference))
    assert not materialize.has_meta_parameters(model)
    assert model.model.output_head.weight is model.model.input_encoder.embedding.weight  # tied: one tensor
    want = reference.state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value, want[key]), key
    ids = torch.tensor([[3, 1, 4, 1, 5]])
    assert torch.equal(model(ids).logits, reference.eval()(ids).logits)


def test_hugging_face_model_streams_weights_and_keeps_its_buffers(tmp_path):
    torch.manual_seed(0)
    reference = LlamaForCausalLM(LlamaConfig(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                             num_attention_heads=2, num_key_value_heads=1)).eval()
    model = materialize.load_pretrained(LlamaForCausalLM, saved(tmp_path, reference))
    buffers = dict(reference.named_buffers())
    for name, buffer in model.named_buffers():  # rotary tables: computed in the constructor, never on meta
        assert torch.equal(buffer, buffers[name]), name
    ids = torch.tensor([[1, 2, 3, 4]])
    torch.testing.assert_close(model(ids).logits, reference(ids).logits, rtol=0, atol=0)


def test_dtype_is_converted_on_the_way_in(tmp_path):
    _, cls = tiny_classes(tmp_path)
    reference = build_model(tmp_path)
    model = materialize.load_pretrained(cls, saved(tmp_path, reference), dtype=torch.bfloat16)
    for key, value in model.state_dict().items():
        assert value.dtype == torch.bfloat16 and torch.equal(value, reference.state_dict()[key].bfloat16()), key


def test_built_on_meta_holds_nothing_and_initialises_with_its_scheme(tmp_path):
    config_cls, cls = tiny_classes(tmp_path)
    config = config_cls(**TINY, tie_word_embeddings=True)
    model = materialize.on_meta(cls, config)
    assert all(p.is_meta for p in model.parameters())
    torch.manual_seed(1)
    materialize.materialize(model, "cpu")
    assert not materialize.has_meta_parameters(model)
    assert model.model.output_head.weight is model.model.input_encoder.embedding.weight
    layer = model.model.layer_stack.layers[0]
    assert torch.equal(layer.attn_norm.weight, torch.ones(TINY["hidden_size"]))  # norms: reset to one
    # the model's scheme (init_llama): the tied embedding N(0, 0.02), projections truncated at 3 sigma
    assert model.model.input_encoder.embedding.weight.std().item() == pytest.approx(0.02, rel=0.2)
    q = layer.attention.q_proj.weight
    assert 0 < q.abs().max().item() <= 3 * 0.02 + 1e-6
    # the same seed, the same weights: what a pipeline rank or a shard draws is reproducible
    again = materialize.on_meta(cls, config)
    torch.manual_seed(1)
    materialize.materialize(again, "cpu")
    for (name, a), b in zip(model.named_parameters(), again.parameters()):
        assert torch.equal(a, b), name


def test_only_the_given_parameters_leave_meta(tmp_path):
    config_cls, cls = tiny_classes(tmp_path)
    reference = build_model(tmp_path)
    model = materialize.on_meta(cls, config_cls(**TINY, tie_word_embeddings=False), weights=saved(tmp_path, reference))
    layer = model.model.layer_stack.layers[1]
    materialize.materialize(model, "cpu", parameters={id(p) for p in layer.parameters()})
    real = {n for n, p in model.named_parameters() if not p.is_meta}
    assert real == {f"model.layer_stack.layers.1.{n}" for n, _ in layer.named_parameters()}
    for name in real:
        assert torch.equal(model.state_dict()[name], reference.state_dict()[name]), name


def test_bad_weights_are_explained(tmp_path):
    config_cls, cls = tiny_classes(tmp_path)
    other = build_model(tmp_path, num_layers=2)  # 2 layers saved; 4 expected
    path = saved(tmp_path, other)
    with pytest.raises(KeyError, match=r"the weights have no model\.layer_stack\.layers\.2\."):
        materialize.load_pretrained(cls, path, config_cls(**TINY, tie_word_embeddings=False))
    wide = config_cls(**{**TINY, "intermediate_size": 32, "num_layers": 2}, tie_word_embeddings=False)
    with pytest.raises(ValueError, match=r"gate_proj\.weight has shape \(24, 16\), the model expects \(32, 16\)"):
        materialize.load_pretrained(cls, path, wide)
    with pytest.raises(FileNotFoundError, match="no such directory"):
        materialize.on_meta(cls, wide, weights=tmp_path / "nowhere")
