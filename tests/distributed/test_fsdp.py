"""The Trainer with parallel=FullyShard() (FSDP2) on 2 CPU processes (gloo) against one process
with the same global batch and data order: weights within 1e-5 after 20 steps, with and without
gradient accumulation (SGD, and Adafactor on the sharded parameters); evaluation under sharding;
checkpoints through torch.distributed.checkpoint (each process writes its shards) that resume
bit for bit on 2 processes and in one process; the export gathered into one model directory that
loads without forgather.

Three torchrun jobs, shared by every test through a module fixture: "sgd" (20 steps, checkpoints
at 10 and 20, the export), "adafactor" (gradient accumulation 2, the model built on the meta
device: each process reads only its rows of every weight from the saved initial model),
"resumed" (the "sgd" run's output directory from checkpoint 10)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from fsdp_lib import build_model, losses, train, write_package  # noqa: E402
from launcher import torchrun, worker_env  # noqa: E402
from import_guard import WITHOUT_PROJECT  # noqa: E402

WORKER = str(Path(__file__).parent / "fsdp_worker.py")
NPROC, BATCH, STEPS = 2, 2, 20
ATOL = 1e-5  # a different summation order (reduce-scatter vs one large batch), over 20 steps

RUNS = {
    "sgd": dict(ga=1, save_steps=10, optimizer="sgd"),
    "adafactor": dict(ga=2, optimizer="adafactor"),
}
META = {"adafactor"}  # runs whose model is built on the meta device


def launch(root: Path, name: str, **spec) -> Path:
    out = root / name
    out.mkdir()
    spec = {"root": str(root), "out": str(out), "output_dir": str(out / "run"), "batch": BATCH, "steps": STEPS, **spec}
    (out / "spec.json").write_text(json.dumps(spec))
    torchrun(WORKER, out / "spec.json", nproc=NPROC, outputs=[out / "run"])
    return out


def result(out: Path, rank: int = 0) -> dict:
    return json.loads((out / f"result_{rank}.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fsdp")
    write_package(root)
    build_model(root).save_pretrained(root / "init")  # the initial weights, for the meta-built run
    done = {name: launch(root, name, **spec, export=str(root / name / "export") if name == "sgd" else None,
                         meta_weights=str(root / "init") if name in META else None)
            for name, spec in RUNS.items()}
    # resume the "sgd" run from its step-10 checkpoint, in a copy of its output directory
    resumed = root / "resumed"
    resumed.mkdir()
    shutil.copytree(done["sgd"] / "run", resumed / "run")
    shutil.rmtree(resumed / "run" / "checkpoint-20")
    done["resumed"] = launch(root, "resumed_job", output_dir=str(resumed / "run"), resume=True, **RUNS["sgd"])
    done["root"] = root
    return done


@pytest.fixture(scope="module")
def single(runs):
    """The same training in one process with the plain Trainer: the global batch in one piece."""
    torch.set_num_threads(1)
    root = runs["root"]
    return {name: train(root, root / f"single_{name}", batch=NPROC * BATCH, steps=STEPS,
                        **{k: v for k, v in spec.items() if k != "save_steps"})
            for name, spec in RUNS.items()}


@pytest.mark.parametrize("name", list(RUNS))
def test_fully_sharded_matches_one_process(runs, single, name):
    weights = torch.load(runs[name] / "weights.pt", weights_only=True)
    reference = single[name].model.state_dict()
    assert set(weights) == set(reference)
    for key, value in reference.items():
        torch.testing.assert_close(weights[key], value, rtol=0, atol=ATOL, msg=key)
    initial = build_model(runs["root"]).state_dict()  # training moved them: the check is not vacuous
    assert max((weights[k] - initial[k]).abs().max().item() for k in weights) > 1e-2
    got = result(runs[name])
    assert got["world_size"] == NPROC and got["optimizer"] == type(single[name].optimizer).__name__
    assert got["losses"] == pytest.approx(losses(single[name]), abs=ATOL)
    # each process holds half of every weight's rows (the vocabulary 37 splits 19 + 18)
    rows = [result(runs[name], r)["local_rows"] for r in range(NPROC)]
    for key, value in reference.items():
        assert rows[0][key] + rows[1][key] == value.shape[0] and rows[0][key] == -(-value.shape[0] // NPROC), key


def test_evaluation_runs_under_sharding(runs, single):
    """13 eval samples: 7 on one process, 6 on the other; the forward gathers weights from both
    processes, so the shorter shard repeats a batch whose result is dropped."""
    want = single["sgd"].evaluate()
    for rank in range(NPROC):
        got = result(runs["sgd"], rank)["eval"]
        assert got["eval_loss"] == pytest.approx(want["eval_loss"], abs=ATOL)
        assert got["eval_samples_per_second"] * got["eval_runtime"] == pytest.approx(13, rel=0.02)


def test_checkpoint_holds_each_process_shards(runs):
    checkpoint = runs["sgd"] / "run" / "checkpoint-10"
    files = sorted(p.name for p in checkpoint.iterdir())
    assert files == [".metadata", "__0_0.distcp", "__1_0.distcp", "data_state.pt", "rng_state_0.pt",
                     "rng_state_1.pt", "scheduler.pt", "trainer_state.json"]


def test_resume_n_plus_n_equals_2n(runs):
    """The same computation on the same machine: bit for bit, weights and logged losses."""
    straight = torch.load(runs["sgd"] / "weights.pt", weights_only=True)
    resumed = torch.load(runs["resumed"] / "weights.pt", weights_only=True)
    for key, value in straight.items():
        assert torch.equal(resumed[key], value), key
    assert result(runs["resumed"])["losses"] == result(runs["sgd"])["losses"]


def test_two_process_checkpoint_resumes_in_one_process(runs, tmp_path):
    """The shards of 2 processes, read by one process into an unsharded model (the plain
    Trainer): it continues to the 2-process run's weights, within rounding (one large batch)."""
    run = tmp_path / "run"
    shutil.copytree(runs["sgd"] / "run" / "checkpoint-10", run / "checkpoint-10")
    trainer = train(runs["root"], run, batch=NPROC * BATCH, steps=STEPS, resume=True, optimizer="sgd")
    assert trainer.state.global_step == STEPS
    straight = torch.load(runs["sgd"] / "weights.pt", weights_only=True)
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, straight[key], rtol=0, atol=ATOL, msg=key)
    assert losses(trainer)[-STEPS // 2:] == pytest.approx(result(runs["sgd"])["losses"][-STEPS // 2:], abs=ATOL)


def test_export_loads_without_forgather_and_gives_the_trained_logits(runs, tmp_path):
    export = runs["sgd"] / "export"
    assert (export / "config.json").is_file() and (export / "modeling.py").is_file()
    assert json.loads((export / "config.json").read_text())["architectures"] == ["TinyForCausalLM"]
    script = WITHOUT_PROJECT + textwrap.dedent(f"""
        import json
        import torch
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained({str(export)!r}, trust_remote_code=True)
        import sys
        assert not [m for m in sys.modules if m.split('.')[0] in ('forgather', 'fgc', 'tinymodel')]
        print(json.dumps(model(torch.tensor([[1, 5, 9, 2, 30]])).logits.tolist()))
    """)
    env = worker_env(PYTHONPATH="", HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "hf_modules"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    model = build_model(runs["root"])
    model.load_state_dict(torch.load(runs["sgd"] / "weights.pt", weights_only=True))
    with torch.no_grad():
        want = model(torch.tensor([[1, 5, 9, 2, 30]])).logits
    torch.testing.assert_close(torch.tensor(json.loads(done.stdout.strip().splitlines()[-1])), want,
                               rtol=0, atol=1e-6)
