"""Chat and instruction data for fine-tuning: conversations rendered with the tokenizer's own
chat template (`apply_chat_template`), tokenized, with labels on the assistant's tokens only.

An example is a conversation, `{"messages": [{"role": "user", "content": ...}, {"role":
"assistant", ...}]}`, or an instruction in one of the usual shapes, turned into one
(`to_messages`): `{"prompt", "completion"}` (each a string or a list of messages) or Alpaca's
`{"instruction", "input", "output"}`.

Where the assistant's text lies is found from the template itself: the conversation up to an
assistant message, rendered with the generation prompt, is a prefix of the conversation
including it; the characters between the two are the assistant's (its end-of-turn marker
included, so the model learns to stop; trailing whitespace not). Token offsets then mark the
tokens. A template that does not render conversations as prefixes of their continuations
(some drop earlier reasoning) is refused with a clear error, unless it marks the assistant's
text with `{% generation %}`, which is then used (`return_assistant_tokens_mask`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..loss import IGNORE_INDEX

logger = logging.getLogger(__name__)

Message = dict[str, Any]


class ChatDataError(ValueError):
    """An example or a chat template that cannot be turned into training tokens."""


def to_messages(example: dict[str, Any], *, messages_field: str = "messages", system: str | None = None) -> list[Message]:
    """The conversation of one example (see the module docstring for the shapes accepted);
    `system` adds a system message first when the example has none."""
    if messages_field in example:
        messages = list(example[messages_field])
    elif "prompt" in example and "completion" in example:
        messages = _as_turn(example["prompt"], "user") + _as_turn(example["completion"], "assistant")
    elif "instruction" in example and "output" in example:
        prompt = example["instruction"]
        if example.get("input"):
            prompt = f"{prompt}\n\n{example['input']}"
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": example["output"]}]
    else:
        raise ChatDataError(
            f"an example with fields {', '.join(sorted(example)) or 'none'}: expected `{messages_field}` "
            "(a list of {role, content}), `prompt` and `completion`, or `instruction` and `output`"
        )
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise ChatDataError(f"message {i} is not a {{role, content}} mapping: {m!r}")
    if system is not None and (not messages or messages[0]["role"] != "system"):
        messages = [{"role": "system", "content": system}] + messages
    return messages


def _as_turn(value: Any, role: str) -> list[Message]:
    return list(value) if isinstance(value, list) else [{"role": role, "content": value}]


def _render(tokenizer: Any, messages: list[Message], generation_prompt: bool, template_kwargs: dict) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=generation_prompt, **template_kwargs
    )


def assistant_spans(
    tokenizer: Any, messages: list[Message], template_kwargs: dict | None = None
) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans `[start, end)` of the assistant's turns."""
    kwargs = dict(template_kwargs or {})
    text = _render(tokenizer, messages, False, kwargs)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:i], True, kwargs)
        through = _render(tokenizer, messages[: i + 1], False, kwargs)
        if not (text.startswith(through) and through.startswith(before)):
            raise ChatDataError(
                f"the chat template does not render the conversation up to message {i} as a prefix of "
                "the whole (it rewrites earlier turns), so the assistant's tokens cannot be found from "
                "it; use a template that marks them with {% generation %} ... {% endgeneration %}"
            )
        end = len(through.rstrip())
        if end > len(before):
            spans.append((len(before), end))
    return text, spans


def tokenize_chat(
    messages: list[Message],
    tokenizer: Any,
    *,
    max_length: int | None = None,
    template_kwargs: dict | None = None,
) -> dict[str, list[int]]:
    """`{"input_ids", "labels"}` of one conversation; labels are the ids on the assistant's
    tokens and -100 elsewhere (aligned with the inputs: the loss shifts them). `max_length` cuts
    the end off."""
    if getattr(tokenizer, "chat_template", None) is None:
        raise ChatDataError(
            "the tokenizer has no chat template: give one (prepare_tokenizer(chat_template=...), or "
            "the recipe's chat_template knob)"
        )
    if "{% generation %}" in tokenizer.chat_template or "{%- generation %}" in tokenizer.chat_template:
        encoded = tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, **(template_kwargs or {})
        )
        ids = list(encoded["input_ids"])
        mask = list(encoded["assistant_masks"])
    else:
        if not getattr(tokenizer, "is_fast", False):
            raise ChatDataError("finding the assistant's tokens needs a fast tokenizer (character offsets)")
        text, spans = assistant_spans(tokenizer, messages, template_kwargs)
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoded["input_ids"])
        mask = [int(any(s <= start < e for s, e in spans)) for start, _ in encoded["offset_mapping"]]
    labels = [t if m else IGNORE_INDEX for t, m in zip(ids, mask)]
    if max_length is not None:
        ids, labels = ids[:max_length], labels[:max_length]
    return {"input_ids": ids, "labels": labels}


def tokenize_chat_dataset(
    dataset: Any,
    tokenizer: Any,
    *,
    max_length: int | None = None,
    messages_field: str = "messages",
    system: str | None = None,
    template_kwargs: dict | None = None,
    num_proc: int | None = None,
) -> Any:
    """Every example of `dataset` (a `datasets.Dataset`, or a list of mappings) as
    `{"input_ids", "labels"}` (`tokenize_chat`), other columns dropped. Examples left without an
    assistant token (cut by `max_length`) train nothing and are dropped, with a warning."""

    def encode(example: dict[str, Any]) -> dict[str, list[int]]:
        messages = to_messages(example, messages_field=messages_field, system=system)
        return tokenize_chat(messages, tokenizer, max_length=max_length, template_kwargs=template_kwargs)

    if hasattr(dataset, "map") and hasattr(dataset, "column_names"):
        columns = dataset.column_names
        encoded = dataset.map(encode, remove_columns=columns, num_proc=num_proc, desc="chat template")
        kept = encoded.filter(_trains_something, num_proc=num_proc, desc="assistant tokens")
        dropped = len(encoded) - len(kept)
    else:
        rows = [encode(dict(example)) for example in dataset]
        kept = [row for row in rows if _trains_something(row)]
        dropped = len(rows) - len(kept)
    if dropped:
        logger.warning("%d of %d examples have no assistant token within max_length=%s: dropped",
                       dropped, dropped + len(kept), max_length)
    if len(kept) == 0:
        raise ChatDataError("no example has an assistant token to train on")
    return kept


def _trains_something(row: dict[str, Sequence[int]]) -> bool:
    return any(label != IGNORE_INDEX for label in row["labels"][1:])
