"""What the distributed metrics test and its workers share: evaluate() and predict() of the tiny
Forgather model with a compute_metrics, on 13 ragged rows (3 per batch: the processes' shards
differ in length and in padding)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from pipeline_testlib import TokenRows, build_model  # noqa: E402

from forgather.ml.data import DataCollatorForCausalLM  # noqa: E402
from forgather.ml.trainer import Trainer, TrainingArguments  # noqa: E402


def token_accuracy(prediction) -> dict:
    preds, labels = prediction.predictions[:, :-1], prediction.label_ids[:, 1:]
    mask = labels != -100
    return {"accuracy": float((preds[mask] == labels[mask]).mean()), "tokens": int(mask.sum())}


def evaluate_with_metrics(root: Path, output_dir: Path, parallel=None) -> tuple[Trainer, dict]:
    args = TrainingArguments(output_dir=str(output_dir), per_device_eval_batch_size=3, use_cpu=True,
                             report_to="none", disable_tqdm=True, include_for_metrics=["inputs"])
    trainer = Trainer(build_model(root), args, data_collator=DataCollatorForCausalLM(pad_token_id=0),
                      eval_dataset=TokenRows(13, seed=7, ragged=True), compute_metrics=token_accuracy,
                      preprocess_logits_for_metrics=lambda logits, labels: logits.argmax(-1), parallel=parallel)
    metrics = trainer.evaluate()
    predicted = trainer.predict(TokenRows(13, seed=7, ragged=True))
    labels = predicted.label_ids
    return trainer, {
        "eval": metrics,
        "test": predicted.metrics,
        # where there is a label: padding positions depend on how the rows were batched
        "predictions": np.where(labels != -100, predicted.predictions, -100).tolist(),
        "label_ids": labels.tolist(),
    }
