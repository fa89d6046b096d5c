"""Mixed precision: autocast for the forward pass, fp32 master weights, a grad scaler for fp16.

bf16 runs under ``torch.autocast`` on CPU and CUDA; parameters, gradients and optimizer state stay
float32. fp16 additionally scales the loss with a ``torch.amp.GradScaler`` (CUDA only: fp16
autocast on CPU has neither the kernels nor the range to train reliably).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch


class MixedPrecision:
    """The precision policy of one training run (``bf16``/``fp16`` flags of the arguments)."""

    def __init__(self, device: torch.device, *, bf16: bool = False, fp16: bool = False) -> None:
        if bf16 and fp16:
            raise ValueError("choose at most one of bf16 and fp16")
        self.device = torch.device(device)
        self.dtype = torch.bfloat16 if bf16 else torch.float16 if fp16 else None
        if fp16 and self.device.type != "cuda":
            raise ValueError(
                f"fp16 mixed precision needs a CUDA device (the trainer runs on {self.device}); "
                "use bf16=True on the CPU"
            )
        if bf16 and self.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ValueError("bf16=True but this CUDA device does not support bfloat16; use fp16=True")
        self.scaler = torch.amp.GradScaler("cuda") if fp16 else None

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def autocast(self) -> contextlib.AbstractContextManager:
        """Context for forward passes (training and evaluation)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        """Bring gradients back to their true scale (before clipping or reading their norm)."""
        if self.scaler:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> bool:
        """Step the optimizer; False when the grad scaler skipped it (inf/NaN gradients)."""
        if self.scaler is None:
            optimizer.step()
            return True
        scale = self.scaler.get_scale()
        self.scaler.step(optimizer)
        self.scaler.update()
        return self.scaler.get_scale() >= scale  # the scale only shrinks after a skipped step

    def state_dict(self) -> dict[str, Any] | None:
        return self.scaler.state_dict() if self.scaler else None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler and state:
            self.scaler.load_state_dict(state)
