"""Fine-tuning a pretrained causal LM: load a local Hugging Face model directory, add tokens
(chat markers, a pad token) with mean-initialised embeddings, and wrap it for LoRA or QLoRA
through peft. Chat and instruction data live in `forgather.ml.data.chat`.

    load_pretrained(path, dtype=..., quantize="4bit")   pretrained.py
    prepare_tokenizer(tokenizer, special_tokens=..., pad_token=..., chat_template=...)
    resize_embeddings(model, tokenizer)                  tokens.py (mean initialisation)
    apply_lora(model, r=..., tokenizer=...)              lora.py (peft; trains new tokens too)

The stdlib recipe `finetune/causal_lm.fg` wires them together (docs/runtime.md, "Fine-tuning").
"""

from .lora import apply_lora, is_peft_model, merged_copy
from .pretrained import PretrainedError, load_pretrained, load_pretrained_tokenizer
from .tokens import prepare_tokenizer, resize_embeddings

__all__ = [
    "PretrainedError",
    "apply_lora",
    "is_peft_model",
    "load_pretrained",
    "load_pretrained_tokenizer",
    "merged_copy",
    "prepare_tokenizer",
    "resize_embeddings",
]
