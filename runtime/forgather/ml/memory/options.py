"""The memory options of `TrainingArguments`, applied by the Trainer through one object.

    model_dtype="bfloat16"       weights (so gradients) in bfloat16; the default optimizer is then
                                 our AdamW with stochastic rounding (torch's rounds to nearest)
    optimizer_in_backward=True   each parameter steps inside backward (`OptimizerInBackward`)
    activation_offloading=True   saved activations in host memory (`ActivationOffload`)
    linear_cross_entropy=True    the loss from hidden states in chunks (`LinearCrossEntropyLoss`)

The Trainer calls, in order: `check_engine(engine)` once the engine exists, `prepare_model(model)`
before placing it, `bind_device(device)` after, `default_optimizer(...)` when it builds its own
optimizer, `wrap_optimizer(opt)`, then per forward `forward_context()`, and `grad_norm(opt)`
before clipping. What cannot combine with an engine or another argument is a ValueError that says so.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import torch

from .activation_offload import ActivationOffload
from .linear_cross_entropy import IMPLEMENTATIONS, LinearCrossEntropyLoss
from .optimizer_in_backward import OptimizerInBackward

logger = logging.getLogger(__name__)

MODEL_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def check_arguments(args: Any) -> None:
    """The memory fields of `TrainingArguments`, checked when the arguments are made."""
    if args.model_dtype is not None and args.model_dtype not in MODEL_DTYPES:
        hint = " (float16 weights need loss scaling on float32 master weights: use fp16=True)" if args.model_dtype == "float16" else ""
        raise ValueError(
            f"TrainingArguments: model_dtype={args.model_dtype!r} is not supported; choose None, "
            + " or ".join(repr(d) for d in MODEL_DTYPES) + hint
        )
    lce = args.linear_cross_entropy
    if not isinstance(lce, bool) and lce not in IMPLEMENTATIONS:
        raise ValueError(
            f"TrainingArguments: linear_cross_entropy={lce!r} is not supported; choose True, False or one of "
            + ", ".join(repr(i) for i in IMPLEMENTATIONS)
        )
    if args.optimizer_in_backward:
        if args.gradient_accumulation_steps > 1:
            raise ValueError(
                "TrainingArguments: optimizer_in_backward steps every parameter in each backward, so it "
                f"cannot accumulate gradients over micro-batches (gradient_accumulation_steps="
                f"{args.gradient_accumulation_steps}): use 1 and a larger per_device_train_batch_size"
            )
        if args.fp16:
            raise ValueError(
                "TrainingArguments: optimizer_in_backward cannot use fp16's gradient scaler (it must see "
                "every gradient before a step); use bf16=True or model_dtype='bfloat16'"
            )


class MemoryOptions:
    """What the memory fields of `args` ask of one training run (module docstring)."""

    def __init__(self, args: Any, compute_loss_func: Any = None) -> None:
        self.model_dtype = MODEL_DTYPES.get(args.model_dtype) if args.model_dtype else None
        self.optimizer_in_backward = bool(args.optimizer_in_backward)
        self.max_grad_norm = float(args.max_grad_norm or 0.0)
        self.activation_offloading = bool(args.activation_offloading)
        lce = args.linear_cross_entropy
        self.lce_implementation = ("auto" if lce is True else lce) or None
        if self.lce_implementation and compute_loss_func is not None:
            raise ValueError(
                "linear_cross_entropy computes the loss from hidden states; it cannot combine with a "
                f"compute_loss_func ({compute_loss_func!r}), which needs the logits"
            )
        self.loss: LinearCrossEntropyLoss | None = None
        self._offload: ActivationOffload | None = None

    @property
    def any(self) -> bool:
        return bool(self.model_dtype or self.optimizer_in_backward or self.activation_offloading
                    or self.lce_implementation)

    def check_engine(self, engine: Any) -> None:
        """Refuse the options this engine cannot run."""
        name = type(engine).__name__
        pipeline, fsdp = "Pipeline" in name, "FSDP" in name
        if self.optimizer_in_backward and (pipeline or fsdp or engine.world_size > 1):
            raise ValueError(
                f"optimizer_in_backward runs on one process, unsharded, without a pipeline ({name}, "
                f"{engine.world_size} processes): a pipeline schedule accumulates micro-batch gradients and "
                "data parallelism reduces gradients after they are accumulated, both after a parameter "
                "would have stepped (with FSDP2 it is not verified)"
            )
        if self.activation_offloading and pipeline:
            raise ValueError(f"activation_offloading is not supported by the pipeline engine ({name}) yet")
        if self.lce_implementation and fsdp:
            raise ValueError(
                f"linear_cross_entropy is not supported with FSDP ({name}) yet: the loss reads the output "
                "head's weight outside the sharded forward"
            )

    def prepare_model(self, model: torch.nn.Module) -> None:
        """Cast the parameters to `model_dtype` (before placing them: the device never holds the
        float32 copy) and let the output head return hidden states for the chunked loss."""
        self._model = model
        if self.model_dtype is not None:
            # parameters only: buffers (rotary frequencies, masks) keep their precision, as
            # from_pretrained(torch_dtype=...) leaves them
            for p in model.parameters():
                if p.is_floating_point() and p.dtype != self.model_dtype:
                    p.data = p.data.to(self.model_dtype)
        if self.lce_implementation:
            self.loss = LinearCrossEntropyLoss(model, implementation=self.lce_implementation)

    def bind_device(self, device: torch.device) -> None:
        """The device the model was placed on: activations are offloaded from an accelerator."""
        if self.activation_offloading:
            if device.type == "cpu":
                logger.warning(
                    "activation_offloading: the model is on the CPU, where activations already live in "
                    "host memory: nothing is offloaded"
                )
            else:
                self._offload = ActivationOffload(self._model)

    def default_optimizer(self, groups: list[dict[str, Any]], args: Any) -> torch.optim.Optimizer | None:
        """For 16-bit weights, the default AdamW is ours with stochastic rounding (torch's rounds
        each update to nearest, and updates below half an ulp vanish); None: torch's."""
        params = [p for g in groups for p in g["params"]]
        if not any(p.dtype in (torch.bfloat16, torch.float16) for p in params):
            return None
        from ..optim import AdamW

        logger.info("16-bit weights: the default optimizer is forgather's AdamW with stochastic rounding")
        return AdamW(groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                     eps=args.adam_epsilon, stochastic_rounding=True, seed=args.seed)

    def wrap_optimizer(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        if not self.optimizer_in_backward:
            return optimizer
        if self.max_grad_norm > 0:
            logger.info(
                "optimizer_in_backward: max_grad_norm=%g: each step first measures the global gradient norm "
                "in a forward and backward that steps nothing (exact global clipping; about twice the "
                "compute: max_grad_norm=0 skips it)", self.max_grad_norm
            )
        return OptimizerInBackward(optimizer, max_grad_norm=self.max_grad_norm)

    def forward_context(self) -> contextlib.AbstractContextManager:
        """Around a forward pass (training and evaluation)."""
        stack = contextlib.ExitStack()
        if self._offload is not None and torch.is_grad_enabled():
            stack.enter_context(self._offload)
        if self.loss is not None:
            stack.enter_context(self.loss.hidden_states())
        return stack

    def loss_func(self) -> LinearCrossEntropyLoss | None:
        """The compute_loss_func the options replace the default loss with (None: unchanged)."""
        return self.loss

    def measuring_pass(self, optimizer: torch.optim.Optimizer) -> contextlib.AbstractContextManager | None:
        """The context of a forward and backward that only measures the gradient norm, run before
        each step when the step is fused into backward and clips (None: no such pass)."""
        if isinstance(optimizer, OptimizerInBackward) and optimizer.max_grad_norm > 0:
            return optimizer.measuring()
        return None

    @staticmethod
    def grad_norm(optimizer: torch.optim.Optimizer) -> torch.Tensor | None:
        """The step's gradient norm when the optimizer stepped in backward (there are no
        gradients left to clip or measure), else None."""
        if isinstance(optimizer, OptimizerInBackward):
            norm = optimizer.grad_norm()
            return norm if norm is not None else torch.zeros(())
        return None
