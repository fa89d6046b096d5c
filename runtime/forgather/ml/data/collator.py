"""Causal-LM collator: right padding, ``-100`` labels, position ids that restart per document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..loss import IGNORE_INDEX


class DataCollatorForCausalLM:
    """Collate ``{"input_ids", ["labels"], ["document_starts"]}`` features into a batch.

    Output: ``input_ids`` (B, T) padded on the right with the pad id; ``labels`` (B, T): the input
    ids (or the features' own labels), ``-100`` on padding and, with ``mask_document_boundaries``,
    at each document start after the first (a token is never trained to follow another
    document); ``position_ids`` (B, T) restarting at 0 at every document start (padding continues
    the count of the last document). Labels are not shifted: the loss shifts them.

    No ``attention_mask`` is returned: padding is on the right and never a target, so causal
    attention alone is exact, and a missing mask lets models derive per-document masks from the
    position ids.
    """

    # The feature keys it reads: the Trainer's remove_unused_columns keeps them (transformers'
    # would drop document_starts, which the model's forward does not take).
    input_columns = ("input_ids", "labels", "document_starts")

    def __init__(
        self,
        tokenizer: Any = None,
        *,
        pad_token_id: int | None = None,
        ignore_index: int = IGNORE_INDEX,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_position_ids: bool = True,
        mask_document_boundaries: bool = True,
    ) -> None:
        if pad_token_id is None and tokenizer is not None:
            pad_token_id = tokenizer.pad_token_id
            if pad_token_id is None:
                pad_token_id = tokenizer.eos_token_id
        # The pad id only fills input slots whose labels are ignored; 0 is as good as any.
        self.pad_token_id = 0 if pad_token_id is None else int(pad_token_id)
        self.ignore_index = ignore_index
        self.max_length = max_length
        self.pad_to_multiple_of = pad_to_multiple_of
        self.return_position_ids = return_position_ids
        self.mask_document_boundaries = mask_document_boundaries

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError("DataCollatorForCausalLM: empty batch")
        rows = []
        for index, feature in enumerate(features):
            if "input_ids" not in feature:
                raise KeyError(
                    f"DataCollatorForCausalLM: feature {index} has no 'input_ids' "
                    f"(keys: {', '.join(feature)})"
                )
            ids = torch.as_tensor(feature["input_ids"], dtype=torch.long).reshape(-1)
            labels = feature.get("labels")
            labels = ids.clone() if labels is None else torch.as_tensor(labels, dtype=torch.long)
            if labels.shape != ids.shape:
                raise ValueError(
                    f"DataCollatorForCausalLM: feature {index} has {labels.numel()} labels "
                    f"for {ids.numel()} input ids"
                )
            starts = feature.get("document_starts")
            starts = torch.as_tensor([0] if starts is None else starts, dtype=torch.long).reshape(-1)
            if self.max_length is not None:
                ids, labels = ids[: self.max_length], labels[: self.max_length]
                starts = starts[starts < self.max_length]
            rows.append((ids, labels, starts))

        length = max(ids.numel() for ids, _, _ in rows)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        batch_ids = torch.full((len(rows), length), self.pad_token_id, dtype=torch.long)
        batch_labels = torch.full((len(rows), length), self.ignore_index, dtype=torch.long)
        batch_positions = torch.empty((len(rows), length), dtype=torch.long)
        for b, (ids, labels, starts) in enumerate(rows):
            n = ids.numel()
            batch_ids[b, :n] = ids
            batch_labels[b, :n] = labels
            batch_positions[b] = _positions(starts, length)
            if self.mask_document_boundaries:
                inner = starts[(starts > 0) & (starts < n)]
                batch_labels[b, inner] = self.ignore_index
        batch = {"input_ids": batch_ids, "labels": batch_labels}
        if self.return_position_ids:
            batch["position_ids"] = batch_positions
        return batch


def _positions(starts: torch.Tensor, length: int) -> torch.Tensor:
    """0, 1, 2, ... restarting at each offset in ``starts`` (sorted, first one 0)."""
    index = torch.arange(length)
    starts = torch.unique(torch.cat([torch.zeros(1, dtype=torch.long), starts]))  # sorted
    segment = torch.searchsorted(starts, index, right=True) - 1  # the document each slot is in
    return index - starts[segment]
