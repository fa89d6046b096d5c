"""LoRA (Hu et al. 2021) and QLoRA (Dettmers et al. 2023) through peft."""

from __future__ import annotations

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
