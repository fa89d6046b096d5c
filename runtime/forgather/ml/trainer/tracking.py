"""Experiment trackers for ``report_to``: transformers' own integration callbacks, and the run record.

``report_to: [tensorboard, mlflow, wandb]`` gets the callbacks ``transformers.Trainer`` would
create (``transformers.integrations.get_reporting_integration_callbacks``), unchanged; our
trainers call them with HF's ``TrainerState``/``TrainerControl`` and arguments that have what they
read (``to_dict``, ``to_json_string``, ``run_name``, ``output_dir``).

`RunRecordCallback` logs the run record (``fgc-run.json`` of the run directory that ``fgc run``
made) to those trackers: MLflow params (``fgc.*``) and the whole record as the artifact
``fgc-run.json``; a TensorBoard text ``fgc_run``; wandb config ``fgc``. It is an ordinary
``TrainerCallback``, so a ``transformers.Trainer`` takes it too (``trainers/hf_trainer.fg`` adds it).
mlflow and wandb are imported only when they are asked for (mlflow takes seconds to import).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shlex
from pathlib import Path
from typing import Any

from forgather_files.runs import RUN_DIR_ENV, RUN_RECORD  # the run contract (set and written by `fgc run`)
from transformers import TrainerCallback

from .callbacks import logging_dir

logger = logging.getLogger(__name__)

TRACKERS = ("tensorboard", "mlflow", "wandb")
# Package versions worth a parameter each; the record (an MLflow artifact) keeps them all.
KEY_PACKAGES = ("torch", "transformers", "accelerate", "datasets", "tokenizers", "numpy", "forgather")
_INSTALL = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}


def check_installed(name: str) -> None:
    """A clear error now, instead of one deep inside the tracker's callback at train time."""
    package = _INSTALL.get(name)
    if package is None:
        return
    found = importlib.util.find_spec(package) is not None
    if name == "tensorboard":
        found = found or importlib.util.find_spec("tensorboardX") is not None
    if not found:
        extra = ", or pip install 'forgather[tracking]'" if name != "wandb" else ""
        raise ValueError(
            f"TrainingArguments: report_to={name!r} needs the {package} package, which is not "
            f"installed (pip install {package}{extra})"
        )


def report_names(args: Any) -> list[str]:
    """``args.report_to`` as a list of names (ours is one already; HF's may be a string)."""
    value = getattr(args, "report_to", None)
    names = [value] if isinstance(value, str) else list(value or [])
    return [n for n in names if n != "none"]


def integration_callbacks(args: Any) -> list[TrainerCallback]:
    """transformers' callbacks for the trackers in ``args.report_to``, in transformers' order."""
    names = [n for n in report_names(args) if n in TRACKERS]
    if not names:
        return []
    from transformers.integrations import TensorBoardCallback, get_reporting_integration_callbacks

    callbacks = [cls() for cls in get_reporting_integration_callbacks(names)]
    for callback in callbacks:
        # HF v5 dropped args.logging_dir; ours keeps it, so TensorBoard's events land next to
        # trainer_logs.jsonl. TENSORBOARD_LOGGING_DIR (read by the callback) still wins.
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            callback.logging_dir = logging_dir(args)
    return callbacks


def find_run_record(args: Any, path: str | os.PathLike | None = None) -> dict | None:
    """The run record: ``path``, else ``$FGC_RUN_DIR/fgc-run.json``, else ``<output_dir>/fgc-run.json``."""
    candidates = [Path(path)] if path is not None else []
    if os.environ.get(RUN_DIR_ENV):
        candidates.append(Path(os.environ[RUN_DIR_ENV]) / RUN_RECORD)
    if getattr(args, "output_dir", None):
        candidates.append(Path(args.output_dir) / RUN_RECORD)
    for candidate in candidates:
        try:
            return json.loads(candidate.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as e:
            logger.warning("%s: unreadable run record, not logged: %s", candidate, e)
            return None
    return None


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, out)
    else:
        out[prefix] = value if isinstance(value, str) else json.dumps(value, default=str)


def record_params(record: dict) -> dict[str, str]:
    """The record's fields that describe the run, flattened to ``fgc.<path>: str``.

    Left out: what changes while the run goes on (status, exit code, end time, sessions), the
    data files, and every package but `KEY_PACKAGES` (the artifact has them all).
    """
    out: dict[str, str] = {}
    for key in ("run_dir", "target", "build", "sets", "variables", "start_time"):
        if key in record:
            _flatten(f"fgc.{key}", record[key], out)
    command = record.get("command") or {}
    if command.get("argv") is not None:
        out["fgc.command"] = shlex.join(str(a) for a in command["argv"])
    if command.get("cwd") is not None:
        out["fgc.cwd"] = str(command["cwd"])
    host = record.get("host") or {}
    for key in ("hostname", "python", "platform"):
        if key in host:
            out[f"fgc.host.{key}"] = str(host[key])
    packages = record.get("packages") or {}
    lowered = {name.lower(): (name, version) for name, version in packages.items()}
    for name in KEY_PACKAGES:
        if name in lowered:
            out[f"fgc.packages.{lowered[name][0]}"] = str(lowered[name][1])
    return out


