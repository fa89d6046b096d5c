"""Low-precision optimizer arithmetic: float32 compute over 16-bit storage, stochastic rounding.

A bfloat16 weight has 8 bits of mantissa: an update smaller than half an ulp of the weight
(lr * update < |w| / 256) rounds back to the old value, so with round-to-nearest small updates
vanish and training stalls (Gupta et al. 2015; Zamirai et al. 2020, arXiv 2010.06192).
Stochastic rounding rounds up with probability equal to the remainder, so the rounded weight is
the float32 weight in expectation and small updates add up over steps.

    float32 x, as bits: [sign | exponent | 7 kept mantissa bits | 16 dropped bits]
    add a uniform random integer in [0, 2^16) to the bits, then clear the low 16 bits:
    the carry reaches the kept bits with probability (dropped bits) / 2^16

The random bits are a pure function of `(seed, parameter index, step)` (`rounding_seed`), drawn
from a generator on the tensor's device, so a resumed optimizer draws what the original would
have, and an optimizer stepped one parameter at a time (`optimizer_in_backward`) draws what a
whole step draws. Arithmetic runs per tensor in float32 chunks of at most `CHUNK` elements, so
the float32 temporaries of a large embedding stay bounded.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import Tensor

CHUNK = 1 << 22  # elements per float32 chunk: 16 MiB per temporary
HALF = (torch.float16, torch.bfloat16)
_MASK64 = (1 << 64) - 1
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def state_dtype_of(value: Any) -> torch.dtype | None:
    """The `state_dtype` option as a torch dtype: None, a torch dtype or its name."""
    if value is None or isinstance(value, torch.dtype) and value in _DTYPES.values():
        return value
    if isinstance(value, str) and value.removeprefix("torch.") in _DTYPES:
        return _DTYPES[value.removeprefix("torch.")]
    raise ValueError(
        f"invalid state_dtype {value!r}: expected None (the parameter's dtype) or one of "
        + ", ".join(_DTYPES)
    )


def rounding_seed(seed: int, index: int, step: int) -> int:
    """The generator seed for the rounding of parameter `index` at `step` (SplitMix64 of the
    three, so neighbouring parameters and steps get unrelated streams)."""
    x = (seed * 0x9E3779B97F4A7C15 + (index + 1) * 0xBF58476D1CE4E5B9 + (step + 1) * 0x94D049BB133111EB) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (x ^ (x >> 31)) & ((1 << 63) - 1)


class Rounder:
    """Writes float32 results into (possibly 16-bit) storage: to nearest, or stochastically with
    a generator reseeded per parameter and step. One per optimizer; generators per device."""

    def __init__(self) -> None:
        self._generators: dict[torch.device, torch.Generator] = {}

    def generator(self, device: torch.device, seed: int, index: int, step: int) -> torch.Generator:
        gen = self._generators.get(device)
        if gen is None:
            gen = self._generators[device] = torch.Generator(device=device)
        gen.manual_seed(rounding_seed(seed, index, step))
        return gen

    @staticmethod
    def write_(dst: Tensor, src: Tensor, generator: torch.Generator | None) -> None:
        """dst <- src (float32); stochastically rounded when `generator` is given and dst is
        bfloat16 (float16 has a different layout: it is rounded to nearest)."""
        if src is dst:
            return  # float32 storage, updated in place
        if generator is not None and dst.dtype == torch.bfloat16:
            stochastic_round_(dst, src, generator)
        else:
            dst.copy_(src)


def stochastic_round_(dst: Tensor, src: Tensor, generator: torch.Generator | None = None) -> None:
    """bfloat16 `dst` <- float32 `src`, rounded up or down with probability given by the dropped
    bits (unbiased). Values past the bfloat16 range round to +-inf as they may in any rounding;
    NaN and inf stay NaN and inf."""
    if src.dtype != torch.float32 or dst.dtype != torch.bfloat16:
        raise TypeError(f"stochastic_round_ rounds float32 into bfloat16, got {src.dtype} -> {dst.dtype}")
    bits = torch.randint(0, 1 << 16, src.shape, dtype=torch.int32, device=src.device, generator=generator)
    bits.add_(src.view(torch.int32)).bitwise_and_(-65536)  # carry into the kept bits, drop the rest
    dst.copy_(bits.view(torch.float32))  # exact: the low 16 bits are zero


def chunks(numel: int, size: int = CHUNK) -> Iterator[slice]:
    for start in range(0, numel, size):
        yield slice(start, min(start + size, numel))


def flat(t: Tensor) -> Tensor:
    """A 1-D view of a contiguous tensor (the low-precision paths update storage through it)."""
    if not t.is_contiguous():
        raise ValueError("low-precision optimizer arithmetic needs contiguous parameters and state")
    return t.view(-1)


def compute_dtype(param: Tensor) -> torch.dtype:
    """The arithmetic dtype of a parameter's update: float32, or float64 for float64 weights."""
    return torch.promote_types(param.dtype, torch.float32)


def working(t: Tensor, dtype: torch.dtype) -> Tensor:
    """A `dtype` working copy of lower-precision storage; the storage itself when it already has
    that dtype (then updated in place)."""
    return t if t.dtype == dtype else t.to(dtype)
