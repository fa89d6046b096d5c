"""Quality is kept: the quick-start model (examples/quickstart: 1M parameters) with every memory
option on ends within 5% of the float32 run's eval loss (on the first 256 blocks of the eval
set). 100 steps of 4 blocks of 128 tokens, not the issue's 200 of 16, for CI time (a run with the
step fused into backward and clipping costs two passes per step); bench/bench_memory_quality.py
runs the issue's 200-step check at 2% and the ablation (docs/benchmarks.md, Memory: quality).
Why 5% here: at 4 blocks per step two bfloat16 trajectories spread by a few percent at step 100
(with the clipping fixed: 0.991 of float32 in the ablation run of docs/benchmarks.md, evaluated on
the first 128 blocks, and 1.029 in this test on the development machine), so 2% at this size
would fail on noise; 5% still fails on a broken option (the old per-gradient clipping
ended 9.7% above), and the fused step's clipping is checked exactly (rtol 1e-5) by
test_trainer_memory.py. Every run clips
at the quick start's max_grad_norm=1, so the fused step's clipping is part of what is checked: it
used to clip each gradient by its own norm, which almost never clips, and the all-options run
ended 3.6% (lagged clipping, 100 steps) to 9.7% (CI, 200 steps) above float32.

Stochastic against round-to-nearest is not asserted here: at this learning rate most updates
are far above half an ulp, and the two differ by less than the run-to-run noise of stochastic
rounding (benchmarks.md: round-to-nearest 0.45% behind in one pair of runs, 0.95% ahead in
another). tests/memory/test_low_precision.py and test_stochastic_rounding_training.py check the
regime where it matters (updates below half an ulp: round-to-nearest stalls). One build, two
runs, module fixture."""

from pathlib import Path

import pytest
import torch

import fgc

ROOT = Path(__file__).resolve().parents[2]
STEPS = 100
BATCH = 4  # blocks of 128 tokens per step (the quick start takes 16)
TOLERANCE = 0.05  # relative, on the final eval loss (see the docstring for why not 2%)
EVAL_BLOCKS = 256  # the first blocks of the eval set (a third of it: the same blocks for every run)

ALL_OPTIONS = dict(model_dtype="bfloat16", optimizer_in_backward=True, activation_offloading=True,
                   linear_cross_entropy=True, gradient_checkpointing=True, stochastic_rounding=True,
                   state_dtype="bfloat16")
RUNS = {
    "float32": {},
    "all_options": ALL_OPTIONS,
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
        subset = torch.utils.data.Subset(trainer.eval_dataset, range(EVAL_BLOCKS))
        losses[name] = trainer.evaluate(eval_dataset=subset)["eval_loss"]
    print("eval losses after", STEPS, "steps:", losses)
    return losses


def test_all_options_end_close_to_float32(eval_losses):
    assert abs(eval_losses["all_options"] - eval_losses["float32"]) <= TOLERANCE * eval_losses["float32"], eval_losses
