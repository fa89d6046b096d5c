"""Stand-ins for what a fine-tuning user starts from, made locally (nothing is downloaded):

- models/finetune_chat/base/: a "pretrained" causal LM as `save_pretrained` writes one (a tiny
  Llama of random weights, and a byte-level BPE tokenizer trained on the Python standard library's
  docstrings). Point `model_path` at a real model directory instead.
- data/finetune_chat/{train,eval}.jsonl: chat conversations, one JSON object per line
  (`{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}`), here arithmetic questions
  and their answers.

    python examples/finetune_chat/make_base.py [--out .]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from forgather.ml.data import stdlib_corpus, train_bpe_tokenizer


def conversation(rng: random.Random) -> dict:
    a, b = rng.randint(0, 20), rng.randint(0, 20)
    messages = [{"role": "user", "content": f"What is {a} plus {b}?"},
                {"role": "assistant", "content": f"{a} plus {b} is {a + b}."}]
    if rng.random() < 0.3:
        messages = [{"role": "system", "content": "You are a calculator. Answer in one sentence."}] + messages
    if rng.random() < 0.3:
        messages += [{"role": "user", "content": "And twice that?"},
                     {"role": "assistant", "content": f"Twice that is {2 * (a + b)}."}]
    return {"messages": messages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=".", help="the folder to write models/ and data/ into")
    out = Path(parser.parse_args().out)

    corpus = stdlib_corpus(40, eval_fraction=0.1, seed=0)
    tokenizer = train_bpe_tokenizer(corpus.train, vocab_size=600)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ))
    base = out / "models" / "finetune_chat" / "base"
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)

    rng = random.Random(0)
    data = out / "data" / "finetune_chat"
    data.mkdir(parents=True, exist_ok=True)
    for name, count in (("train", 200), ("eval", 20)):
        rows = [conversation(rng) for _ in range(count)]
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    params = sum(p.numel() for p in model.parameters())
    print(f"{base}: a {params / 1e3:.0f}k-parameter Llama and its tokenizer; {data}: 200 train and 20 eval chats")


if __name__ == "__main__":
    main()
