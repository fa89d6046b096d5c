"""Tracking tests: the trainer tests' tiny model importable; a local MLflow store per test."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

# the tiny model and data of the trainer tests; the fgc subprocess helpers of the run tests
sys.path.insert(0, str(Path(__file__).parents[1] / "trainer"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_MODULES_CACHE", tempfile.mkdtemp(prefix="fg-hf-modules-"))


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """A local MLflow file store for this test (mlflow 3 wants the opt-in for file stores)."""
    store = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{store}")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    yield store
    import mlflow

    while mlflow.active_run() is not None:  # a failed test must not leave its run to the next
        mlflow.end_run()
