"""Peak memory of a few full fine-tuning steps, in bytes per parameter, for each memory option.

A Llama-shaped causal LM of about 170M parameters (hidden 1024, 12 layers, MLP 2816, GQA 16/8
heads, vocabulary 16000, untied head) takes `--steps` training steps on random tokens under:

    transformers.Trainer     its defaults (float32 weights, gradients and AdamW state)
    forgather Trainer        its defaults (the same arithmetic)
    one row per option       the project's Trainer with that option alone
    combined                 every option together (8-bit AdamW)
    combined_adafactor       every option together, with the project's Adafactor (bfloat16 state)

Each configuration runs in its own subprocess, so peaks do not mix. On the CPU the peak is the
process's peak resident set (VmHWM) above its baseline, the RSS after imports and data, reset
with /proc/self/clear_refs before the model is built (so the model's weights count). On a GPU it
is `torch.cuda.max_memory_allocated()`. The children allocate with glibc's mmap threshold fixed
at 128 KiB (MALLOC_MMAP_THRESHOLD_), so freed large tensors leave the resident set at once in
every configuration alike (glibc's adaptive threshold would otherwise keep some on the heap).

The two load rows measure only loading a pretrained float32 checkpoint (written first) into
bfloat16: transformers' `from_pretrained` against `forgather.ml.models.materialize.load_pretrained`
(built on the meta device, each parameter read from the safetensors file into its final tensor).

Rows with bfloat16 weights build the model in bfloat16 (`torch_dtype`, as from_pretrained would),
so no float32 copy ever exists. Activation offloading moves activations from an accelerator to
host memory: on the CPU they already are in host memory, so its row equals the default there
(the Trainer warns). The last line is `bytes/param: combined X, transformers.Trainer Y (ROW)`,
X the lowest of the combined rows measured (the optimizer is one of the options), ROW its name.

    python bench/bench_memory.py                          # all rows (2 x 256 tokens a step)
    python bench/bench_memory.py --batch 1 --seq 8 --steps 2 --jobs 3   # a CPU without native bfloat16
    python bench/bench_memory.py --rows hf,combined       # a subset
    python bench/bench_memory.py --hidden 256 --layers 2 --vocab 4000 --steps 2   # a quick check
    python bench/bench_memory.py --jobs 3                 # three configurations at a time

With `--jobs N` several configurations run at once, each still in its own process (a process's
peak is its own); only the seconds column then reflects the sharing of the cores. On a CPU
without native bfloat16 (AVX2 only) a bfloat16 matmul is about 100x slower than a float32 one,
so the bfloat16 rows at 2 x 256 tokens take hours; 1 x 8 tokens measures the same weight,
gradient and state terms in about 12 minutes (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROWS: dict[str, dict] = {
    # name: how the child trains (trainer, TrainingArguments fields, optimizer, model dtype)
    "hf": {"trainer": "transformers"},
    "forgather": {},
    "bf16_weights": {"dtype": "bfloat16"},
    "optimizer_in_backward": {"fields": {"optimizer_in_backward": True}},
    "adamw_8bit": {"optimizer": "adamw_8bit"},
    "linear_cross_entropy": {"fields": {"linear_cross_entropy": True}},
    "gradient_checkpointing": {"fields": {"gradient_checkpointing": True}},
    "activation_offloading": {"fields": {"activation_offloading": True}},
    # loading a pretrained checkpoint (bfloat16 from float32 safetensors), no training step
    "load_transformers": {"load": "transformers", "dtype": "bfloat16"},
    "load_materialize": {"load": "materialize", "dtype": "bfloat16"},
    "combined": {
        "dtype": "bfloat16",
        "optimizer": "adamw_8bit",
        "fields": {"optimizer_in_backward": True, "linear_cross_entropy": True, "gradient_checkpointing": True,
                   "activation_offloading": True},
    },
    # the same with the project's Adafactor (factored bfloat16 second moment, no first moment)
    "combined_adafactor": {
        "dtype": "bfloat16",
        "optimizer": "adafactor",
        "fields": {"optimizer_in_backward": True, "linear_cross_entropy": True, "gradient_checkpointing": True,
                   "activation_offloading": True},
    },
}
LABELS = {
    "hf": "transformers.Trainer defaults",
    "forgather": "forgather Trainer defaults",
    "bf16_weights": "bfloat16 weights (AdamW, stochastic rounding)",
    "optimizer_in_backward": "optimizer_in_backward",
    "adamw_8bit": "8-bit AdamW state (bitsandbytes)",
    "linear_cross_entropy": "linear_cross_entropy",
    "gradient_checkpointing": "gradient_checkpointing (existing)",
    "activation_offloading": "activation_offloading",
    "load_transformers": "load pretrained: from_pretrained (no training)",
    "load_materialize": "load pretrained: meta + streamed (no training)",
    "combined": "combined (all of the above)",
    "combined_adafactor": "combined, with Adafactor instead of 8-bit AdamW",
}


# --------------------------------------------------------------------------------- the child


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(args: argparse.Namespace) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import torch
    import transformers
    from transformers import LlamaConfig, LlamaForCausalLM

    import forgather.ml.trainer as fg
    from forgather.ml.data import DataCollatorForCausalLM
    from forgather.ml.optim import Adafactor, low_bit_adamw

    row = ROWS[args.child]
    cuda = torch.cuda.is_available()
    transformers.Trainer, transformers.TrainingArguments  # noqa: B018 (lazy imports: before the baseline)

    class Tokens(torch.utils.data.Dataset):
        def __init__(self) -> None:
            g = torch.Generator().manual_seed(0)
            self.items = [torch.randint(4, args.vocab, (args.seq,), generator=g) for _ in range(args.batch * args.steps)]

        def __len__(self) -> int:
            return len(self.items)

        def __getitem__(self, i):
            return {"input_ids": self.items[i]}

    data, collator = Tokens(), DataCollatorForCausalLM(pad_token_id=0)
    config = LlamaConfig(
        vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.intermediate or args.hidden * 11 // 4,
        num_hidden_layers=args.layers, num_attention_heads=16, num_key_value_heads=8,
        max_position_embeddings=args.seq, tie_word_embeddings=False, use_cache=False,
    )
    torch.manual_seed(0)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        baseline = torch.cuda.memory_allocated()
    else:
        baseline = rss_kib("VmRSS") * 1024
        reset = Path("/proc/self/clear_refs")
        reset.write_text("5")  # VmHWM := VmRSS
    dtype = getattr(torch, row.get("dtype", "float32"))
    if row.get("load"):
        start = time.perf_counter()
        if row["load"] == "transformers":
            model = LlamaForCausalLM.from_pretrained(args.pretrained, dtype=dtype)
        else:
            from forgather.ml.models.materialize import load_pretrained

            model = load_pretrained(LlamaForCausalLM, args.pretrained, dtype=dtype)
        peak = rss_kib("VmHWM") * 1024 - baseline if not cuda else torch.cuda.max_memory_allocated() - baseline
        print(json.dumps({"row": args.child, "params": sum(p.numel() for p in model.parameters()), "peak": peak,
                          "seconds": time.perf_counter() - start, "device": "cuda" if cuda else "cpu"}))
        return
    model = LlamaForCausalLM._from_config(config, torch_dtype=dtype)
    n_params = sum(p.numel() for p in model.parameters())
    out = tempfile.mkdtemp(prefix="bench_memory_")
    common = dict(output_dir=out, max_steps=args.steps, per_device_train_batch_size=args.batch, learning_rate=1e-4,
                  logging_steps=args.steps, save_strategy="no", report_to="none", disable_tqdm=True,
                  use_cpu=not cuda)
    start = time.perf_counter()
    if row.get("trainer") == "transformers":
        trainer = transformers.Trainer(model=model, args=transformers.TrainingArguments(**common),
                                       data_collator=collator, train_dataset=data)
    else:
        factory = None
        if row.get("optimizer") == "adamw_8bit":
            factory = lambda named: low_bit_adamw(named, lr=1e-4, weight_decay=0.0)  # noqa: E731
        elif row.get("optimizer") == "adafactor":  # bfloat16 state, stochastically rounded like the weights
            factory = lambda named: Adafactor(named, lr=1e-4, relative_step=False, scale_parameter=False,  # noqa: E731
                                              state_dtype="bfloat16", stochastic_rounding=True)
        trainer = fg.Trainer(model, fg.TrainingArguments(**common, **row.get("fields", {})),
                             data_collator=collator, train_dataset=data, optimizer_factory=factory)
    trainer.train()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() - baseline if cuda else rss_kib("VmHWM") * 1024 - baseline
    print(json.dumps({"row": args.child, "params": n_params, "peak": peak, "seconds": seconds,
                      "device": "cuda" if cuda else "cpu"}))


# -------------------------------------------------------------------------------- the parent


def write_pretrained(args: argparse.Namespace) -> str:
    """A float32 checkpoint of the benchmark's model (random weights) for the load rows."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.intermediate or args.hidden * 11 // 4,
        num_hidden_layers=args.layers, num_attention_heads=16, num_key_value_heads=8,
        max_position_embeddings=args.seq, tie_word_embeddings=False, use_cache=False,
    )
    torch.manual_seed(0)
    directory = tempfile.mkdtemp(prefix="bench_memory_pretrained_")
    LlamaForCausalLM(config).save_pretrained(directory)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated: " + ", ".join(ROWS))
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--intermediate", type=int, default=0, help="MLP width (0: hidden * 11 // 4)")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--vocab", type=int, default=16000)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1, help="configurations run at once (each its own process)")
    parser.add_argument("--pretrained", help="checkpoint for the load rows (default: one written first, float32)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", TOKENIZERS_PARALLELISM="false")
    if any(ROWS[r].get("load") for r in rows) and not args.pretrained:
        args.pretrained = write_pretrained(args)
        sys.argv += ["--pretrained", args.pretrained]
    passed = []  # the child gets the model and run options, not --rows/--jobs
    skip = 0
    for arg in sys.argv[1:]:
        if skip:
            skip -= 1
        elif arg in ("--rows", "--jobs"):
            skip = 1
        elif not arg.startswith(("--rows=", "--jobs=")):
            passed.append(arg)

    def run(row: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, __file__, "--child", row, *passed], env=env, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        # each result as it comes (a long run stopped early keeps what it measured)
        print(f"  ({row} finished: {lines[-1] if lines else f'exit {done.returncode}'})", file=sys.stderr, flush=True)
        return done

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = dict(zip(rows, pool.map(run, rows))) if args.jobs > 1 else None
    results, failures = {}, {}
    for row in rows:
        done = runs[row] if runs else run(row)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            failures[row] = f"failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        else:
            results[row] = json.loads(lines[-1])
    hf = results["hf"]["peak"] / results["hf"]["params"] if "hf" in results else None
    print(f"{'configuration':48s} {'peak MiB':>9s} {'bytes/param':>11s} {'vs HF':>6s} {'seconds':>8s}", flush=True)
    for row in rows:
        if row in failures:
            print(f"{LABELS[row]:48s} {failures[row]}", flush=True)
            continue
        result = results[row]
        per_param = result["peak"] / result["params"]
        ratio = f"{per_param / hf:.2f}" if hf else "-"
        print(f"{LABELS[row]:48s} {result['peak'] / 2**20:9.0f} {per_param:11.2f} {ratio:>6s} {result['seconds']:8.1f}",
              flush=True)
    any_result = next(iter(results.values()), None)
    if any_result:
        print(f"model: {any_result['params'] / 1e6:.1f}M parameters, device {any_result['device']}, "
              f"batch {args.batch} x {args.seq} tokens, {args.steps} steps")
    combined = {k: v["peak"] / v["params"] for k, v in results.items() if k.startswith("combined")}
    if combined and "hf" in results:
        # every option combined, the optimizer being one of the options: the lowest combined row
        best = min(combined, key=combined.get)
        others = ", ".join(f"{k} {v:.2f}" for k, v in combined.items() if k != best)
        print(f"bytes/param: combined {combined[best]:.2f}, transformers.Trainer "
              f"{results['hf']['peak'] / results['hf']['params']:.2f} ({best}" + (f"; {others})" if others else ")"))


if __name__ == "__main__":
    main()
