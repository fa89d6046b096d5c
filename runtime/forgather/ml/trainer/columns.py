"""``remove_unused_columns``: what transformers.Trainer does to the data before the collator.

The columns a batch may keep are the parameters of the model's ``forward`` (of the base model
under a peft wrapper), transformers' "label" and "label_ids", the ``label_names`` and, here, the
columns the data collator declares it reads (``input_columns``: DataCollatorForCausalLM reads
``document_starts``, which transformers would drop). A ``datasets.Dataset`` loses the other
columns (`Dataset.remove_columns`); any other dataset keeps its items and the collator is given
each feature without the other keys, as transformers' ``RemoveColumnsCollator`` does. So a
``Dataset.map`` tokenization that keeps its ``text`` column works unchanged under both trainers.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable

import torch

logger = logging.getLogger(__name__)


def signature_columns(model: torch.nn.Module, label_names: list[str], collator: Any) -> list[str]:
    target = model.get_base_model() if hasattr(model, "get_base_model") and hasattr(model, "peft_config") else model
    try:
        params = list(inspect.signature(target.forward).parameters)
    except (TypeError, ValueError):
        params = []
    declared = list(getattr(collator, "input_columns", ()) or ())
    return list(dict.fromkeys(params + ["label", "label_ids"] + list(label_names) + declared))


class RemoveColumnsCollator:
    """Each feature without the keys the model cannot take, then the collator."""

    def __init__(self, collator: Callable, keep: list[str], description: str) -> None:
        self.collator = collator
        self.keep = set(keep)
        self.description = description
        self._reported = False

    def __call__(self, features: list[dict[str, Any]]) -> Any:
        if features and isinstance(features[0], dict):
            dropped = sorted(set(features[0]) - self.keep)
            if dropped and not self._reported:
                logger.info("the %s columns %s are not taken by the model and are dropped (remove_unused_columns)",
                            self.description, ", ".join(dropped))
                self._reported = True
            features = [{k: v for k, v in f.items() if k in self.keep} for f in features]
        return self.collator(features)

    def __getattr__(self, name: str) -> Any:  # the wrapped collator's attributes (its tokenizer...)
        return getattr(self.__dict__["collator"], name)


def keep_model_columns(dataset: Any, collator: Callable, model: torch.nn.Module, args: Any,
                       description: str) -> tuple[Any, Callable]:
    """(dataset, collator) with the unused columns removed (see the module docstring)."""
    if not args.remove_unused_columns or dataset is None:
        return dataset, collator
    keep = signature_columns(model, args.label_names or ["labels"], collator)
    try:
        import datasets
    except ImportError:
        datasets = None
    if datasets is not None and isinstance(dataset, datasets.Dataset):
        unused = [c for c in dataset.column_names if c not in keep]
        if unused and len(unused) == len(dataset.column_names):
            raise ValueError(
                f"the {description} dataset has no column the model's forward takes "
                f"(columns: {', '.join(dataset.column_names)}; forward: {', '.join(keep)}); set "
                "remove_unused_columns=False to hand every column to the collator"
            )
        if unused:
            logger.info("the %s columns %s are not taken by the model and are dropped (remove_unused_columns)",
                        description, ", ".join(unused))
            dataset = dataset.remove_columns(unused)
        return dataset, collator
    return dataset, RemoveColumnsCollator(collator, keep, description)
