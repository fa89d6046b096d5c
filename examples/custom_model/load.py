"""Load a trained model of this example with plain transformers and continue a prompt greedily.

    python examples/custom_model/load.py RUN_DIR [--prompt TEXT] [--tokens N]

RUN_DIR is a run directory of experiment.fg (or any exported Forgather model): it holds
config.json (with `auto_map`), model.safetensors, the generated modeling code with the block
modules it uses, and the tokenizer. Only transformers and torch are imported: the architecture
comes from the directory itself (`trust_remote_code=True`).
"""

from __future__ import annotations

import argparse
import sys

from transformers import AutoModelForCausalLM, AutoTokenizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--prompt", default="def ", help="the text to continue (default: 'def ')")
    parser.add_argument("--tokens", type=int, default=24, help="tokens to generate (default: 24)")
    args = parser.parse_args(argv)
    model = AutoModelForCausalLM.from_pretrained(args.run_dir, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.run_dir, trust_remote_code=True)
    layer = model.model.layer_stack.layers[0] if hasattr(model, "model") else None
    print(f"{type(model).__name__} from {type(model).__module__}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, layer {type(layer).__name__}")
    encoded = tokenizer(args.prompt, return_tensors="pt")
    output = model.generate(**encoded, max_new_tokens=args.tokens, do_sample=False,
                            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    print(args.prompt + tokenizer.decode(output[0, encoded["input_ids"].shape[1]:], skip_special_tokens=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
