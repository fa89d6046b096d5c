"""Shifted causal-LM cross-entropy.

Labels are aligned with the inputs (``labels[t] == input_ids[t]`` where trained, ``-100`` where
not); the loss shifts them, so the logits at position ``t`` predict the label at ``t + 1``.

With ``num_items_in_batch`` the loss is the SUM of token losses divided by that count. A trainer
that passes the number of target tokens of the whole accumulated batch gets, summed over its
micro-batches, exactly the mean token loss of one large batch (token-weighted gradient
accumulation). This is the contract of ``compute_loss_func`` in ``transformers.Trainer`` too, so
``CausalLMLoss`` works under both trainers.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def count_target_tokens(labels: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Number of labels that take part in the shifted loss (every label but the first of a row)."""
    return (labels[..., 1:] != ignore_index).sum()


def causal_lm_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    ignore_index: int = IGNORE_INDEX,
    num_items_in_batch: int | torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Cross-entropy of ``logits[:, :-1]`` against ``labels[:, 1:]``, computed in float32.

    Returns the mean over non-ignored target tokens, or their sum divided by
    ``num_items_in_batch`` when it is given. A batch without any target token gives 0 (not NaN).
    ``label_smoothing`` (Szegedy et al. 2016) mixes the one-hot target with the uniform
    distribution over the vocabulary: (1 - e) * nll + e * mean over the vocabulary of -log p, per
    target token (transformers' ``label_smoothing_factor``, its ``LabelSmoother``).
    """
    if logits.shape[:-1] != labels.shape:
        raise ValueError(
            f"causal_lm_loss: logits of shape {tuple(logits.shape)} do not match labels of shape "
            f"{tuple(labels.shape)} (expected logits (..., T, vocab) and labels (..., T))"
        )
    vocab = logits.shape[-1]
    # Shift the labels, not the logits: padding the labels keeps the logits a view (no copy of
    # the largest activation). Upcast: a bf16 cross-entropy is lossy.
    flat_logits = logits.reshape(-1, vocab).float()  # (B*T, V)
    shift_labels = F.pad(labels, (0, 1), value=ignore_index)[..., 1:].reshape(-1)  # (B*T,)
    shift_labels = shift_labels.to(flat_logits.device)
    total = F.cross_entropy(flat_logits, shift_labels, ignore_index=ignore_index, reduction="sum",
                            label_smoothing=label_smoothing)
    if num_items_in_batch is None:
        num_items_in_batch = (shift_labels != ignore_index).sum()
    if isinstance(num_items_in_batch, torch.Tensor):
        num_items_in_batch = num_items_in_batch.to(total.device).clamp(min=1)
    else:
        num_items_in_batch = max(int(num_items_in_batch), 1)
    return total / num_items_in_batch


def logits_of(outputs: Any) -> torch.Tensor:
    """The logits of a model's output: a tensor, a mapping with "logits", or an object with `.logits`."""
    if isinstance(outputs, torch.Tensor):
        return outputs
    if isinstance(outputs, dict) and "logits" in outputs:
        return outputs["logits"]
    logits = getattr(outputs, "logits", None)
    if logits is None:
        raise TypeError(
            f"cannot find logits in the model output of type {type(outputs).__name__}: expected a "
            "tensor, a mapping with 'logits' or an object with a `.logits` attribute"
        )
    return logits


class CausalLMLoss:
    """``compute_loss_func`` for causal LMs: ``loss_fn(outputs, labels, num_items_in_batch=None)``.

    ``outputs`` may be the logits or a model output holding them.
    """

    def __init__(self, ignore_index: int = IGNORE_INDEX, label_smoothing: float = 0.0) -> None:
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def __call__(
        self,
        outputs: Any,
        labels: torch.Tensor,
        num_items_in_batch: int | torch.Tensor | None = None,
    ) -> torch.Tensor:
        return causal_lm_loss(
            logits_of(outputs),
            labels,
            ignore_index=self.ignore_index,
            num_items_in_batch=num_items_in_batch,
            label_smoothing=self.label_smoothing,
        )

    def __repr__(self) -> str:
        smoothing = f", label_smoothing={self.label_smoothing}" if self.label_smoothing else ""
        return f"CausalLMLoss(ignore_index={self.ignore_index}{smoothing})"
