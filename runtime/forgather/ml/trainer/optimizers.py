"""The optimizer named by ``TrainingArguments.optim``, as transformers.Trainer builds it, mapped to
the project's optimizers (`forgather.ml.optim`) where transformers would use another library's.

    adamw_torch, adamw_torch_fused   torch.optim.AdamW (fused on CPU and CUDA), as transformers
    sgd                              forgather.ml.optim.SGD
    adafactor                        forgather.ml.optim.Adafactor (an explicit lr: no relative
                                     step, no parameter scaling, as transformers sets it)
                                     (both with stochastic rounding for 16-bit weights)
    galore_adamw                     forgather.ml.optim.GaLoreAdamW on ``optim_target_modules``
    apollo_adamw                     forgather.ml.optim.APOLLO on ``optim_target_modules``

``optim_args`` is transformers' "key=value,key=value" string: SGD's momentum, dampening,
nesterov; GaLore's and APOLLO's rank, update_proj_gap, scale, proj_type / scale_type (their
defaults are transformers'). Weight decay applies to tensors of 2+ dimensions only, for every
optimizer (the Trainer's grouping; transformers groups by name).
"""

from __future__ import annotations

import re
from typing import Any

import torch

OPTIMIZERS = ("adamw_torch", "adamw_torch_fused", "sgd", "adafactor", "galore_adamw", "apollo_adamw")


def parse_optim_args(text: str | None) -> dict[str, str]:
    """transformers' ``optim_args``: "momentum=0.9,nesterov=true" -> {"momentum": "0.9", ...}."""
    out: dict[str, str] = {}
    for item in (text or "").replace(" ", "").split(","):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"optim_args: {item!r} is not key=value")
        out[key] = value
    return out


def _flag(value: str) -> bool:
    return value.lower() in ("true", "1", "yes")


def create_optimizer(args: Any, model: torch.nn.Module, named: list[tuple[str, torch.nn.Parameter]],
                     device: torch.device, memory: Any = None) -> torch.optim.Optimizer:
    """The optimizer ``args.optim`` names over ``named`` (the trainable (name, parameter) pairs).
    ``memory`` (memory.options.MemoryOptions) may replace the default AdamW (16-bit weights)."""
    name = args.optim
    options = parse_optim_args(args.optim_args)
    decay = {"weight_decay": args.weight_decay}
    groups = [
        {"params": [p for _, p in named if p.ndim >= 2], **decay},
        {"params": [p for _, p in named if p.ndim < 2], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    adam = {"lr": args.learning_rate, "betas": (args.adam_beta1, args.adam_beta2), "eps": args.adam_epsilon}
    if name in ("adamw_torch", "adamw_torch_fused"):
        own = memory.default_optimizer(groups, args) if memory is not None else None
        if own is not None:  # 16-bit weights: forgather's AdamW with stochastic rounding
            return own
        fused = name == "adamw_torch_fused" and device.type in ("cpu", "cuda")
        return torch.optim.AdamW(groups, **adam, fused=fused or None)
    from .. import optim as ours

    # 16-bit weights round their updates stochastically, as the default AdamW does then
    rounding: dict[str, Any] = {}
    if any(p.dtype in (torch.bfloat16, torch.float16) for _, p in named) and name in ("sgd", "adafactor"):
        rounding = {"stochastic_rounding": True, "seed": args.seed}
    if name == "sgd":
        kwargs: dict[str, Any] = {k: float(options.pop(k)) for k in ("momentum", "dampening") if k in options}
        if "nesterov" in options:
            kwargs["nesterov"] = _flag(options.pop("nesterov"))
        _no_more(name, options)
        return ours.SGD(groups, lr=args.learning_rate, **kwargs, **rounding)
    if name == "adafactor":
        _no_more(name, options)
        return ours.Adafactor(groups, lr=args.learning_rate, scale_parameter=False, relative_step=False, **rounding)
    if name in ("galore_adamw", "apollo_adamw"):
        low_rank = {
            "rank": int(options.pop("rank", 128)),
            "update_proj_gap": int(options.pop("update_proj_gap", 200)),
            "scale": float(options.pop("scale", 0.25 if name == "galore_adamw" else 1.0)),
        }
        if name == "galore_adamw":
            low_rank["proj_type"] = options.pop("proj_type", "std")
        else:
            low_rank["scale_type"] = options.pop("scale_type", "channel")
        _no_more(name, options)
        targets = target_parameters(model, named, args.optim_target_modules, name)
        plain = [p for n, p in named if n not in targets]
        projected = [p for n, p in named if n in targets]
        groups = [{"params": plain, "rank": None}, {"params": projected, **low_rank}]
        cls = ours.GaLoreAdamW if name == "galore_adamw" else ours.APOLLO
        return cls([g for g in groups if g["params"]], **adam, weight_decay=args.weight_decay)
    raise ValueError(
        f"TrainingArguments: optim={name!r} is not implemented here; choose one of {', '.join(OPTIMIZERS)}, "
        "or give the Trainer an optimizer_factory"
    )


def _no_more(name: str, options: dict[str, str]) -> None:
    if options:
        raise ValueError(f"optim_args: {', '.join(options)} mean nothing to optim={name!r}")


def target_parameters(model: torch.nn.Module, named: list[tuple[str, Any]], targets: Any, name: str) -> set[str]:
    """Names of the weights of the linear layers that ``optim_target_modules`` selects: "all-linear",
    a regular expression (searched in the module name), or a list of names (a module whose name is
    or ends with one)."""
    if targets is None:
        raise ValueError(f"optim={name!r} needs optim_target_modules (e.g. 'all-linear' or [attn, mlp])")
    trainable = {n for n, _ in named}
    chosen = set()
    for module_name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if isinstance(targets, str):
            hit = targets.replace("_", "-") == "all-linear" or re.search(targets, module_name) is not None
        else:
            hit = any(module_name == t or module_name.endswith("." + t) for t in targets)
        if hit and f"{module_name}.weight" in trainable:
            chosen.add(f"{module_name}.weight")
    if not chosen:
        raise ValueError(f"optim={name!r}: optim_target_modules={targets!r} selects no linear layer")
    return chosen
