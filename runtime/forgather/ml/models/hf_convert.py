"""Convert checkpoint directories both ways between Hugging Face's Llama, Mistral, Qwen3 and GPT-2
and the project's blocks, and compare the logits of the two after converting.

    python -m forgather.ml.models.hf_convert SRC OUT [--to forgather|llama|mistral|qwen3|gpt2]

(`fgc convert` runs this.) From a transformers checkpoint (`LlamaForCausalLM`,
`MistralForCausalLM`, `Qwen3ForCausalLM`, `GPT2LMHeadModel`) it writes a Forgather model
directory: the model package of `llama_like` or `gpt2_like` and the weights renamed by
`convert`, loadable with `AutoModelForCausalLM.from_pretrained(OUT, trust_remote_code=True)`.
From a Forgather model directory (a run directory, an export) whose blocks are those of one of
the four families (read from the model's modules, whatever template built it) it writes the
native transformers checkpoint, which needs no custom code. The tokenizer is copied. Both models
then run the same random tokens; a maximum absolute logit difference above `--atol` fails the
conversion (exit code 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import convert

FAMILIES = ("llama", "mistral", "qwen3", "gpt2")
LLAMA_FAMILY = ("llama", "mistral", "qwen3")


class ConversionError(ValueError):
    """A checkpoint that cannot be converted; the message names what does not fit."""


@dataclass
class Converted:
    model: torch.nn.Module  # the converted model, in memory (float32)
    family: str
    max_logit_difference: float
    tokens: tuple[int, int]


# ------------------------------------------------------------------------ transformers -> ours


def _rope(config: dict) -> tuple[float, dict | None]:
    """(theta, llama3 scaling or None) from a transformers 4 (`rope_theta`, `rope_scaling`) or
    5 (`rope_parameters`) config."""
    params = config.get("rope_parameters") or config.get("rope_scaling") or {}
    theta = params.get("rope_theta", config.get("rope_theta", 10000.0))
    kind = params.get("rope_type", params.get("type", "default"))
    if kind == "default":
        return float(theta), None
    if kind == "llama3":
        scaling = {k: v for k, v in params.items() if k != "rope_theta"}
        return float(theta), scaling
    raise ConversionError(f"rope type {kind!r} has no counterpart here (RotaryPE: default or llama3)")


def hyperparameters_from_hf(config: dict) -> tuple[str, dict]:
    """(family, `llama_like` / `gpt2_like` hyper-parameters) of a transformers config.json."""
    family = config.get("model_type")
    if family not in FAMILIES:
        raise ConversionError(
            f"model_type {family!r}: converts {', '.join(FAMILIES)} (config.json's model_type)"
        )
    if family == "gpt2":
        activation = config.get("activation_function", "gelu_new")
        if activation not in ("gelu_new", "gelu_pytorch_tanh"):
            raise ConversionError(f"GPT-2 activation {activation!r}: the MLP block computes GELU (tanh) only")
        for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
            if config.get(flag):
                raise ConversionError(f"GPT-2's {flag}=true has no counterpart in the attention block")
        if config.get("scale_attn_weights") is False:
            raise ConversionError("GPT-2's scale_attn_weights=false has no counterpart in the attention block")
        return family, {
            "vocab_size": config["vocab_size"],
            "n_embd": config["n_embd"],
            "n_layer": config["n_layer"],
            "n_head": config["n_head"],
            "n_positions": config["n_positions"],
            "n_inner": config.get("n_inner"),
            "layer_norm_epsilon": config.get("layer_norm_epsilon", 1e-5),
            "tie_word_embeddings": config.get("tie_word_embeddings", True),
        }
    window = config.get("sliding_window")
    if window is not None and (family == "mistral" or config.get("use_sliding_window")):
        if window < config.get("max_position_embeddings", window + 1):
            raise ConversionError(
                f"sliding-window attention (window {window} of {config.get('max_position_embeddings')} "
                "positions) has no counterpart in the attention block"
            )
    if config.get("hidden_act", "silu") != "silu":
        raise ConversionError(f"hidden_act {config['hidden_act']!r}: the SwiGLU block computes SiLU only")
    theta, scaling = _rope(config)
    return family, {
        "vocab_size": config["vocab_size"],
        "hidden_size": config["hidden_size"],
        "intermediate_size": config["intermediate_size"],
        "num_hidden_layers": config["num_hidden_layers"],
        "num_attention_heads": config["num_attention_heads"],
        "num_key_value_heads": config.get("num_key_value_heads"),
        "head_dim": config.get("head_dim"),
        "rms_norm_eps": config.get("rms_norm_eps", 1e-6),
        "rope_theta": theta,
        "rope_scaling_params": scaling,  # not `rope_scaling`: transformers' configs rewrite that name
        "attention_bias": config.get("attention_bias", False),
        "mlp_bias": config.get("mlp_bias", False),
        "qk_norm": family == "qwen3",
        "tie_word_embeddings": config.get("tie_word_embeddings", False),
        # kept for the way back: the position range is metadata for rotary models
        **({"max_position_embeddings": config["max_position_embeddings"]} if config.get("max_position_embeddings") else {}),
    }


def to_forgather(src: Path, out: Path, *, atol: float = 1e-4, dtype: str = "float32") -> Converted:
    """A transformers checkpoint directory -> a Forgather model directory (see the module doc)."""
    from transformers import AutoModelForCausalLM

    from .export import save_model

    config = _read_config(src)
    family, hparams = hyperparameters_from_hf(config)
    if family == "gpt2":
        from .gpt2_like import GPT2LikeConfig as Config, GPT2LikeForCausalLM as Model

        rename = convert.gpt2_state_dict
    else:
        from .llama_like import LlamaLikeConfig as Config, LlamaLikeForCausalLM as Model

        rename = convert.llama_state_dict
    source = AutoModelForCausalLM.from_pretrained(str(src), dtype=torch.float32, local_files_only=True).eval()
    ids = {k: config[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id") if config.get(k) is not None}
    model = Model(Config(**hparams, **ids)).eval()
    weights = {f"model.{k}": v for k, v in rename(source.state_dict()).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = {"model.output_head.weight"} if model.config.tie_word_embeddings else set()
    if set(missing) - tied or unexpected:
        raise ConversionError(f"weights that do not fit: missing {sorted(set(missing) - tied)}, unexpected {unexpected}")
    model.generation_config = source.generation_config
    difference, shape = compare_logits(source, model, hparams["vocab_size"])
    _check(difference, atol)
    save_model(_cast(model, dtype, config), out, _tokenizer(src, remote_code=False))
    return Converted(model, family, difference, shape)


# ------------------------------------------------------------------------ ours -> transformers


def _name(obj: Any) -> str:
    return type(obj).__name__


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ConversionError(what)


def architecture(core: torch.nn.Module) -> tuple[str, dict]:
    """The family and transformers config fields of a `CausalLM` core, read from its modules
    (whichever template built it); ConversionError naming the first part that does not fit."""
    encoder, pe = core.input_encoder, core.positional_encoder
    layers = list(core.layer_stack.layers)
    first = layers[0]
    attn, ff = first.attention, first.feedforward
    _require(_name(encoder) == "InputEncoder" and encoder.scale == 1.0,
             f"the input encoder ({_name(encoder)}, scale {getattr(encoder, 'scale', '?')}) must be an unscaled InputEncoder")
    _require(all(_name(layer) == "PreLNLayer" for layer in layers), f"the layers are {_name(first)}, not PreLNLayer")
    _require(_name(attn) == "CausalSelfAttention", f"the attention is {_name(attn)}, not CausalSelfAttention")
    _require(_name(core.output_head) == "OutputHead" and core.output_head.bias is None,
             "the output head must be an OutputHead without bias")
    vocab, width = encoder.embedding.weight.shape
    bias = attn.q_proj.bias is not None
    common = {"vocab_size": vocab, "num_hidden_layers": len(layers), "tie_word_embeddings": bool(core.tie_word_embeddings)}
    if _name(pe) == "LearnedPE":
        _require(attn.num_kv_heads == attn.num_heads and attn.q_norm is None and bias,
                 "GPT-2 attention: as many key/value heads as query heads, biases, no QK-norm")
        _require(_name(ff) == "MLP" and _name(ff.act) == "GELU" and getattr(ff.act, "approximate", "") == "tanh"
                 and ff.up_proj.bias is not None, "GPT-2 feed-forward: an MLP with biases and GELU (tanh)")
        _require(_name(first.attn_norm) == "LayerNorm" and first.attn_norm.bias is not None
                 and _name(core.final_norm) == "LayerNorm", "GPT-2 norms: LayerNorm with bias, and a final one")
        _require(attn.head_dim * attn.num_heads == width, "GPT-2 attention: head_dim * num_heads == hidden size")
        return "gpt2", {
            **common,
            "n_embd": width,
            "n_layer": len(layers),
            "n_head": attn.num_heads,
            "n_positions": pe.embedding.num_embeddings,
            "n_inner": ff.up_proj.out_features,
            "layer_norm_epsilon": first.attn_norm.eps,
            "activation_function": "gelu_new",
            "embd_pdrop": encoder.dropout.p,
            "attn_pdrop": attn.dropout,
            "resid_pdrop": first.dropout.p,
        }
    _require(_name(pe) == "RotaryPE", f"the positional encoder is {_name(pe)}: RotaryPE (Llama family) or LearnedPE (GPT-2)")
    _require(_name(ff) == "GLUFeedforward" and _name(ff.act) == "SiLU",
             f"the feed-forward is {_name(ff)} ({_name(getattr(ff, 'act', None))}), not GLUFeedforward with SiLU")
    _require(_name(first.attn_norm) == "RMSNorm" and _name(core.final_norm) == "RMSNorm", "Llama norms: RMSNorm")
    _require(pe.head_dim == attn.head_dim, "RotaryPE's head_dim differs from the attention's")
    eps = first.attn_norm.eps
    if attn.q_norm is not None:
        _require(attn.q_norm.eps == eps, "Qwen3's QK-norm shares rms_norm_eps with the layer norms")
    fields = {
        **common,
        "hidden_size": width,
        "intermediate_size": ff.up_proj.out_features,
        "num_attention_heads": attn.num_heads,
        "num_key_value_heads": attn.num_kv_heads,
        "head_dim": attn.head_dim,
        "rms_norm_eps": eps,
        "attention_bias": bias,
        "mlp_bias": ff.up_proj.bias is not None,
        "hidden_act": "silu",
    }
    fields["rope_parameters"] = {"rope_type": "default", "rope_theta": float(pe.theta)}
    if pe.scaling is not None:
        fields["rope_parameters"] = {**pe.scaling, "rope_type": "llama3", "rope_theta": float(pe.theta)}
    return ("qwen3" if attn.q_norm is not None else "llama"), fields


def hf_config(family: str, fields: dict, max_position_embeddings: int) -> Any:
    """The transformers config of `family` from `architecture`'s fields."""
    import transformers

    if family == "gpt2":
        return transformers.GPT2Config(**{k: v for k, v in fields.items() if k != "num_hidden_layers"})
    if family == "qwen3" and fields.get("mlp_bias"):
        raise ConversionError("Qwen3 has no MLP biases")
    config_class = {"llama": transformers.LlamaConfig, "mistral": transformers.MistralConfig,
                    "qwen3": transformers.Qwen3Config}[family]
    fields = dict(fields, max_position_embeddings=max_position_embeddings)
    if family != "llama":
        fields.pop("mlp_bias")
        fields["sliding_window"] = None
    return config_class(**fields)


