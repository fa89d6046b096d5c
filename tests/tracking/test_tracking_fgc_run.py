"""End to end: `fgc compile` a tiny child of examples/quickstart, `fgc run --set report_to=mlflow`;
the MLflow run holds the losses of trainer_logs.jsonl and the run record as params. The same
child with trainers/hf_trainer.fg (transformers.Trainer) gets the record too."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tracking_testlib import history, mlflow_runs

pytest.importorskip("mlflow")

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
CHILD = """\
-- extends 'experiment.fg'
-- set corpus_files = 8
-- set vocab_size = 320
-- set block_size = 32
-- set hidden_size = 32
-- set num_hidden_layers = 1
-- set num_attention_heads = 2
-- set num_key_value_heads = 1
-- set max_steps = 4
-- set warmup_steps = 1
-- set batch_size = 4
-- set logging_steps = 2
-- set sample_prompt = None
"""


def fgc(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fgc", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


# the child again, with transformers.Trainer (the trainer include swapped)
HF_CHILD = CHILD + "[trainer]\n    -- include 'trainers/hf_trainer.fg'\n"


def compile_child(root: Path, text: str) -> Path:
    (root / "tiny.fg").write_text(text)
    done = fgc("compile", "tiny.fg", "-I", QUICKSTART, "-o", "build", cwd=root)
    assert done.returncode == 0, done.stderr
    return root / "build"


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    return compile_child(tmp_path_factory.mktemp("tiny"), CHILD)


@pytest.fixture(scope="module")
def hf_build(tmp_path_factory) -> Path:
    return compile_child(tmp_path_factory.mktemp("tiny-hf"), HF_CHILD)


@pytest.mark.parametrize("trainer", ["forgather", "transformers"])
def test_fgc_run_reports_to_mlflow(trainer, request, tmp_path, mlflow_store):
    build = request.getfixturevalue("build" if trainer == "forgather" else "hf_build")
    done = fgc("run", build, "--set", "report_to=mlflow", "--set", "output_dir=runs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir() and not p.is_symlink()]
    record = json.loads((run_dir / "fgc-run.json").read_text())
    assert record["status"] == "completed"

    client, runs = mlflow_runs()
    # transformers.Trainer: TrainingScript's final evaluate() starts a second run (MLflowCallback
    # ended the training run at on_train_end); our Trainer resumes the training run for it
    assert len(runs) == (1 if trainer == "forgather" else 2)
    (run,) = [r for r in runs if "fgc.run_dir" in r.data.params]
    params = run.data.params
    assert params["fgc.run_dir"] == str(run_dir) == record["run_dir"]
    assert params["fgc.sets.report_to"] == "mlflow" and params["report_to"] == "['mlflow']"
    assert params["fgc.variables.max_steps"] == "4" == params["max_steps"]
    assert params["fgc.command"].endswith(f"run {build} --set report_to=mlflow --set output_dir=runs")
    (logs,) = run_dir.rglob("trainer_logs.jsonl")  # transformers v5 has no logging_dir: runs/
    expected = [(r["global_step"], r["loss"]) for r in map(json.loads, logs.read_text().splitlines()) if "loss" in r]
    got = history(client, run.info.run_id, "loss")
    assert [s for s, _ in got] == [s for s, _ in expected] == [2, 4]
    for (_, a), (_, b) in zip(got, expected):
        assert a == pytest.approx(b, abs=1e-6)
    if trainer == "forgather":
        assert [s for s, _ in history(client, run.info.run_id, "eval_loss")] == [4]  # the final evaluate()


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed")
def test_fgc_run_wandb_not_installed(build, tmp_path):
    done = fgc("run", build, "--set", "report_to=wandb", "--set", "output_dir=runs", cwd=tmp_path)
    assert done.returncode == 1
    assert "report_to='wandb' needs the wandb package, which is not installed" in done.stderr
    assert "Traceback" not in done.stderr
