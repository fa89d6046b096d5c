"""Peak host memory (RSS) per process of a multi-process run of a 201M-parameter model built on
the meta device and materialised per stage or per shard, against the same run with the model
built whole in every process (how every rank started before: build it, then keep its part).

Each run: N gloo processes on the CPU (torchrun), a Llama-like model from Forgather's blocks
(hidden 1024, 12 layers, vocabulary 32000: 201M parameters, 0.75 GiB in float32), two training
steps (SGD without momentum, batch 4 x 16 tokens) and the final save. Two weight sources:

    init        whole: the model's constructor in every process (what a config's model target
                does), which initialises every weight; meta: on_meta(cls, config), each process
                initialising only its stage or shard
    pretrained  whole: cls.from_pretrained(dir) in every process (transformers 5 maps the file
                and copies lazily); meta: on_meta(cls, config, weights=dir), each process
                reading only its stage or its rows

Every process reports ``ru_maxrss``, the peak resident set size so far, three times: when
training begins (``placed``: the model built, sharded or split, materialised), when it ends
(``trained``) and after the final save (``end``). The table shows each process, the largest and the sum, and the ratio
meta / whole of both. All variants run in the same invocation.

    python bench/bench_parallel_memory.py                      # pipeline and FSDP, 4 processes
    python bench/bench_parallel_memory.py --plans pipeline --sources init --nproc 2 --layers 8

(A process's peak includes what every process needs anyway: the interpreter, torch and
transformers, about 0.35 GiB here, and the parameters, gradients and activations it trains.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

MODELING = '''
from functools import partial

from .attention import CausalSelfAttention
from .causal_lm import CausalLM
from .feedforward import GLUFeedforward
from .hf_causal import ForgatherCausalLM, ForgatherCausalLMConfig
from .init_weights import init_llama
from .input_encoder import InputEncoder
from .layer_stack import LayerStack
from .layers import PreLNLayer
from .norms import RMSNorm
from .rotary_pe import RotaryPE


def construct_model(*, vocab_size, hidden_size, num_heads, num_layers, intermediate_size):
    return CausalLM(
        input_encoder_factory=partial(InputEncoder, hidden_size, vocab_size),
        positional_encoder_factory=partial(RotaryPE, hidden_size, num_heads),
        attention_factory=partial(CausalSelfAttention, hidden_size, num_heads, num_kv_heads=num_heads // 4),
        feedforward_factory=partial(GLUFeedforward, hidden_size, intermediate_size),
        norm_factory=partial(RMSNorm, hidden_size),
        layer_factory=PreLNLayer,
        layer_stack_factory=partial(LayerStack, num_layers=num_layers),
        init_weights=init_llama,
    )


class BenchConfig(ForgatherCausalLMConfig):
    model_type = "forgather-memory-bench"


class BenchForCausalLM(ForgatherCausalLM):
    config_class = BenchConfig
    construct_model = staticmethod(construct_model)
'''


def model_config(args):
    import importlib

    sys.path.insert(0, str(args.work))
    modeling = importlib.import_module("benchmodel.modeling")
    config = modeling.BenchConfig(vocab_size=args.vocab, hidden_size=args.hidden, num_heads=16,
                                  num_layers=args.layers, intermediate_size=args.hidden * 11 // 4)
    return modeling.BenchForCausalLM, config


def prepare(args) -> None:
    """The model package and a saved (randomly initialised) model: the pretrained weights."""
    import torch

    from forgather.ml.models.package import write_model_package

    write_model_package(args.work / "benchmodel", MODELING)
    cls, config = model_config(args)
    torch.manual_seed(0)
    model = cls(config)
    model.save_pretrained(args.work / "pretrained")
    return sum(p.numel() for p in model.parameters())


class Rows:
    def __init__(self, vocab: int, n: int = 64, length: int = 16) -> None:
        import torch

        g = torch.Generator().manual_seed(0)
        self.rows = [{"input_ids": torch.randint(0, vocab, (length,), generator=g).tolist()} for _ in range(n)]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]


def worker(args) -> None:
    """One process of a run: build (on meta or whole), train two steps, save, report the peak."""
    import torch
    from transformers import TrainerCallback

    from forgather.ml.models.materialize import on_meta
    from forgather.ml.trainer import FullyShard, Pipeline, Trainer, TrainingArguments

    torch.set_num_threads(1)
    cls, config = model_config(args)
    weights = args.work / "pretrained" if args.source == "pretrained" else None
    torch.manual_seed(0)
    if args.variant == "meta":
        model = on_meta(cls, config, weights=weights)
    elif weights is not None:  # every process loads the whole pretrained model
        model = cls.from_pretrained(weights)
    else:  # every process builds (and initialises) the whole model
        model = cls(config)
    plan = (Pipeline(schedule="GPipe", n_microbatches=2) if args.plan == "pipeline" else FullyShard())
    world = int(os.environ["WORLD_SIZE"])
    batch = 4 if args.plan == "pipeline" else max(1, 4 // world)
    class PlacedPeak(TrainerCallback):
        def on_train_begin(self, *a, **k):
            self.bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux

        def on_train_end(self, *a, **k):
            self.trained = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    placed = PlacedPeak()
    trainer = Trainer(
        model, TrainingArguments(output_dir=str(args.work / f"run-{args.plan}"), max_steps=args.steps,
                                 per_device_train_batch_size=batch, per_device_eval_batch_size=batch,
                                 logging_steps=1, save_strategy="no", disable_tqdm=True, use_cpu=True,
                                 overwrite_output_dir=True, report_to="none"),
        train_dataset=Rows(args.vocab), parallel=plan, callbacks=[placed],
        optimizer_factory=lambda named: torch.optim.SGD([p for _, p in named], lr=1e-3),
    )
    trainer.train()
    trainer.save_model(args.work / f"model-{args.plan}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    (args.work / f"peak-{os.environ['RANK']}.json").write_text(json.dumps([placed.bytes, peak, placed.trained]))


def launch(args, plan: str, source: str, variant: str) -> list[int]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={args.nproc}",
           __file__, "--worker", "--plan", plan, "--source", source, "--variant", variant, "--work", str(args.work),
           "--vocab", str(args.vocab), "--hidden", str(args.hidden), "--layers", str(args.layers),
           "--steps", str(args.steps)]
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    for old in args.work.glob("peak-*.json"):
        old.unlink()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"{plan}/{source}/{variant} failed:\n{done.stdout[-4000:]}\n{done.stderr[-8000:]}")
    return [json.loads((args.work / f"peak-{rank}.json").read_text()) for rank in range(args.nproc)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", nargs="+", default=["pipeline", "fsdp"], choices=["pipeline", "fsdp"])
    parser.add_argument("--sources", nargs="+", default=["init", "pretrained"], choices=["init", "pretrained"])
    parser.add_argument("--nproc", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="a scratch directory (default: a temporary one)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    with tempfile.TemporaryDirectory(prefix="fg-bench-memory-") as tmp:
        args.work = args.work or Path(tmp)
        params = prepare(args)
        print(f"model: {params / 1e6:.0f}M parameters, {params * 4 / 2**30:.2f} GiB in float32; "
              f"{args.nproc} processes, {args.steps} steps")
        print(f"{'plan':<10}{'weights':<12}{'built':<7}{'at':<8}{'peak RSS per process (GiB)':<30}"
              f"{'max':>7}{'sum':>7}")
        for plan in args.plans:
            for source in args.sources:
                rows = {variant: launch(args, plan, source, variant) for variant in ("whole", "meta")}
                for at, i in (("placed", 0), ("trained", 2), ("end", 1)):
                    for variant, peaks in rows.items():
                        each = " ".join(f"{p[i] / 2**30:.2f}" for p in peaks)
                        print(f"{plan:<10}{source:<12}{variant:<7}{at:<8}{each:<30}"
                              f"{max(p[i] for p in peaks) / 2**30:>7.2f}{sum(p[i] for p in peaks) / 2**30:>7.2f}")
                    ratio_max = max(p[i] for p in rows["meta"]) / max(p[i] for p in rows["whole"])
                    ratio_sum = sum(p[i] for p in rows["meta"]) / sum(p[i] for p in rows["whole"])
                    print(f"{plan:<10}{source:<12}meta / whole at {at}: {ratio_max:.2f} (largest process), "
                          f"{ratio_sum:.2f} (all processes)", flush=True)


if __name__ == "__main__":
    main()