def _mlflow_key(key: str, limit: int) -> str:
    # MLflow keys: alphanumerics, underscores, dashes, periods, spaces, slashes
    return re.sub(r"[^0-9A-Za-z_\-. /]", "_", key)[:limit]


def _truncated(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


class RunRecordCallback(TrainerCallback):
    """Log the run record to the trackers of ``args.report_to`` when training begins.

    Give it after the integration callbacks (transformers.Trainer puts user callbacks there; our
    trainers place it themselves). ``path`` overrides where the record is read
    (`find_run_record`); ``tensorboard_callback`` is the TensorBoardCallback whose writer gets
    the text (without one, a writer of its own in the same log directory).
    """

    def __init__(self, path: str | os.PathLike | None = None, tensorboard_callback: Any = None) -> None:
        self.path = path
        self.tensorboard_callback = tensorboard_callback
        self.mlflow_run_id: str | None = None
        self.training_ended = False
        self.reopened = False
        self.logged: dict[str, str] = {}
        self.reopener = _MlflowReopener(self)  # give it before MLflowCallback (see on_train_end)

    def on_train_begin(self, args, state, control, **kwargs):
        self.training_ended = False
        trackers = [n for n in report_names(args) if n in TRACKERS]
        if not trackers or not state.is_world_process_zero:
            return
        if "mlflow" in trackers:
            import mlflow

            run = mlflow.active_run()  # MLflowCallback starts it in its on_train_begin, before this one
            self.mlflow_run_id = run.info.run_id if run is not None else None
        record = find_run_record(args, self.path)
        if record is None:
            logger.info("no run record (%s) found: only the arguments are logged", RUN_RECORD)
            return
        self.logged = record_params(record)
        if "mlflow" in trackers:
            self._log_mlflow(record)
        if "tensorboard" in trackers:
            self._log_tensorboard(args, record, state.global_step)
        if "wandb" in trackers:
            self._log_wandb()

    def _log_mlflow(self, record: dict) -> None:
        import mlflow
        from mlflow.utils import validation

        if self.mlflow_run_id is None:
            logger.warning("no active MLflow run: the run record is not logged (is RunRecordCallback "
                           "after MLflowCallback?)")
            return
        key_limit = getattr(validation, "MAX_ENTITY_KEY_LENGTH", 250)
        value_limit = validation.MAX_PARAM_VAL_LENGTH
        params = {_mlflow_key(k, key_limit): _truncated(v, value_limit) for k, v in self.logged.items()}
        items = list(params.items())
        try:
            for i in range(0, len(items), validation.MAX_PARAMS_TAGS_PER_BATCH):
                mlflow.log_params(dict(items[i : i + validation.MAX_PARAMS_TAGS_PER_BATCH]))
            mlflow.log_dict(record, RUN_RECORD)
        except mlflow.exceptions.MlflowException as e:  # e.g. a resumed run whose --set changed
            logger.warning("MLflow refused part of the run record: %s", e)

    def _log_tensorboard(self, args: Any, record: dict, step: int) -> None:
        text = "```\n" + json.dumps(record, indent=1, default=str) + "\n```"
        writer = getattr(self.tensorboard_callback, "tb_writer", None)
        if writer is not None:
            writer.add_text("fgc_run", text, global_step=step)
            writer.flush()
            return
        from torch.utils.tensorboard import SummaryWriter

        directory = os.environ.get("TENSORBOARD_LOGGING_DIR") or logging_dir(args)
        with SummaryWriter(log_dir=directory) as own:
            own.add_text("fgc_run", text, global_step=step)

    def _log_wandb(self) -> None:
        import wandb

        if wandb.run is None:
            logger.warning("no active wandb run: the run record is not logged")
            return
        wandb.config.update({"fgc": self.logged}, allow_val_change=True)

    # A metric logged after train() (TrainingScript's final evaluate()) would make MLflow start a
    # new, record-less run: MLflowCallback ended ours at on_train_end. `reopener` (placed before
    # MLflowCallback) resumes our run for that log, and on_log here (after it) ends it again.
    def on_train_end(self, args, state, control, **kwargs):
        self.training_ended = True

    def on_log(self, args, state, control, **kwargs):
        if self.reopened:
            import mlflow

            mlflow.end_run()
            self.reopened = False


class _MlflowReopener(TrainerCallback):
    """Before MLflowCallback: resume the finished training run for a log that comes after it."""

    def __init__(self, owner: RunRecordCallback) -> None:
        self.owner = owner

    def on_log(self, args, state, control, **kwargs):
        owner = self.owner
        if owner.training_ended and owner.mlflow_run_id and state.is_world_process_zero:
            import mlflow

            if mlflow.active_run() is None:
                mlflow.start_run(run_id=owner.mlflow_run_id)
                owner.reopened = True


def tracking_callbacks(args: Any) -> list[TrainerCallback]:
    """What our trainers add for ``report_to``: the integrations with the run record around them."""
    integrations = integration_callbacks(args)
    if not integrations:
        return []
    from transformers.integrations import TensorBoardCallback

    tensorboard = next((c for c in integrations if isinstance(c, TensorBoardCallback)), None)
    record = RunRecordCallback(tensorboard_callback=tensorboard)
    return [record.reopener, *integrations, record]
