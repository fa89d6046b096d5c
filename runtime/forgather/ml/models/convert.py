"""Weights between `transformers` models and this package's `CausalLM` layout.

`llama_state_dict(hf_state_dict)` and `gpt2_state_dict(hf_state_dict)` return a state dict for a
`causal_lm.CausalLM` built with the matching blocks (see the Llama-like and GPT-2-like stdlib
templates); prefix the keys with "model." to load into a `ForgatherCausalLM`.
`to_llama_state_dict` and `to_gpt2_state_dict` go back. Whole directories, configs included:
`hf_convert`.
"""

import re

import torch

LLAMA_RULES = [  # (Hugging Face name pattern, our name)
    (r"model\.embed_tokens\.weight", "input_encoder.embedding.weight"),
    (
        r"model\.layers\.(\d+)\.self_attn\.(q|k|v|o)_proj\.(weight|bias)",
        r"layer_stack.layers.\1.attention.\2_proj.\3",
    ),
    (
        r"model\.layers\.(\d+)\.self_attn\.(q|k)_norm\.weight",
        r"layer_stack.layers.\1.attention.\2_norm.weight",
    ),
    (
        r"model\.layers\.(\d+)\.mlp\.(gate|up|down)_proj\.(weight|bias)",
        r"layer_stack.layers.\1.feedforward.\2_proj.\3",
    ),
    (
        r"model\.layers\.(\d+)\.input_layernorm\.weight",
        r"layer_stack.layers.\1.attn_norm.weight",
    ),
    (
        r"model\.layers\.(\d+)\.post_attention_layernorm\.weight",
        r"layer_stack.layers.\1.ff_norm.weight",
    ),
    (r"model\.norm\.weight", "final_norm.weight"),
    (r"lm_head\.weight", "output_head.weight"),
]


