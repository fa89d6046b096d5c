"""Small builders shared by the model tests: in-process models from the Python mirror of the
templates, and models compiled from configs by fgc (what `fgc compile` + `fgc run` do).
"""

import json
from pathlib import Path

import torch

import fgc
from architectures import GPT2, GPT2_HPARAMS, LLAMA, LLAMA_HPARAMS
from forgather.ml.models.dynamic import dynamic_causal_lm
from modelspec import definition_callable, from_graph

CONFIGS = Path(__file__).resolve().parent / "configs"
STDLIB = Path(__file__).resolve().parents[2] / "stdlib"

TINY_LLAMA = dict(
    LLAMA_HPARAMS,
    vocab_size=101,
    hidden_size=48,
    num_attention_heads=6,
    num_key_value_heads=2,
    num_hidden_layers=3,
    intermediate_size=80,
)
TINY_GPT2 = dict(
    GPT2_HPARAMS,
    vocab_size=101,
    hidden_size=48,
    num_attention_heads=4,
    num_hidden_layers=3,
    intermediate_size=96,
    max_position_embeddings=64,
    embedding_dropout=0.0,
    attention_dropout=0.0,
    residual_dropout=0.0,
)


def build(definition, hparams, seed: int = 0):
    torch.manual_seed(seed)
    return dynamic_causal_lm(definition_callable(definition), **hparams)


def llama(seed: int = 0, **overrides):
    return build(LLAMA, {**TINY_LLAMA, **overrides}, seed)


def gpt2(seed: int = 0, **overrides):
    return build(GPT2, {**TINY_GPT2, **overrides}, seed)


def compile_config(config, out_dir, variables=None) -> Path:
    """`fgc compile config -o out_dir -I tests/models/configs`; returns the build directory."""
    fgc.compile(
        str(config),
        str(out_dir),
        include_dirs=[str(CONFIGS)],
        variables=variables or {},
    )
    return Path(out_dir)


def config_spec(build_dir: Path):
    """(definition, hparams) of the build's `model` target, from its graph.json."""
    return from_graph(json.loads((build_dir / "graph.json").read_text()))


def config_model(config, out_dir, variables=None, seed: int = 0):
    """Compile a config and construct its `model` target, as `fgc run --target model` would."""
    build_dir = compile_config(config, out_dir, variables)
    torch.manual_seed(seed)
    return fgc.load(build_dir).construct("model")


def tiny_llama_config(directory: Path, blocks: str = "", **hparams) -> Path:
    """A child of models/llama.fg with TINY_LLAMA sizes (plus `hparams`) and extra `blocks`."""
    sizes = "".join(
        f"    {k}: {json.dumps(v)}\n" for k, v in {**TINY_LLAMA, **hparams}.items()
    )
    path = directory / "tiny_llama.fg"
    path.write_text(
        f"-- extends 'models/llama.fg'\n{blocks}[hyperparameters]\n    == super()\n{sizes}"
    )
    return path
