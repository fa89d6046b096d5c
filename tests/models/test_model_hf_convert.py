"""Conversion of checkpoint directories between transformers' Llama, Mistral, Qwen3 and GPT-2 and
the project's blocks (issue 20, part 5): logits within 1e-5 after each conversion, weights back
bit for bit after the round trip, a stdlib-template model converted to a native checkpoint, the
command (`fgc convert`), and what cannot be converted named."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import transformers
from transformers import AutoModelForCausalLM

from forgather.ml.models.export import save_model
from forgather.ml.models.hf_convert import ConversionError, compare_logits, main, to_forgather, to_hugging_face
from helpers import config_model, tiny_llama_config

TOL = 1e-5
SIZES = dict(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=64)
CONFIGS = {
    "llama": lambda: transformers.LlamaConfig(**SIZES, rope_theta=500000.0),
    "llama-tied-bias": lambda: transformers.LlamaConfig(**SIZES, tie_word_embeddings=True, attention_bias=True,
                                                        mlp_bias=True),
    "llama3-scaled": lambda: transformers.LlamaConfig(**SIZES, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32}),
    "mistral": lambda: transformers.MistralConfig(**SIZES, sliding_window=None),
    "qwen3": lambda: transformers.Qwen3Config(**SIZES, head_dim=16, tie_word_embeddings=True),
    "gpt2": lambda: transformers.GPT2Config(vocab_size=97, n_embd=32, n_layer=2, n_head=4, n_positions=64),
}


def hf_checkpoint(name: str, directory):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(CONFIGS[name]()).eval()
    with torch.no_grad():  # the default init is tiny; make every weight matter
        for p in model.parameters():
            p.normal_(0, 0.2)
    model.save_pretrained(directory)
    return model


@pytest.mark.parametrize("name", CONFIGS)
def test_round_trip(name, tmp_path):
    original = hf_checkpoint(name, tmp_path / "hf")
    done = to_forgather(tmp_path / "hf", tmp_path / "ours")
    assert done.max_logit_difference <= TOL
    ours = AutoModelForCausalLM.from_pretrained(tmp_path / "ours", trust_remote_code=True).eval()
    assert type(ours).__name__ == ("GPT2LikeForCausalLM" if name == "gpt2" else "LlamaLikeForCausalLM")
    assert compare_logits(original, ours, 97)[0] <= TOL  # as loaded from the written directory

    family = name.split("-")[0].removesuffix("3-scaled").replace("llama3", "llama")
    back = to_hugging_face(tmp_path / "ours", tmp_path / "back", family=family)
    assert back.max_logit_difference <= TOL
    native = AutoModelForCausalLM.from_pretrained(tmp_path / "back").eval()
    assert type(native) is type(original)
    expected = original.state_dict()
    for key, value in native.state_dict().items():  # renames and transposes only: bit for bit
        assert torch.equal(value, expected[key]), key
    assert compare_logits(original, native, 97)[0] <= TOL


def test_a_stdlib_template_model_becomes_a_native_llama(tmp_path):
    """What a run of scripts/causal_lm.fg saves (models/llama.fg's blocks, code shipped with it)
    converts to LlamaForCausalLM, which needs no custom code."""
    model = config_model(tiny_llama_config(tmp_path), tmp_path / "build")
    save_model(model, tmp_path / "run")
    done = to_hugging_face(tmp_path / "run", tmp_path / "native")
    assert done.family == "llama" and done.max_logit_difference <= TOL
    config = json.loads((tmp_path / "native" / "config.json").read_text())
    assert config["model_type"] == "llama" and "auto_map" not in config
    native = AutoModelForCausalLM.from_pretrained(tmp_path / "native")
    assert compare_logits(model.eval(), native.eval(), model.config.vocab_size)[0] <= TOL
    with pytest.raises(ConversionError, match="the model's blocks are llama's, not gpt2's"):
        to_hugging_face(tmp_path / "run", tmp_path / "out", family="gpt2")
    with pytest.raises(ConversionError, match="Qwen3 normalises queries and keys"):
        to_hugging_face(tmp_path / "run", tmp_path / "out", family="qwen3")


def test_what_does_not_fit_is_named(tmp_path):
    config = transformers.MistralConfig(**SIZES, sliding_window=16)
    AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path / "mistral")
    with pytest.raises(ConversionError, match="sliding-window attention"):
        to_forgather(tmp_path / "mistral", tmp_path / "out")
    transformers.GPTNeoXConfig(vocab_size=97, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                               intermediate_size=64).save_pretrained(tmp_path / "neox")
    with pytest.raises(ConversionError, match="model_type 'gpt_neox'"):
        to_forgather(tmp_path / "neox", tmp_path / "out")
    alibi = config_model(tiny_llama_config(tmp_path, blocks=(
        "[positional_encoder]\n        positional_encoder_factory: !partial:forgather.ml.models.alibi:ALiBi\n"
        "            num_heads: !var \"num_attention_heads\"\n-- block rotary_hyperparameters\n-- endblock\n")),
        tmp_path / "build-alibi")
    save_model(alibi, tmp_path / "alibi")
    with pytest.raises(ConversionError, match="the positional encoder is ALiBi"):
        to_hugging_face(tmp_path / "alibi", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_the_command(tmp_path):
    hf_checkpoint("qwen3", tmp_path / "hf")
    done = subprocess.run([sys.executable, "-m", "fgc", "convert", tmp_path / "hf", tmp_path / "ours"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(qwen3," in done.stdout and "-> " in done.stdout and "logits: max |difference|" in done.stdout
    assert main([str(tmp_path / "ours"), str(tmp_path / "back")]) == 0  # the family read from the blocks
    assert json.loads((tmp_path / "back" / "config.json").read_text())["model_type"] == "qwen3"
    assert main([str(tmp_path / "ours"), str(tmp_path / "again"), "--to", "forgather"]) == 1
    assert main([str(tmp_path / "ours"), str(tmp_path / "again"), "--to", "gpt2"]) == 1
