"""Shared pieces of the tracking tests: a run record as `fgc run` writes it, a tiny trainer, MLflow reads."""

from __future__ import annotations

from pathlib import Path

import transformers
from trainer_testlib import RandomTokens, tiny_llama

from fgc.runs.record import start_record
from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import RunRecordCallback, Trainer, TrainingArguments

LONG = "x" * 7000  # longer than an MLflow param value may be (6000)
SETS = {"max_steps": 4, "note": "tracked"}
VARIABLES = {"max_steps": 4, "learning_rate": 2e-3, "long_value": LONG}
COMMON = dict(max_steps=4, logging_steps=2, per_device_train_batch_size=4, per_device_eval_batch_size=4,
              learning_rate=2e-3, save_strategy="no", disable_tqdm=True, use_cpu=True, eval_strategy="no")


def write_record(run_dir: Path) -> dict:
    """The record `fgc run` writes before it builds the target (fgc/runs/record.py)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    return start_record(run_dir, argv=["fgc", "run", "build", "--set", "note=tracked"],
                        build_dir=run_dir.parent / "build", manifest={"config_sha256": "ab" * 32},
                        target="main", sets=SETS, variables=VARIABLES)


def train(trainer_cls, run_dir: Path, report_to, evaluate: bool = True, **options):
    """A 4-step run of a tiny Llama, its losses logged at steps 2 and 4, then one evaluate()."""
    if trainer_cls is Trainer:
        args = TrainingArguments(output_dir=str(run_dir), report_to=report_to, **COMMON, **options)
        callbacks = []
    else:
        args = transformers.TrainingArguments(output_dir=str(run_dir), report_to=report_to,
                                              remove_unused_columns=False, **COMMON, **options)
        callbacks = [RunRecordCallback()]  # transformers.Trainer puts it after its integrations
    trainer = trainer_cls(model=tiny_llama(64), args=args, train_dataset=RandomTokens(32),
                          eval_dataset=RandomTokens(8), data_collator=DataCollatorForCausalLM(None),
                          callbacks=callbacks)
    trainer.train()
    if evaluate:
        trainer.evaluate()
    return trainer


def logged(trainer, key: str) -> list[tuple[int, float]]:
    return [(r["step"], r[key]) for r in trainer.state.log_history if key in r]


def mlflow_runs():
    """Every run of the store that MLFLOW_TRACKING_URI names."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client, client.search_runs(experiments)


def history(client, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))
