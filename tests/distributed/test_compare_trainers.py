"""examples/compare_trainers: each child (Trainer, AccelTrainer on one and on two processes,
PipelineTrainer on two processes, transformers.Trainer) trains a few steps through `fgc run`, and the loss curves agree within the
tolerance its README states. The two-process run is `fgc run BUILD --nproc 2`: one run directory
for the whole job, written once."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

import fgc

sys.path.insert(0, str(Path(__file__).parent))
from launcher import run_job, worker_env  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compare_trainers"


def _example_module(name: str):
    """The example's own script, imported from its file (no generic module name on sys.path)."""
    spec = importlib.util.spec_from_file_location(f"compare_trainers_{name}", EXAMPLE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare = _example_module("compare")
largest_relative_difference, loss_curve = compare.largest_relative_difference, compare.loss_curve

STEPS = 4
RTOL = 1e-4  # the README's tolerance between trainers (same data order, same global batch)


def fgc_run(build: Path, *args: str, cwd: Path):
    # a retry starts again from no run directory (under cwd/runs or --output-dir)
    written = [cwd / "runs"] + [Path(a) for a, flag in zip(args[1:], args) if flag == "--output-dir"]
    return run_job([sys.executable, "-m", "fgc", "run", str(build), "--set", f"max_steps={STEPS}", *args],
                   cwd=cwd, env=worker_env(), outputs=written)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("compare")
    out = {}
    for child in ("trainer", "accel_trainer", "hf_trainer"):
        build = work / f"build_{child}"
        fgc.compile(EXAMPLE / f"{child}.fg", build)
        fgc_run(build, "--output-dir", str(work / child), cwd=work)
        out[child] = work / child
    # the global batch of 8 as 2 processes x 4, in the run directory fgc run makes
    fgc_run(work / "build_accel_trainer", "--nproc", "2", "--set", "batch_size=4", cwd=work)
    out["accel_trainer_2proc"] = work / "runs" / "compare_accel_trainer"
    # PipelineTrainer: 2 stages on 2 processes (batch_size is the whole batch: every rank reads it)
    fgc.compile(EXAMPLE / "pipeline_trainer.fg", work / "build_pipeline_trainer")
    fgc_run(work / "build_pipeline_trainer", "--nproc", "2", cwd=work)
    out["pipeline_trainer_2proc"] = work / "runs" / "compare_pipeline_trainer"
    return out


def test_one_run_directory_for_the_whole_job(runs):
    root = runs["accel_trainer_2proc"]
    made = sorted(p.name for p in root.iterdir())
    assert len(made) == 2 and "latest" in made, made  # one run + the `latest` link
    run = root / "latest"
    record = json.loads((run / "fgc-run.json").read_text())
    assert record["status"] == "completed"
    logs = list(run.glob("**/trainer_logs.jsonl"))
    assert len(logs) == 1, logs  # the main process logs; the other does not
    begin = json.loads(logs[0].read_text().splitlines()[0])
    assert begin["event"] == "train_begin" and begin["world_size"] == 2
    steps = [json.loads(line)["global_step"] for line in logs[0].read_text().splitlines()
             if json.loads(line).get("event") == "log" and "loss" in json.loads(line)]
    assert steps == list(range(1, STEPS + 1))
    assert (run / "model.safetensors").is_file() and (run / "loss.png").is_file()


@pytest.mark.parametrize("child", ["accel_trainer", "hf_trainer", "accel_trainer_2proc", "pipeline_trainer_2proc"])
def test_loss_curves_agree(runs, child):
    reference = loss_curve(runs["trainer"])
    assert sorted(reference) == list(range(1, STEPS + 1))
    curve = loss_curve(runs[child] / "latest" if child.endswith("2proc") else runs[child])
    assert largest_relative_difference(reference, curve) <= RTOL, (reference, curve)
