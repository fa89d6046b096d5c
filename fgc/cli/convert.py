"""`fgc convert SRC OUT [--to FAMILY]`: convert a checkpoint directory between transformers' Llama,
Mistral, Qwen3 or GPT-2 and Forgather's blocks, comparing the logits of both after converting.

The conversion is the runtime's (`python -m forgather.ml.models.hf_convert`), run in a
subprocess with this interpreter: fgc never imports the runtime.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys

from .common import UsageError

CONVERTER = "forgather.ml.models.hf_convert"
FAMILIES = ("llama", "mistral", "qwen3", "gpt2")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a model directory between transformers (Llama, Mistral, Qwen3, GPT-2) and Forgather's blocks",
        description=(
            "Convert SRC, a model directory, into OUT: a transformers checkpoint (LlamaForCausalLM, "
            "MistralForCausalLM, Qwen3ForCausalLM, GPT2LMHeadModel) into a Forgather model built from the "
            "project's blocks, or a Forgather model (a run directory, an export) whose blocks are one of those "
            "families into the native transformers checkpoint, which needs no custom code. The tokenizer is "
            "copied. Both models then run the same random tokens, and a logit difference above --atol fails "
            "the conversion (exit code 1). Runs `python -m forgather.ml.models.hf_convert`."
        ),
        epilog=(
            "examples:\n"
            "  fgc convert models/my-llama models/my-llama-fg            # transformers -> Forgather\n"
            "  fgc convert runs/quickstart/latest hf/quickstart --to llama  # Forgather -> transformers"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("src", metavar="SRC", help="the model directory to convert")
    p.add_argument("out", metavar="OUT", help="the directory to write (replaced atomically)")
    p.add_argument("--to", choices=("forgather", *FAMILIES), default=None,
                   help="forgather (from a transformers checkpoint) or a transformers family (from a Forgather "
                   "model; default: read from its blocks)")
    p.add_argument("--dtype", default=None, help="dtype of the written weights: float32 (default), bfloat16, "
                   "float16, or auto (the source's)")
    p.add_argument("--atol", type=float, default=None, help="the largest logit difference accepted (1e-4)")
    p.add_argument("--max-position-embeddings", type=int, default=None,
                   help="positions of a Llama-family config written from a rotary model (default: the source's, else 2048)")
    p.set_defaults(handler=run)


def run(args) -> int:
    if importlib.util.find_spec("forgather") is None:
        raise UsageError("fgc convert needs the runtime package `forgather` (pip install forgather)")
    command = [sys.executable, "-m", CONVERTER, args.src, args.out]
    for flag, value in (("--to", args.to), ("--dtype", args.dtype), ("--atol", args.atol),
                        ("--max-position-embeddings", args.max_position_embeddings)):
        if value is not None:
            command += [flag, str(value)]
    return subprocess.call(command)
