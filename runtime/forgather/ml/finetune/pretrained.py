"""A pretrained causal LM and its tokenizer from a local Hugging Face model directory (what
`save_pretrained` writes). Nothing is downloaded: the directory must exist.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

QUANTIZATIONS = ("4bit", "8bit")


class PretrainedError(ValueError):
    """A model directory that cannot be loaded as asked; the message says why and what to do."""


def _model_dir(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise PretrainedError(
            f"{path}: no such directory (load_pretrained reads a local model directory written by "
            "save_pretrained; nothing is downloaded)"
        )
    if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
        raise PretrainedError(f"{path}: no config.json here: not a Hugging Face model directory")
    return path


def _dtype(dtype: str | torch.dtype | None) -> Any:
    if dtype is None or dtype == "auto" or isinstance(dtype, torch.dtype):
        return dtype
    value = getattr(torch, str(dtype), None)
    if not isinstance(value, torch.dtype):
        raise PretrainedError(f"dtype {dtype!r} is not a torch dtype (float32, bfloat16, float16 or auto)")
    return value


def quantization_config(quantize: str | None, compute_dtype: Any = None) -> Any:
    """transformers' `BitsAndBytesConfig` for QLoRA: NF4 4-bit weights with double quantisation
    (Dettmers et al. 2023), or 8-bit; None without quantisation."""
    if quantize is None:
        return None
    if quantize not in QUANTIZATIONS:
        raise PretrainedError(f"quantize must be one of {', '.join(QUANTIZATIONS)} or null, got {quantize!r}")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise PretrainedError(
            f"quantize={quantize!r} needs bitsandbytes (pip install bitsandbytes); its 4-bit kernels run "
            "on CUDA GPUs, and on CPUs with bitsandbytes 0.45 or later"
        ) from None
    from transformers import BitsAndBytesConfig

    if quantize == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = compute_dtype if isinstance(compute_dtype, torch.dtype) else torch.float32
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute,
    )


def load_pretrained(
    path: str | os.PathLike,
    *,
    dtype: str | None = "float32",
    quantize: str | None = None,
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
) -> torch.nn.Module:
    """`AutoModelForCausalLM.from_pretrained(path)` of a local directory, for training.

    `dtype`: the weights' dtype (float32 by default, as training in mixed precision wants master
    weights in float32; "auto" keeps the checkpoint's). `quantize`: "4bit" (QLoRA: NF4 weights,
    computed in `dtype`) or "8bit", through bitsandbytes; train such a model with `apply_lora`.
    `trust_remote_code`: needed for a model whose code ships with it (a Forgather model's
    exported directory). The directory's files are recorded in the run record.
    """
    from transformers import AutoModelForCausalLM

    path = _model_dir(path)
    torch_dtype = _dtype(dtype)
    kwargs: dict[str, Any] = {"local_files_only": True, "trust_remote_code": trust_remote_code}
    if torch_dtype is not None:
        kwargs["dtype"] = torch_dtype
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    quantization = quantization_config(quantize, torch_dtype)
    if quantization is not None:
        kwargs["quantization_config"] = quantization
    model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    _note_model_dir(path)
    return model


def load_pretrained_tokenizer(path: str | os.PathLike, *, trust_remote_code: bool = False) -> Any:
    """`AutoTokenizer.from_pretrained(path)` of a local directory (a fast tokenizer: the chat
    data's assistant masks need its character offsets)."""
    from transformers import AutoTokenizer

    path = _model_dir(path)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True, trust_remote_code=trust_remote_code)
    if not getattr(tokenizer, "is_fast", False):
        raise PretrainedError(
            f"{path}: the tokenizer is a slow (Python) tokenizer; fine-tuning needs a fast one "
            "(a tokenizer.json), for the character offsets of the chat masks"
        )
    _note_model_dir(path)
    return tokenizer


def _note_model_dir(path: Path) -> None:
    """The run record names the pretrained directory and its files' sha256."""
    from ..run_inputs import note_model_dir

    note_model_dir(path)
