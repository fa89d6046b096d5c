"""examples/compare_trainers: each child (Trainer, AccelTrainer on one and on two processes,
PipelineTrainer on two processes, FSDP2 on two, pipeline x data parallel on four,
transformers.Trainer) trains a few steps through `fgc run`, and the loss curves agree within the
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
    # FSDP2 on 2 processes (batch_size per process, as data parallel)
    fgc.compile(EXAMPLE / "fsdp_trainer.fg", work / "build_fsdp_trainer")
    fgc_run(work / "build_fsdp_trainer", "--nproc", "2", "--set", "batch_size=4", cwd=work)
    out["fsdp_trainer_2proc"] = work / "runs" / "compare_fsdp_trainer"
    # 2 pipelines x 2 stages on 4 processes (batch_size 4 per pipeline)
    fgc.compile(EXAMPLE / "pipeline_data_trainer.fg", work / "build_pipeline_data_trainer")
    fgc_run(work / "build_pipeline_data_trainer", "--nproc", "4", cwd=work)
    out["pipeline_data_trainer_4proc"] = work / "runs" / "compare_pipeline_data_trainer"
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


MULTI = ("accel_trainer_2proc", "pipeline_trainer_2proc", "fsdp_trainer_2proc", "pipeline_data_trainer_4proc")


@pytest.mark.parametrize("child", ["accel_trainer", "hf_trainer", *MULTI])
def test_loss_curves_agree(runs, child):
    reference = loss_curve(runs["trainer"])
    assert sorted(reference) == list(range(1, STEPS + 1))
    curve = loss_curve(runs[child] / "latest" if child in MULTI else runs[child])
    assert largest_relative_difference(reference, curve) <= RTOL, (reference, curve)


@pytest.mark.parametrize("child", ["fsdp_trainer_2proc", "pipeline_data_trainer_4proc"])
def test_sharded_and_staged_runs_save_one_ordinary_model(runs, child):
    """The FSDP run gathers its shards into one model.safetensors; the pipeline runs write one
    shard per stage with an index: both are model directories transformers loads."""
    run = runs[child] / "latest"
    assert json.loads((run / "fgc-run.json").read_text())["status"] == "completed"
    assert (run / "config.json").is_file() and (run / "modeling.py").is_file()
    weights = sorted(p.name for p in run.glob("model*.safetensors*"))
    assert weights == (["model.safetensors"] if child.startswith("fsdp") else
                       ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                        "model.safetensors.index.json"])