def llama_state_dict(hf: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a `LlamaForCausalLM` (or Qwen3 / Mistral) state dict; unknown keys are an error."""
    out = {}
    for key, value in hf.items():
        for pattern, repl in LLAMA_RULES:
            if re.fullmatch(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                break
        else:
            raise KeyError(f"no rule maps the Llama weight {key!r}")
    return out


def gpt2_state_dict(hf: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename and reshape a `GPT2LMHeadModel` state dict. GPT-2's Conv1D stores weights as
    (in, out), the transpose of nn.Linear; its c_attn packs q, k and v along the output axis.
    """
    out = {}
    for key, value in hf.items():
        name = key.removeprefix("transformer.")
        if m := re.fullmatch(r"h\.(\d+)\.(.+)", name):
            layer, rest = f"layer_stack.layers.{m[1]}", m[2]
            if rest.startswith("attn.c_attn."):
                kind = rest.rsplit(".", 1)[-1]
                parts = value.chunk(3, dim=-1)  # q, k, v
                for proj, part in zip("qkv", parts):
                    out[f"{layer}.attention.{proj}_proj.{kind}"] = (
                        part.t().contiguous() if kind == "weight" else part
                    )
                continue
            conv = {
                "attn.c_proj": "attention.o_proj",
                "mlp.c_fc": "feedforward.up_proj",
                "mlp.c_proj": "feedforward.down_proj",
            }
            norms = {"ln_1": "attn_norm", "ln_2": "ff_norm"}
            module, kind = rest.rsplit(".", 1)
            if module in conv:
                out[f"{layer}.{conv[module]}.{kind}"] = (
                    value.t().contiguous() if kind == "weight" else value
                )
            elif module in norms:
                out[f"{layer}.{norms[module]}.{kind}"] = value
            elif module == "attn":
                continue  # attn.bias / attn.masked_bias: old checkpoints keep the causal mask as a buffer
            else:
                raise KeyError(f"no rule maps the GPT-2 weight {key!r}")
        elif name == "wte.weight":
            out["input_encoder.embedding.weight"] = value
        elif name == "wpe.weight":
            out["positional_encoder.embedding.weight"] = value
        elif name.startswith("ln_f."):
            out["final_norm." + name.removeprefix("ln_f.")] = value
        elif key == "lm_head.weight":
            out["output_head.weight"] = value
        else:
            raise KeyError(f"no rule maps the GPT-2 weight {key!r}")
    return out



# ------------------------------------------------------------------------------ the way back

TO_LLAMA_RULES = [  # (our name pattern, Hugging Face name): the inverse of LLAMA_RULES
    (r"input_encoder\.embedding\.weight", "model.embed_tokens.weight"),
    (
        r"layer_stack\.layers\.(\d+)\.attention\.(q|k|v|o)_proj\.(weight|bias)",
        r"model.layers.\1.self_attn.\2_proj.\3",
    ),
    (
        r"layer_stack\.layers\.(\d+)\.attention\.(q|k)_norm\.weight",
        r"model.layers.\1.self_attn.\2_norm.weight",
    ),
    (
        r"layer_stack\.layers\.(\d+)\.feedforward\.(gate|up|down)_proj\.(weight|bias)",
        r"model.layers.\1.mlp.\2_proj.\3",
    ),
    (r"layer_stack\.layers\.(\d+)\.attn_norm\.weight", r"model.layers.\1.input_layernorm.weight"),
    (r"layer_stack\.layers\.(\d+)\.ff_norm\.weight", r"model.layers.\1.post_attention_layernorm.weight"),
    (r"final_norm\.weight", "model.norm.weight"),
    (r"output_head\.weight", "lm_head.weight"),
]


def to_llama_state_dict(ours: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A `CausalLM` state dict of Llama blocks renamed for `LlamaForCausalLM` (or Mistral, Qwen3):
    the inverse of `llama_state_dict`. Unknown keys are an error."""
    out = {}
    for key, value in ours.items():
        for pattern, repl in TO_LLAMA_RULES:
            if re.fullmatch(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                break
        else:
            raise KeyError(f"no rule maps the weight {key!r} to Llama's")
    return out


def to_gpt2_state_dict(ours: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A `CausalLM` state dict of GPT-2 blocks renamed and reshaped for `GPT2LMHeadModel`: the
    inverse of `gpt2_state_dict` (q, k and v packed into `c_attn`, Conv1D's (in, out) layout)."""
    out: dict[str, torch.Tensor] = {}
    qkv: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    conv = {"attention.o_proj": "attn.c_proj", "feedforward.up_proj": "mlp.c_fc", "feedforward.down_proj": "mlp.c_proj"}
    norms = {"attn_norm": "ln_1", "ff_norm": "ln_2"}
    for key, value in ours.items():
        if m := re.fullmatch(r"layer_stack\.layers\.(\d+)\.(.+)\.(weight|bias)", key):
            layer, module, kind = m[1], m[2], m[3]
            if pm := re.fullmatch(r"attention\.(q|k|v)_proj", module):
                qkv.setdefault((layer, kind), {})[pm[1]] = value
            elif module in conv:
                out[f"transformer.h.{layer}.{conv[module]}.{kind}"] = value.t().contiguous() if kind == "weight" else value
            elif module in norms:
                out[f"transformer.h.{layer}.{norms[module]}.{kind}"] = value
            else:
                raise KeyError(f"no rule maps the weight {key!r} to GPT-2's")
        elif key == "input_encoder.embedding.weight":
            out["transformer.wte.weight"] = value
        elif key == "positional_encoder.embedding.weight":
            out["transformer.wpe.weight"] = value
        elif key.startswith("final_norm."):
            out["transformer.ln_f." + key.removeprefix("final_norm.")] = value
        elif key == "output_head.weight":
            out["lm_head.weight"] = value
        else:
            raise KeyError(f"no rule maps the weight {key!r} to GPT-2's")
    for (layer, kind), parts in qkv.items():
        packed = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)  # (3D, D) or (3D,)
        out[f"transformer.h.{layer}.attn.c_attn.{kind}"] = packed.t().contiguous() if kind == "weight" else packed
    return out
