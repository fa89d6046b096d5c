"""Saving a trained model (and its tokenizer) into a directory that may already hold other files."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import safetensors.torch
import torch
from forgather_files.atomic import replace

logger = logging.getLogger(__name__)


def is_forgather_model(model: Any) -> bool:
    """A model built on ``ForgatherCausalLM`` (ours, or a copy of it in a build's ``model/``)."""
    return any(cls.__name__ == "ForgatherCausalLM" for cls in type(model).__mro__)


def is_peft_model(model: Any) -> bool:
    """A model wrapped by peft (LoRA); told without importing peft."""
    return hasattr(model, "peft_config") and type(model).__module__.startswith("peft")


def forgather_exporter() -> Callable | None:
    """``forgather.ml.models.export.save_model`` when the model library provides it."""
    try:
        from forgather.ml.models.export import save_model
    except ImportError:
        return None
    return save_model


def save_model_files(
    model: torch.nn.Module,
    output_dir: str | os.PathLike,
    *,
    tokenizer: Any = None,
    safe_serialization: bool = True,
    state_dict: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``model`` and ``tokenizer`` into ``output_dir``, each file arriving by rename.

    Our own models are exported stand-alone (config.json with auto_map, code, weights); models
    with ``save_pretrained`` use it; any other module gets ``model.safetensors``. A peft model
    (LoRA) is saved merged, a plain model that loads and serves without peft, and its adapters
    in ``adapter/``. Files already in ``output_dir`` (checkpoints, logs) are left alone unless a
    saved file replaces them; weights of the other layout (one file vs. an indexed set of shards)
    are removed, so a loader never finds two. ``state_dict``: the weights to write instead of the
    model's own (gathered from shards); an empty dict writes everything but the weights (a
    pipeline's stages add theirs).
    """
    output_dir = Path(output_dir)
    adapter = None
    if is_peft_model(model):
        if state_dict is not None:
            raise ValueError(
                "a peft (LoRA) model is saved merged from its own weights; one whose weights are sharded "
                "(FSDP2) or split into pipeline stages cannot be: train LoRA on one device or with data "
                "parallelism"
            )
        from forgather.ml.finetune.lora import merged_copy

        adapter, model = model, merged_copy(model)
    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-model-", dir=output_dir))
    try:
        exporter = forgather_exporter() if is_forgather_model(model) else None
        source = tmp / "export"
        if exporter is not None:
            try:
                exporter(model, source, tokenizer, state_dict=state_dict)
            except Exception as e:
                if type(e).__name__ != "ExportError":
                    raise
                # e.g. a model built in process (no model package to copy): weights + config only.
                logger.warning("cannot export %s stand-alone (%s); saving it with save_pretrained",
                               type(model).__name__, e)
                shutil.rmtree(source, ignore_errors=True)
                exporter = None
        if exporter is None:
            source = tmp
            if hasattr(model, "save_pretrained"):
                model.save_pretrained(tmp, state_dict=state_dict)
            elif state_dict == {}:
                pass
            elif safe_serialization:
                if state_dict is None:
                    safetensors.torch.save_model(model, str(tmp / "model.safetensors"))
                else:
                    safetensors.torch.save_file(_untied(state_dict), str(tmp / "model.safetensors"))
            else:
                torch.save(model.state_dict() if state_dict is None else state_dict, tmp / "pytorch_model.bin")
            if tokenizer is not None and hasattr(tokenizer, "save_pretrained"):
                tokenizer.save_pretrained(tmp)
        if adapter is not None:
            adapter.save_pretrained(source / "adapter")
        if any(p.name in WEIGHT_FILES or SHARD_RE.match(p.name) for p in source.iterdir()):
            remove_weights(output_dir)
        for entry in sorted(source.iterdir()):
            replace(entry, output_dir / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return output_dir


# The weight files a model directory may hold: one file, or a set of shards and its index.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")
SHARD_RE = re.compile(r"^(model|pytorch_model)-\d+-of-\d+\.(safetensors|bin)$")


def remove_weights(directory: Path) -> None:
    """Delete the weight files of an earlier save in ``directory`` (before new ones arrive)."""
    for path in directory.iterdir():
        if path.is_file() and (path.name in WEIGHT_FILES or SHARD_RE.match(path.name)):
            path.unlink()


def _untied(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each tensor once (safetensors refuses shared storage), by its first name."""
    seen, kept = set(), {}
    for key, value in state.items():
        if value.data_ptr() not in seen or value.numel() == 0:
            seen.add(value.data_ptr())
            kept[key] = value.contiguous()
    return kept

