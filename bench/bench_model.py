"""Our Llama-like model vs transformers' LlamaForCausalLM, same configuration, on the CPU.

Measures forward+backward throughput (tokens/s, loss included, no optimizer step) and peak
memory, and prints ours/reference ratios (>= 1.0 means ours is at least as good).

Throughput: both models are built in this process with identical weights and timed in
alternating rounds (one step of each per round) after warm-up steps, so both see the same machine
state; tokens/s = batch * seq_len * steps / time.

Peak memory, CPU: each model runs in a fresh child process (`--measure-memory ours|hf`); it builds
the model, records its resident set size (RSS), runs `--memory-steps` forward+backward steps, and
reports the kernel's RSS high-water mark (`ru_maxrss`) minus the RSS before the first step: the
memory the training step itself needs (activations, gradients, temporaries). CUDA: the peak of
`torch.cuda.max_memory_allocated` during the steps minus the allocation before them.

    python bench/bench_model.py                   # defaults below, CPU, float32
    python bench/bench_model.py --layers 2 --seq-len 128 --steps 5   # quicker
    python bench/bench_model.py --device cuda --dtype bfloat16 --batch 16 --seq-len 1024
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from functools import partial

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

from forgather.ml.models.attention import CausalSelfAttention
from forgather.ml.models.causal_lm import CausalLM
from forgather.ml.models.convert import llama_state_dict
from forgather.ml.models.dynamic import dynamic_causal_lm
from forgather.ml.models.feedforward import GLUFeedforward
from forgather.ml.models.init_weights import init_llama
from forgather.ml.models.input_encoder import InputEncoder
from forgather.ml.models.layer_stack import LayerStack
from forgather.ml.models.layers import PreLNLayer
from forgather.ml.models.norms import RMSNorm
from forgather.ml.models.rotary_pe import RotaryPE


def llama_like(
    *,
    vocab_size,
    hidden_size,
    num_attention_heads,
    num_key_value_heads,
    num_hidden_layers,
    intermediate_size,
    rms_norm_eps,
    rope_theta,
):
    """The stdlib models/llama.fg architecture, written out in Python."""
    d, h = hidden_size, num_attention_heads
    return CausalLM(
        input_encoder_factory=partial(InputEncoder, d, vocab_size),
        positional_encoder_factory=partial(RotaryPE, d, h, theta=rope_theta),
        attention_factory=partial(
            CausalSelfAttention, d, h, num_kv_heads=num_key_value_heads
        ),
        feedforward_factory=partial(
            GLUFeedforward, d, intermediate_size, activation="silu"
        ),
        norm_factory=partial(RMSNorm, d, eps=rms_norm_eps),
        layer_factory=PreLNLayer,
        layer_stack_factory=partial(LayerStack, num_layers=num_hidden_layers),
        init_weights=init_llama,
    )


def hparams(args) -> dict:
    return dict(
        vocab_size=args.vocab,
        hidden_size=args.hidden,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        num_hidden_layers=args.layers,
        intermediate_size=args.ffn,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
    )


def build(which: str, args):
    torch.manual_seed(0)
    hp = hparams(args)
    ref = LlamaForCausalLM(
        LlamaConfig(**hp, tie_word_embeddings=False, attn_implementation="sdpa")
    )
    if which == "hf":
        model = ref
    else:
        model = dynamic_causal_lm(llama_like, **hp)
        model.load_state_dict(
            {f"model.{k}": v for k, v in llama_state_dict(ref.state_dict()).items()}
        )
    return model.to(device=args.device, dtype=getattr(torch, args.dtype)).train()


def sync(args) -> None:
    if args.device == "cuda":
        torch.cuda.synchronize()


def step(model, ids) -> None:
    model.zero_grad(set_to_none=True)
    model(ids, labels=ids).loss.backward()


def batch(args) -> torch.Tensor:
    ids = torch.randint(
        0,
        args.vocab,
        (args.batch, args.seq_len),
        generator=torch.Generator().manual_seed(1),
    )
    return ids.to(args.device)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cuda_memory(model, ids, args) -> int:
    model.zero_grad(set_to_none=True)
    sync(args)
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    for _ in range(args.memory_steps):
        step(model, ids)
    sync(args)
    return torch.cuda.max_memory_allocated() - before


def measure_memory(which: str, args) -> None:
    model, ids = build(which, args), batch(args)
    before = rss_bytes()
    for _ in range(args.memory_steps):
        step(model, ids)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"peak_bytes": peak - before}))


def child_memory(which: str, argv: list[str]) -> int:
    out = subprocess.run(
        [sys.executable, __file__, *argv, "--measure-memory", which],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_bytes"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--kv-heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--ffn", type=int, default=704)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--memory-steps", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0: torch's default)"
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument(
        "--measure-memory", choices=["ours", "hf"], help=argparse.SUPPRESS
    )
    args, argv = parser.parse_args(), sys.argv[1:]
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.measure_memory:
        return measure_memory(args.measure_memory, args)

    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # compare in true float32
    models = {"ours": build("ours", args), "hf": build("hf", args)}
    ids = batch(args)
    with torch.no_grad():
        diff = (
            (models["ours"](ids).logits - models["hf"](ids).logits).abs().max().item()
        )
    for _ in range(args.warmup):
        for model in models.values():
            step(model, ids)
    times = {name: [] for name in models}
    for _ in range(args.steps):
        for name, model in models.items():
            sync(args)
            start = time.perf_counter()
            step(model, ids)
            sync(args)
            times[name].append(time.perf_counter() - start)
    tokens = args.batch * args.seq_len
    tps = {name: tokens / statistics.median(t) for name, t in times.items()}
    if args.device == "cuda":
        memory = {name: cuda_memory(model, ids, args) for name, model in models.items()}
    else:
        memory = {name: child_memory(name, argv) for name in models}

    params = sum(p.numel() for p in models["hf"].parameters())
    print(
        f"Llama-like, {params / 1e6:.1f}M parameters, {args.layers} layers, d={args.hidden}, "
        f"heads {args.heads}/{args.kv_heads}, ffn {args.ffn}, vocab {args.vocab}; batch {args.batch} x {args.seq_len}"
    )
    where = (
        torch.cuda.get_device_name()
        if args.device == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, {where}, {args.dtype}; "
        f"max |logit difference| {diff:.2e}"
    )
    print(f"{'':28}{'ours':>12}{'transformers':>14}{'ratio':>8}")
    print(
        f"{'fwd+bwd tokens/s (median)':28}{tps['ours']:>12.0f}{tps['hf']:>14.0f}{tps['ours'] / tps['hf']:>8.2f}"
    )
    print(
        f"{'peak step memory (MiB)':28}{memory['ours'] / 2**20:>12.1f}{memory['hf'] / 2**20:>14.1f}"
        f"{memory['hf'] / memory['ours']:>8.2f}"
    )
    print(
        "ratios: ours/transformers for tokens/s, transformers/ours for memory (>= 1.0: ours at least as good)"
    )


if __name__ == "__main__":
    main()
