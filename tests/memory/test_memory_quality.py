"""Quality is kept: 200 steps of the quick-start model (examples/quickstart: 1M parameters; here
4 blocks of 128 tokens per step instead of 16, for time: a CPU without native bfloat16 runs
bfloat16 matmuls about 7x slower than float32) with every memory option on end within 2% of the
float32 run's eval loss, and bfloat16 weights with stochastic rounding end lower than the same
run with round-to-nearest. One build, three runs of 200 steps, shared by the asserts (module
fixture)."""

from pathlib import Path

import pytest
import torch

import fgc

ROOT = Path(__file__).resolve().parents[2]
STEPS = 200
BATCH = 4  # blocks of 128 tokens per step (the quick start takes 16)
TOLERANCE = 0.02  # relative, on the final eval loss

ALL_OPTIONS = dict(model_dtype="bfloat16", optimizer_in_backward=True, activation_offloading=True,
                   linear_cross_entropy=True, gradient_checkpointing=True, stochastic_rounding=True,
                   state_dtype="bfloat16")
RUNS = {
    "float32": {},
    "all_options": ALL_OPTIONS,
    "all_options_round_to_nearest": {**ALL_OPTIONS, "stochastic_rounding": False},
}


@pytest.fixture(scope="module")
def eval_losses(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 1M model: a second thread only spin-waits on a busy machine
    try:
        return _train_all(tmp_path_factory.mktemp("quality"))
    finally:
        torch.set_num_threads(threads)


def _train_all(out):
    build = fgc.compile(Path(__file__).parent / "configs" / "quickstart_memory.fg", out / "build",
                        include_dirs=[ROOT / "examples" / "quickstart"])
    module = fgc.load(build.dir)
    losses = {}
    for name, variables in RUNS.items():
        main = module.construct("main", max_steps=STEPS, batch_size=BATCH, output_dir=str(out / name), **variables)
        trainer = main.trainer
        trainer.train()
        losses[name] = trainer.evaluate()["eval_loss"]
    print("eval losses after", STEPS, "steps:", losses)
    return losses


def test_all_options_end_within_2_percent_of_float32(eval_losses):
    assert abs(eval_losses["all_options"] - eval_losses["float32"]) <= TOLERANCE * eval_losses["float32"], eval_losses


def test_stochastic_rounding_beats_round_to_nearest(eval_losses):
    assert eval_losses["all_options"] < eval_losses["all_options_round_to_nearest"], eval_losses
