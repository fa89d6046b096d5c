"""Steps per second of forgather's Trainer and transformers.Trainer on the same run, on the CPU.

Both train the same tiny Llama (identical initial weights) on the same packed stdlib-corpus blocks
with the same collator, batch, accumulation, optimizer (fused AdamW), schedule, logging cadence
and number of steps; no evaluation, no checkpoints. Runs alternate between the two trainers, so
background load affects both alike; the best (fastest) run of each is the headline number, as
timeit does (noise only ever slows a run down), and the median is printed beside it.

    python bench/bench_trainer.py                       # defaults below
    python bench/bench_trainer.py --steps 100 --repeats 9 --ga 2
    python bench/bench_trainer.py --threads 2           # all cores (noisy on a shared machine)

One intra-op thread is the default: on a shared 2-core machine, OpenMP threads that spin-wait for
each other make multi-threaded timings swing by 5x from run to run, single-threaded ones by a few %.
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import tempfile
import time
import warnings

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

import forgather.ml.trainer
from forgather.ml.data import DataCollatorForCausalLM, PackedDataset, stdlib_corpus, train_bpe_tokenizer


def build(args):
    corpus = stdlib_corpus(60, eval_fraction=0.1)
    tokenizer = train_bpe_tokenizer(corpus.train, args.vocab)
    data = PackedDataset(corpus.train, tokenizer, args.block)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=args.hidden, intermediate_size=2 * args.hidden,
        num_hidden_layers=args.layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=args.block,
    ))
    return tokenizer, data, model


def run_once(trainer_cls, args, tokenizer, data, model, output_dir) -> float:
    """Wall-clock seconds of one ``train()``; the trainer is built outside the timed region."""
    training_args = transformers.TrainingArguments(
        output_dir=output_dir, max_steps=args.steps, per_device_train_batch_size=args.batch,
        gradient_accumulation_steps=args.ga, learning_rate=1e-3, logging_steps=args.logging_steps,
        save_strategy="no", eval_strategy="no", train_sampling_strategy="sequential",
        report_to="none", disable_tqdm=True, use_cpu=True,
    )
    trainer = trainer_cls(model=copy.deepcopy(model), args=training_args,
                          data_collator=DataCollatorForCausalLM(tokenizer), train_dataset=data,
                          processing_class=tokenizer)
    for callback in list(trainer.callback_handler.callbacks):  # no console printing in either
        if type(callback).__name__ in ("PrinterCallback", "ProgressCallback"):
            trainer.remove_callback(callback)
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--ga", type=int, default=1)
    parser.add_argument("--block", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--logging-steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    logging.getLogger("forgather").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    tokenizer, data, model = build(args)
    trainers = {"forgather": forgather.ml.trainer.Trainer, "transformers": transformers.Trainer}
    times: dict[str, list[float]] = {name: [] for name in trainers}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cls in trainers.items():  # warm-up: allocator, kernels, lazy imports
            run_once(cls, argparse.Namespace(**{**vars(args), "steps": 3}), tokenizer, data, model, f"{tmp}/w-{name}")
        for repeat in range(args.repeats):
            order = list(trainers.items()) if repeat % 2 == 0 else list(reversed(trainers.items()))
            for name, cls in order:
                times[name].append(run_once(cls, args, tokenizer, data, model, f"{tmp}/{name}-{repeat}"))

    params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads")
    print(f"model: Llama {params / 1e6:.2f}M params (hidden {args.hidden}, {args.layers} layers, vocab {len(tokenizer)}); "
          f"batch {args.batch} x {args.block} tokens, accumulation {args.ga}, {args.steps} steps, {args.repeats} runs each")
    best, median = {}, {}
    for name, samples in times.items():
        best[name] = args.steps / min(samples)
        median[name] = args.steps / statistics.median(samples)
        spread = ", ".join(f"{args.steps / t:.1f}" for t in samples)
        print(f"  {name:<13} best {best[name]:7.2f} steps/s   median {median[name]:7.2f}   (runs: {spread})")
    print(f"ratio forgather / transformers: best {best['forgather'] / best['transformers']:.2f}, "
          f"median {median['forgather'] / median['transformers']:.2f}")


if __name__ == "__main__":
    main()
