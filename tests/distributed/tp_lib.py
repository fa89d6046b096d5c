"""What the tensor-parallel tests and their worker share: the tiny Llama-style package of the
pipeline tests with as many key/value heads as query heads (4: tensor parallel splits both by
heads), as its own package `tpmodel` (another test may have imported `tinymodel`), and the
training run of the fully sharded tests (`fsdp_lib.train`)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from fsdp_lib import losses, train  # noqa: E402,F401
from pipeline_testlib import MODELING, TINY  # noqa: E402

MODELING_TP = MODELING.replace("num_kv_heads=1", "num_kv_heads=num_heads")
CONFIG = {**TINY, "num_heads": 4}
LLAMA_STEPS = 5
assert MODELING_TP != MODELING


def build_model(root: Path, *, seed: int = 0):
    """The tiny model from the `tpmodel` package under `root` (written if missing), seeded."""
    from forgather.ml.models.package import write_model_package

    if not (root / "tpmodel").is_dir():
        write_model_package(root / "tpmodel", MODELING_TP)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    modeling = importlib.import_module("tpmodel.modeling")
    torch.manual_seed(seed)
    return modeling.TinyForCausalLM(modeling.TinyConfig(**CONFIG, tie_word_embeddings=False))


def build_llama(*, seed: int = 0):
    """A tiny Hugging Face Llama (4 query heads, 2 key/value heads): split by its config's own
    ``base_model_tp_plan``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(vocab_size=CONFIG["vocab_size"], hidden_size=16, intermediate_size=24,
                                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2))
