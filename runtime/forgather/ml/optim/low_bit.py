"""AdamW with 8-bit or 4-bit optimizer state, from an existing library: bitsandbytes
(`bnb.optim.AdamW8bit`, Dettmers et al. 2021, arXiv 2110.02861: block-wise dynamic quantisation
of both moments, 2 bytes per parameter instead of 8; it runs on the CPU too) or torchao
(`torchao.optim.AdamW8bit` / `AdamW4bit`: 4-bit state is 1 byte per parameter; its steps are
`torch.compile`d, which takes minutes on a CPU the first time each shape is seen).

    pip install 'forgather[lowbit]'       # bitsandbytes

The optimizer returned is the library's own `torch.optim.Optimizer` (state_dict, param groups,
named parameters and schedulers work as usual; its checkpoints load with weights_only=True).
Small tensors (biases, norms: fewer than `min_8bit_size` elements in bitsandbytes, 4096 in
torchao) keep 32-bit state, as the libraries decide.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Iterable

from torch.optim import Optimizer

from ._common import check_betas, check_choice, check_lr, check_non_negative

BACKENDS = ("auto", "bitsandbytes", "torchao")
_INSTALL = "pip install 'forgather[lowbit]' (bitsandbytes) or pip install torchao"


def installed_backends() -> list[str]:
    """The low-bit libraries importable here, in the order `backend="auto"` tries them."""
    return [name for name in BACKENDS[1:] if importlib.util.find_spec(name) is not None]


def low_bit_adamw(
    params: Iterable[Any],
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    *,
    bits: int = 8,
    backend: str = "auto",
    min_8bit_size: int | None = None,
    block_size: int | None = None,
    stochastic_rounding: bool = False,
) -> Optimizer:
    """AdamW (torch's update and defaults) whose two moments are stored in `bits` bits.

    Args:
        params, lr, betas, eps, weight_decay: as `torch.optim.AdamW`.
        bits: 8, or 4 (torchao only).
        backend: "bitsandbytes", "torchao", or "auto": bitsandbytes for 8 bits when installed,
            else torchao.
        min_8bit_size: bitsandbytes: tensors with fewer elements keep 32-bit state (its
            default 4096).
        block_size: torchao: elements per quantisation block (its defaults: 256 for 8 bits,
            128 for 4).
        stochastic_rounding: torchao: round updated bfloat16 weights stochastically
            (bitsandbytes rounds to nearest and refuses it).
    """
    check_lr(lr)
    betas = check_betas(betas)
    check_non_negative("eps", eps)
    check_non_negative("weight_decay", weight_decay)
    check_choice("bits", bits, (8, 4))
    check_choice("backend", backend, BACKENDS)
    available = installed_backends()
    if backend == "auto":
        candidates = [b for b in available if bits == 8 or b == "torchao"]
        if not candidates:
            need = "torchao" if bits == 4 else "bitsandbytes or torchao"
            raise ValueError(f"low_bit_adamw(bits={bits}) needs {need}, which is not installed: {_INSTALL}")
        backend = candidates[0]
    elif backend not in available:
        raise ValueError(f"low_bit_adamw(backend={backend!r}): {backend} is not installed: {_INSTALL}")

    if backend == "bitsandbytes":
        if bits != 8:
            raise ValueError("bitsandbytes has 8-bit optimizer state only; bits=4 needs backend='torchao'")
        for name, value in (("block_size", block_size), ("stochastic_rounding", stochastic_rounding or None)):
            if value is not None:
                raise ValueError(f"low_bit_adamw: {name} is a torchao option; bitsandbytes does not take it")
        import bitsandbytes as bnb

        extra = {} if min_8bit_size is None else {"min_8bit_size": min_8bit_size}
        return bnb.optim.AdamW8bit(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, **extra)

    if min_8bit_size is not None:
        raise ValueError("low_bit_adamw: min_8bit_size is a bitsandbytes option; torchao does not take it")
    import torchao.optim

    cls = torchao.optim.AdamW8bit if bits == 8 else torchao.optim.AdamW4bit
    extra = {} if block_size is None else {"block_size": block_size}
    return cls(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
               bf16_stochastic_round=stochastic_rounding, **extra)
