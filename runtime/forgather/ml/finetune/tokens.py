"""New tokens (chat markers, a pad token) in a pretrained tokenizer, and the model's embedding
matrices grown to match, each new row initialised to the mean of the existing rows.

The mean keeps a new token's logit at the average of the old ones', so adding tokens does not
shift the model's distribution over the old vocabulary much (Hewitt 2021, "Initializing New Word
Embeddings for Pretrained Language Models"); a random row can dominate the softmax.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

# ChatML (as Qwen and many others write it): `chat_template="chatml"` sets this template and adds
# its two markers as special tokens.
CHATML_MARKERS = ("<|im_start|>", "<|im_end|>")
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
NAMED_TEMPLATES = {"chatml": (CHATML, CHATML_MARKERS)}

# The attributes `prepare_tokenizer` leaves on a tokenizer: the ids of the tokens it added, which
# `resize_embeddings` initialises (their rows may already exist: models often have spare rows), and
# the chat template's end-of-turn token, which `resize_embeddings` makes a stop token.
ADDED_IDS = "forgather_added_token_ids"
END_OF_TURN = "forgather_end_of_turn"


def prepare_tokenizer(
    tokenizer: Any,
    *,
    special_tokens: Iterable[str] = (),
    tokens: Iterable[str] = (),
    pad_token: str | None = None,
    chat_template: str | None = None,
    end_of_turn: str | None = None,
) -> Any:
    """Add `special_tokens` (never split, e.g. `<|im_start|>`), plain `tokens`, a `pad_token`
    (set, and added when it is new) and a `chat_template` (Jinja, as transformers reads it; or
    "chatml", which also adds ChatML's two markers) to `tokenizer`, in place; returns it. The ids
    of what was new are kept for `resize_embeddings`, and so is `end_of_turn` (ChatML's
    `<|im_end|>` for "chatml"), the token that ends an assistant's turn.
    """
    before = len(tokenizer)
    specials = list(special_tokens)
    if chat_template in NAMED_TEMPLATES:
        chat_template, markers = NAMED_TEMPLATES[chat_template]
        specials += [m for m in markers if m not in specials]
        end_of_turn = end_of_turn or markers[-1]
    if specials:
        tokenizer.add_tokens(specials, special_tokens=True)
    plain = list(tokens)
    if plain:
        tokenizer.add_tokens(plain)
    if pad_token is not None:
        tokenizer.add_special_tokens({"pad_token": pad_token})
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    if end_of_turn is not None:
        setattr(tokenizer, END_OF_TURN, end_of_turn)
    added = range(before, len(tokenizer))
    setattr(tokenizer, ADDED_IDS, tuple(sorted(set(getattr(tokenizer, ADDED_IDS, ())) | set(added))))
    return tokenizer


def resize_embeddings(model: Any, tokenizer: Any, *, pad_to_multiple_of: int | None = None) -> Any:
    """Grow `model`'s input (and untied output) embeddings to `len(tokenizer)` rows when they are
    fewer, and set the rows of the tokens `prepare_tokenizer` added (and of any new row) to the
    mean of the other rows. Returns the model. A model with enough rows keeps its shape.

    The tokenizer's end-of-turn token (`prepare_tokenizer`) joins the model's generation stop
    tokens (`generation_config.eos_token_id`), so that generating, and serving, ends with the
    assistant's turn."""
    embedding = model.get_input_embeddings()
    rows = embedding.weight.shape[0]
    needed = len(tokenizer)
    if needed > rows:
        model.resize_token_embeddings(needed, pad_to_multiple_of=pad_to_multiple_of, mean_resizing=False)
    new_rows = model.get_input_embeddings().weight.shape[0]
    _stop_at_end_of_turn(model, tokenizer)
    fresh = sorted(set(getattr(tokenizer, ADDED_IDS, ())) | set(range(rows, new_rows)))
    if not fresh:
        return model
    old = torch.ones(new_rows, dtype=torch.bool)
    old[fresh] = False
    old[rows:] = False
    with torch.no_grad():
        _mean_init(model.get_input_embeddings().weight, old, fresh)
        output = model.get_output_embeddings()
        if output is not None and output.weight is not model.get_input_embeddings().weight:
            _mean_init(output.weight, old, fresh)
            if getattr(output, "bias", None) is not None:
                _mean_init(output.bias, old, fresh)
    return model


def _mean_init(weight: torch.Tensor, old: torch.Tensor, fresh: list[int]) -> None:
    old = old.to(weight.device)
    mean = weight[old].float().mean(0)  # (D,) or () for a bias
    weight[fresh] = mean.to(weight.dtype)


def _stop_at_end_of_turn(model: Any, tokenizer: Any) -> None:
    token = getattr(tokenizer, END_OF_TURN, None)
    config = getattr(model, "generation_config", None)
    if token is None or config is None:
        return
    stop = config.eos_token_id
    stop = [] if stop is None else [stop] if isinstance(stop, int) else list(stop)
    if getattr(tokenizer, "eos_token_id", None) is not None and tokenizer.eos_token_id not in stop:
        stop.append(tokenizer.eos_token_id)
    turn = tokenizer.convert_tokens_to_ids(token)
    if turn not in stop:
        stop.append(turn)
    config.eos_token_id = stop
