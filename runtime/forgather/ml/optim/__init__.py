"""Optimizers and learning-rate schedules, each usable from any training loop and from a config
(`!partial:forgather.ml.optim.galore:GaLoreAdamW`). Every optimizer is a plain
`torch.optim.Optimizer` with standard param groups and state_dict()/load_state_dict().

    AdamW, SGD, Adafactor     same updates as torch.optim.AdamW / SGD and transformers' Adafactor
    GaLoreAdamW               SVD gradient projection (arXiv 2403.03507), as galore-torch
    APOLLO, apollo_mini       random-projection gradient scaling (arXiv 2412.05270)
    low_bit_adamw             AdamW with 8- or 4-bit state (bitsandbytes or torchao)
    stochastic_round_         float32 -> bfloat16, unbiased (AdamW, SGD, Adafactor use it)
    schedulers                warm-up + cosine / linear / constant, warmup-stable-decay
    state_bytes               bytes of optimizer state
"""

from .adafactor import Adafactor
from .adamw import AdamW
from .apollo import APOLLO, apollo_mini
from .galore import GaLoreAdamW, GaLoreProjector
from .low_bit import low_bit_adamw
from .memory import state_bytes
from .rounding import stochastic_round_
from .schedulers import constant_with_warmup, cosine_with_warmup, linear_with_warmup, warmup_stable_decay
from .sgd import SGD

__all__ = [
    "APOLLO",
    "Adafactor",
    "AdamW",
    "GaLoreAdamW",
    "GaLoreProjector",
    "SGD",
    "apollo_mini",
    "constant_with_warmup",
    "cosine_with_warmup",
    "linear_with_warmup",
    "low_bit_adamw",
    "state_bytes",
    "stochastic_round_",
    "warmup_stable_decay",
]
