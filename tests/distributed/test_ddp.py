"""AccelTrainer data parallel on 2 CPU processes (gloo) against one process with the same global batch.

Process r loads samples r, r+2, ... of each epoch's order, so the two processes' batch k together
is the single process's batch k of twice the size; with token-weighted accumulation over both
processes' tokens and DDP's averaged gradients the weights must agree to rounding.
"""

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from ddp_lib import losses, train  # noqa: E402
from launcher import torchrun  # noqa: E402

from forgather.ml.trainer import Trainer  # noqa: E402

WORKER = str(Path(__file__).parent / "ddp_worker.py")
NPROC, BATCH, STEPS = 2, 2, 4
ATOL = 1e-6  # weights: rounding of a different summation order (all-reduce vs one large batch)


def read(out: Path, rank: int):
    return torch.load(out / f"weights_{rank}.pt", weights_only=True), json.loads((out / f"result_{rank}.json").read_text())


def assert_weights_close(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for name, value in want.items():
        torch.testing.assert_close(got[name], value, rtol=0, atol=ATOL, msg=name)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """The torchrun jobs the tests share: 4 steps without accumulation; 8 steps with
    accumulation 2 ("straight"); the same 8 steps stopped after 4 with a checkpoint, then
    resumed ("resumed")."""
    root = tmp_path_factory.mktemp("ddp")
    out = {name: root / name for name in ("ga1", "straight", "resumed")}
    for d in out.values():
        d.mkdir()
    torchrun(WORKER, out["ga1"], "--batch", BATCH, "--ga", 1, "--steps", STEPS, nproc=NPROC, outputs=[out["ga1"]])
    steps = 2 * STEPS
    torchrun(WORKER, out["straight"], "--batch", BATCH, "--ga", 2, "--steps", steps, nproc=NPROC,
             outputs=[out["straight"]])
    torchrun(WORKER, out["resumed"], "--batch", BATCH, "--ga", 2, "--steps", steps, "--stop-at", STEPS,
             "--save-steps", STEPS, nproc=NPROC, outputs=[out["resumed"]])
    out["checkpoint_files"] = sorted(p.name for p in (out["resumed"] / f"checkpoint-{STEPS}").iterdir())
    out["temporaries"] = list(out["resumed"].glob(".tmp-*"))
    torchrun(WORKER, out["resumed"], "--batch", BATCH, "--ga", 2, "--steps", steps, "--resume", nproc=NPROC,
             outputs=[out["resumed"]])
    out["root"] = root
    return out


@pytest.mark.parametrize("ga, job, steps", [(1, "ga1", STEPS), (2, "straight", 2 * STEPS)])
def test_ddp_matches_one_process(jobs, ga, job, steps):
    out = jobs[job]
    single = train(Trainer, jobs["root"] / f"single_{job}", batch=NPROC * BATCH, ga=ga, steps=steps)
    (w0, r0), (w1, r1) = read(out, 0), read(out, 1)

    assert r0["world_size"] == NPROC and r0["should_save"] and not r1["should_save"]
    for name in w0:  # DDP keeps the replicas identical, bit for bit
        assert torch.equal(w0[name], w1[name]), name
    assert_weights_close(w0, single.model.state_dict())
    assert r0["losses"] == pytest.approx(losses(single), rel=1e-5)
    assert r0["eval"]["eval_loss"] == pytest.approx(single.evaluate()["eval_loss"], rel=1e-5)
    assert r1["eval"]["eval_loss"] == r0["eval"]["eval_loss"]  # gathered: every process has the total
    # no_sync on every micro-batch but the last of a step: one all-reduce per step
    assert r0["sync"] == ([False] * (ga - 1) + [True]) * steps


def test_ddp_resume_equals_uninterrupted(jobs):
    assert jobs["checkpoint_files"] == ["data_state.pt", "model.safetensors", "optimizer.pt", "rng_state_0.pt",
                                        "rng_state_1.pt", "scheduler.pt", "trainer_state.json"]
    assert not jobs["temporaries"]
    (ws, rs), (wr, rr) = read(jobs["straight"], 0), read(jobs["resumed"], 0)
    for name in ws:  # the same computation on the same machine: identical
        assert torch.equal(wr[name], ws[name]), name
    assert rr["losses"] == rs["losses"]  # the restored log history, then the same new steps
    assert torch.equal(read(jobs["resumed"], 1)[0]["model.embed_tokens.weight"], wr["model.embed_tokens.weight"])


def test_iterable_dataset_is_split_evenly_and_checkpoints_each_epoch(tmp_path):
    """A stream of 13 samples on 2 processes with save_strategy=epoch. Each process used to take
    every other item (7 and 6): rank 0's epoch ran a step longer, so its global batches
    diverged from one process's, and at the epoch's checkpoint rank 1 waited in the save
    barrier while rank 0 waited in its gradient all-reduce (a deadlock; the short hang guard
    fails it). Now each takes 6 (the 13th is dropped, as the map-style sampler truncates), and
    the run equals one process on the first 12."""
    out = tmp_path / "ddp"
    out.mkdir()
    torchrun(WORKER, out, "--batch", BATCH, "--steps", 6, "--stream", 13, "--save-epochs", nproc=NPROC,
             outputs=[out], hang_guard_s=180)
    single = train(Trainer, tmp_path / "single", batch=NPROC * BATCH, ga=1, steps=6, stream=12)
    weights, record = read(out, 0)
    assert_weights_close(weights, single.model.state_dict())
    assert record["losses"] == pytest.approx(losses(single), rel=1e-5)
    # 3 steps per epoch (6 samples of 2 per process): a checkpoint at the end of each epoch
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