def to_hugging_face(src: Path, out: Path, *, family: str | None = None, atol: float = 1e-4,
                    dtype: str = "float32", max_position_embeddings: int | None = None) -> Converted:
    """A Forgather model directory -> the native transformers checkpoint (see the module doc)."""
    from transformers import AutoModelForCausalLM

    ours = AutoModelForCausalLM.from_pretrained(str(src), dtype=torch.float32, trust_remote_code=True,
                                                local_files_only=True).eval()
    core = getattr(ours, "model", None)
    if core is None or not hasattr(core, "layer_stack"):
        raise ConversionError(f"{src}: not a Forgather model (no CausalLM core at `.model`)")
    found, fields = architecture(core)
    if family is None:
        family = found
    elif (family == "gpt2") != (found == "gpt2") or (family != "qwen3" and found == "qwen3"):
        raise ConversionError(f"the model's blocks are {found}'s, not {family}'s")
    elif family == "qwen3" and found != "qwen3":
        raise ConversionError("Qwen3 normalises queries and keys (qk_norm); this model does not")
    config = _read_config(src)
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        if config.get(key) is not None:
            fields[key] = config[key]
    if family != "gpt2":
        positions = max_position_embeddings or config.get("max_position_embeddings") or 2048
    else:
        positions = fields["n_positions"]
    target = AutoModelForCausalLM.from_config(hf_config(family, fields, positions)).eval()
    ours_weights = {k.removeprefix("model."): v for k, v in ours.state_dict().items()}
    rename = convert.to_gpt2_state_dict if family == "gpt2" else convert.to_llama_state_dict
    missing, unexpected = target.load_state_dict(rename(ours_weights), strict=False)
    tied = {"lm_head.weight"} if fields["tie_word_embeddings"] else set()
    if set(missing) - tied - {k for k in missing if k.endswith(".attn.bias")} or unexpected:
        raise ConversionError(f"weights that do not fit: missing {sorted(set(missing) - tied)}, unexpected {unexpected}")
    target.generation_config = ours.generation_config
    difference, shape = compare_logits(ours, target, fields["vocab_size"])
    _check(difference, atol)
    with _new_directory(out) as tmp:
        _cast(target, dtype, config).save_pretrained(tmp)
        tokenizer = _tokenizer(src, remote_code=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
    return Converted(target, family, difference, shape)


# --------------------------------------------------------------------------------- shared


def compare_logits(a: torch.nn.Module, b: torch.nn.Module, vocab: int, shape: tuple[int, int] = (2, 24),
                   seed: int = 0) -> tuple[float, tuple[int, int]]:
    """Max |logits(a) - logits(b)| over random tokens (float32, eval mode, no cache)."""
    ids = torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        la = a(ids, use_cache=False).logits.float()
        lb = b(ids, use_cache=False).logits.float()
    return (la - lb).abs().max().item(), shape


def _check(difference: float, atol: float) -> None:
    if not difference <= atol:
        raise ConversionError(f"the converted model's logits differ by {difference:.3g} (tolerance {atol:g})")


def _read_config(path: Path) -> dict:
    file = Path(path) / "config.json"
    if not file.is_file():
        raise ConversionError(f"{path}: no config.json (not a model directory)")
    return json.loads(file.read_text())


def _cast(model: torch.nn.Module, dtype: str, config: dict) -> torch.nn.Module:
    if dtype == "auto":
        dtype = config.get("dtype") or config.get("torch_dtype") or "float32"
    value = getattr(torch, dtype, None)
    if not isinstance(value, torch.dtype):
        raise ConversionError(f"dtype {dtype!r} is not a torch dtype")
    return model.to(value)


def _tokenizer(src: Path, remote_code: bool) -> Any:
    """The source's tokenizer, or None when it has none."""
    if not any((Path(src) / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")):
        return None
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(src), trust_remote_code=remote_code, local_files_only=True)


def _new_directory(out: Path):
    from forgather_files.atomic import new_directory

    return new_directory(out)


def is_forgather_directory(path: Path) -> bool:
    """A model directory whose config names code shipped with it (an export of ours)."""
    config = _read_config(path)
    return bool(config.get("auto_map")) and str(config.get("model_type", "")).startswith("forgather")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m forgather.ml.models.hf_convert",
        description="Convert a checkpoint directory between transformers' Llama, Mistral, Qwen3 or GPT-2 and "
        "Forgather's blocks; the logits of both are compared after converting.",
        epilog="example:\n  python -m forgather.ml.models.hf_convert models/llama runs/converted       # to Forgather\n"
        "  python -m forgather.ml.models.hf_convert runs/x/latest hf/x --to llama  # back to transformers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("src", type=Path, help="the model directory to convert")
    parser.add_argument("out", type=Path, help="the directory to write (replaced atomically)")
    parser.add_argument("--to", choices=("forgather", *FAMILIES), default=None,
                        help="the target: forgather (from a transformers checkpoint) or a transformers family "
                        "(from a Forgather model; default: read from its blocks)")
    parser.add_argument("--dtype", default="float32", help="dtype of the written weights (float32, bfloat16, "
                        "float16, or auto: the source's); the comparison is made in float32 first")
    parser.add_argument("--atol", type=float, default=1e-4, help="the largest logit difference accepted (1e-4)")
    parser.add_argument("--max-position-embeddings", type=int, default=None,
                        help="the positions field of a Llama-family config written from a rotary model (default: "
                        "the source config's, else 2048)")
    args = parser.parse_args(argv)
    try:
        ours = is_forgather_directory(args.src)
        if args.to == "forgather" or (args.to is None and not ours):
            if ours:
                raise ConversionError(f"{args.src} is a Forgather model already; give --to llama|mistral|qwen3|gpt2")
            done = to_forgather(args.src, args.out, atol=args.atol, dtype=args.dtype)
            target = f"Forgather {'gpt2_like' if done.family == 'gpt2' else 'llama_like'}"
            source = done.family
        else:
            if not ours:
                raise ConversionError(f"{args.src} is not a Forgather model: convert it with --to forgather")
            done = to_hugging_face(args.src, args.out, family=args.to, atol=args.atol, dtype=args.dtype,
                                   max_position_embeddings=args.max_position_embeddings)
            target, source = f"transformers {done.family}", "Forgather"
    except ConversionError as e:
        print(f"hf_convert: error: {e}", file=sys.stderr)
        return 1
    params = sum(p.numel() for p in done.model.parameters())
    print(f"hf_convert: {args.src} ({source}, {params:,} parameters) -> {args.out} ({target})")
    print(f"  logits: max |difference| {done.max_logit_difference:.3g} on {done.tokens[0]}x{done.tokens[1]} "
          f"random tokens (tolerance {args.atol:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
