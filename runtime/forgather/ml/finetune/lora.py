"""LoRA (Hu et al. 2021) and QLoRA (Dettmers et al. 2023) through peft."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from .tokens import ADDED_IDS


def apply_lora(
    model: Any,
    *,
    r: int = 8,
    lora_alpha: float = 16,
    lora_dropout: float = 0.0,
    target_modules: str | Sequence[str] = "all-linear",
    tokenizer: Any = None,
    modules_to_save: Sequence[str] | None = None,
    gradient_checkpointing: bool = False,
) -> Any:
    """`peft.get_peft_model(model, LoraConfig(...))` for a causal LM: low-rank adapters on
    `target_modules` ("all-linear": every linear layer but the output head), the rest frozen.

    With the `tokenizer` that `prepare_tokenizer` extended, the rows of the new tokens stay
    trainable (peft's `trainable_token_indices`, in the input embedding and an untied output
    head): chat markers the base model never saw must be learnt. A model loaded with `quantize` (4-bit or 8-bit: QLoRA) is first prepared with
    `peft.prepare_model_for_kbit_training` (norms in float32, input gradients on).
    """
    try:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    except ImportError:
        raise ImportError("apply_lora needs peft: pip install peft (or forgather[finetune])") from None
    if getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False):
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    new_ids = list(getattr(tokenizer, ADDED_IDS, ())) if tokenizer is not None else []
    config = LoraConfig(
        task_type="CAUSAL_LM",
        r=r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=target_modules if isinstance(target_modules, str) else list(target_modules),
        modules_to_save=list(modules_to_save) if modules_to_save else None,
        trainable_token_indices=_token_targets(model, new_ids) if new_ids else None,
    )
    return get_peft_model(model, config)


def _token_targets(model: Any, ids: list[int]) -> dict[str, list[int]]:
    """{module name: ids} for the input embedding and, when untied, the output head: a new token
    must be read (its input row) and predicted (its output row, e.g. an end-of-turn marker)."""
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    names = {id(m): name.rsplit(".", 1)[-1] for name, m in model.named_modules()}
    targets = {names[id(inputs)]: ids}
    if outputs is not None and outputs.weight is not inputs.weight and id(outputs) in names:
        targets[names[id(outputs)]] = ids
    return targets


def is_peft_model(model: Any) -> bool:
    """A model wrapped by peft (without importing peft for the others)."""
    return hasattr(model, "peft_config") and hasattr(model, "get_base_model") and type(model).__module__.startswith("peft")


def merged_copy(model: Any) -> Any:
    """The adapters of a peft model merged into a copy of its base: a plain model that loads and
    serves without peft. The trained model is left as it is. A quantized base (QLoRA) is not
    merged into (its 4-bit weights would round the update away): the base is read again from its
    directory in float32, resized like the trained one, and the adapters merged into that."""
    from peft import PeftModel, get_peft_model_state_dict, set_peft_model_state_dict

    base = model.get_base_model()
    if getattr(base, "is_loaded_in_4bit", False) or getattr(base, "is_loaded_in_8bit", False):
        import torch
        from transformers import AutoModelForCausalLM

        name = model.active_adapter if isinstance(model.active_adapter, str) else "default"
        config = model.peft_config[name]
        full = AutoModelForCausalLM.from_pretrained(
            config.base_model_name_or_path, dtype=torch.float32, local_files_only=True,
            trust_remote_code=bool(getattr(base.config, "auto_map", None)),
        )
        rows = base.get_input_embeddings().weight.shape[0]
        if full.get_input_embeddings().weight.shape[0] != rows:
            full.resize_token_embeddings(rows, mean_resizing=False)
        full.generation_config = copy.deepcopy(base.generation_config)
        clone = PeftModel(full, copy.deepcopy(config), adapter_name=name)
        set_peft_model_state_dict(clone, get_peft_model_state_dict(model, adapter_name=name), adapter_name=name)
    else:
        clone = copy.deepcopy(model)
    return clone.merge_and_unload()
