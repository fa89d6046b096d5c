"""`report_to` names: the loggers and trackers we support, and a clear error for a missing package."""

import importlib.util

import pytest

from forgather.ml.trainer import Trainer, TrainingArguments
from forgather.ml.trainer.tracking import record_params


@pytest.mark.parametrize(
    "given,expected",
    [
        ("none", []),
        (None, []),
        ("all", ["tensorboard", "jsonl"]),  # as before: no tracker that starts runs unasked
        (["all", "mlflow"], ["tensorboard", "jsonl", "mlflow"]),
        ("mlflow", ["mlflow"]),
        (["tensorboard", "mlflow", "tensorboard"], ["tensorboard", "mlflow"]),
        (["jsonl", "none"], ["jsonl"]),
    ],
)
def test_report_to_names(given, expected):
    assert TrainingArguments(report_to=given).report_to == expected


def test_unsupported_tracker():
    with pytest.raises(ValueError, match="report_to='comet_ml' is not supported; choose from 'none', 'all'"):
        TrainingArguments(report_to="comet_ml")


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed")
def test_wandb_not_installed_is_a_clear_error():
    with pytest.raises(ValueError, match=r"report_to='wandb' needs the wandb package, which is not installed \(pip install wandb"):
        TrainingArguments(report_to=["tensorboard", "wandb"])


def test_huggingface_fields_the_integrations_read():
    args = TrainingArguments(output_dir="o", run_name="r1")
    assert args.run_name == "r1"
    assert '"output_dir": "o"' in args.to_json_string()
    assert all(isinstance(v, (bool, int, float, str)) for v in args.to_sanitized_dict().values())


def test_no_tracker_no_tracking_callbacks(tmp_path):
    import torch

    trainer = Trainer(model=torch.nn.Linear(2, 2), args=TrainingArguments(output_dir=str(tmp_path), report_to="jsonl"))
    names = {type(c).__name__ for c in trainer.callback_handler.callbacks}
    assert "RunRecordCallback" not in names and "TensorBoardCallback" not in names


RECORD = {
    "fgc_run": 1, "run_dir": "/r", "target": "main", "status": "running", "exit_code": None,
    "build": {"dir": "/b", "config_sha256": "00", "input": {"file": "e.fg"}},
    "command": {"argv": ["fgc", "run", "b", "--set", "note=a b"], "cwd": "/w"},
    "sets": {"note": "a b"}, "variables": {"lr": 0.001, "layers": [1, 2], "none": None, "empty": {}},
    "host": {"hostname": "h", "pid": 7, "python": "3.11.0"},
    "packages": {"Torch": "2.13.0", "six": "1.0"}, "data_files": {"/d": {"bytes": 1}},
    "sessions": [{}], "start_time": "2026-01-01T00:00:00+00:00", "end_time": None,
}


@pytest.mark.parametrize(
    "key,value",
    [
        ("fgc.run_dir", "/r"), ("fgc.target", "main"), ("fgc.build.config_sha256", "00"),
        ("fgc.build.input.file", "e.fg"), ("fgc.command", "fgc run b --set 'note=a b'"), ("fgc.cwd", "/w"),
        ("fgc.sets.note", "a b"), ("fgc.variables.lr", "0.001"), ("fgc.variables.layers", "[1, 2]"),
        ("fgc.variables.none", "null"), ("fgc.variables.empty", "{}"), ("fgc.host.hostname", "h"),
        ("fgc.packages.Torch", "2.13.0"), ("fgc.start_time", "2026-01-01T00:00:00+00:00"),
    ],
)
def test_record_params(key, value):
    assert record_params(RECORD)[key] == value


@pytest.mark.parametrize("absent", ["fgc.status", "fgc.exit_code", "fgc.end_time", "fgc.sessions",
                                    "fgc.data_files", "fgc.packages.six", "fgc.host.pid"])
def test_record_params_leave_out(absent):
    assert not [k for k in record_params(RECORD) if k.startswith(absent)]
