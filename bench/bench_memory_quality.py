"""Training quality of the memory options: the quick start (examples/quickstart, 1M parameters)
trained with each option (or a combination) against the same run in float32, by eval loss.

    python bench/bench_memory_quality.py                       # 200 steps, the test's three runs
    python bench/bench_memory_quality.py --steps 100 --runs float32,fp32_oib,bf16_sr,bf16_rtn

Each run is the quick start with `--batch` blocks of 128 tokens per step (the quick start takes
16), evaluated on the first `--eval-blocks` blocks of its eval set. One line per run, then the
ratio of each eval loss to float32's. tests/memory/test_memory_quality.py asserts on the runs
float32 and all_options (100 steps); docs/benchmarks.md (Memory: quality)
records the ablation. A CPU without native bfloat16 runs the bfloat16 rows about 7x slower.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

import fgc

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tests" / "memory" / "configs" / "quickstart_memory.fg"
ALL = dict(model_dtype="bfloat16", optimizer_in_backward=True, activation_offloading=True,
           linear_cross_entropy=True, gradient_checkpointing=True, stochastic_rounding=True,
           state_dtype="bfloat16")
RUNS: dict[str, dict] = {
    "float32": {},
    "float32_noclip": dict(max_grad_norm=0.0),
    "fp32_oib": dict(optimizer_in_backward=True),
    "fp32_oib_noclip": dict(optimizer_in_backward=True, max_grad_norm=0.0),
    "fp32_lce": dict(linear_cross_entropy=True),
    "fp32_state_bf16": dict(state_dtype="bfloat16", stochastic_rounding=True),
    "bf16_sr": dict(model_dtype="bfloat16", stochastic_rounding=True),
    "bf16_rtn": dict(model_dtype="bfloat16"),
    "bf16_sr_lce": dict(model_dtype="bfloat16", stochastic_rounding=True, linear_cross_entropy=True),
    "all_options": ALL,
    "all_options_round_to_nearest": {**ALL, "stochastic_rounding": False},
    "all_options_noclip": {**ALL, "max_grad_norm": 0.0},
}


def train(module, name: str, steps: int, batch: int, eval_blocks: int, out: Path) -> float:
    variables = dict(RUNS[name])
    clip = variables.pop("max_grad_norm", None)
    trainer = module.construct("main", max_steps=steps, batch_size=batch, output_dir=str(out / name), **variables).trainer
    if clip is not None:  # not a variable of trainers/trainer.fg: set on the arguments before train()
        trainer.args.max_grad_norm = clip
        trainer.memory.max_grad_norm = clip
    trainer.train()
    subset = torch.utils.data.Subset(trainer.eval_dataset, range(min(eval_blocks, len(trainer.eval_dataset))))
    return trainer.evaluate(eval_dataset=subset)["eval_loss"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=4, help="blocks of 128 tokens per step")
    parser.add_argument("--eval-blocks", type=int, default=256)
    parser.add_argument("--runs", default="float32,all_options,all_options_round_to_nearest",
                        help="comma-separated, of: " + ", ".join(RUNS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    names = args.runs.split(",")
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        parser.error(f"unknown run(s) {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        build = fgc.compile(CONFIG, out / "build", include_dirs=[ROOT / "examples" / "quickstart"])
        module = fgc.load(build.dir)
        losses = {}
        for name in names:
            start = time.perf_counter()
            losses[name] = train(module, name, args.steps, args.batch, args.eval_blocks, out)
            print(json.dumps({"run": name, "eval_loss": round(losses[name], 4),
                              "seconds": round(time.perf_counter() - start, 1)}), flush=True)
    base = losses.get("float32")
    print(f"eval loss after {args.steps} steps of {args.batch} x 128 tokens:")
    for name, loss in losses.items():
        ratio = f"  {loss / base:.4f} x float32" if base else ""
        print(f"  {name:32s} {loss:.4f}{ratio}")


if __name__ == "__main__":
    main()
