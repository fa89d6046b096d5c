"""The causal-LM loss from hidden states and the output head's weight, without the full
`(tokens, vocab)` logits: for a 128k vocabulary and 8k tokens those are 4 GiB in float32, twice
more with their gradient, often the largest tensors of a fine-tuning step.

`linear_cross_entropy(hidden, weight, labels, bias=None, ...)` equals
`causal_lm_loss(F.linear(hidden, weight, bias), labels, ...)`: the same shift, ignore index,
float32 cross-entropy, and token-weighted reduction (`num_items_in_batch`). Loss and gradients
agree with the plain loss within 1e-5 in float32 (tests/memory, also against float64).

    torch (any device)   rows in chunks of `chunk_size` tokens; per chunk the logits
                         (chunk x vocab, float32), their log-sum-exp, the loss, and at once the
                         gradients: softmax - one-hot -> d hidden (chunk x d) and the head's
                         weight (and bias) gradient, accumulated over chunks. Backward only
                         scales them by the incoming gradient. Same FLOPs as the plain loss;
                         memory: one chunk of logits instead of all of them.
    cce, liger (CUDA)    Apple's cut-cross-entropy or Liger's fused kernel when installed
                         (`implementation="auto"` picks the first available on CUDA)

The matmuls run in the dtype the plain head would use (autocast's when it is on, else the
hidden states'); the softmax and the loss are float32.
"""

from __future__ import annotations

import importlib.util
import types
from typing import Any

import torch
import torch.nn.functional as F

from ..loss import IGNORE_INDEX

IMPLEMENTATIONS = ("auto", "torch", "cce", "liger")
_LOGIT_BYTES = 64 << 20  # default chunk: about 64 MiB of float32 logits


def linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    ignore_index: int = IGNORE_INDEX,
    num_items_in_batch: int | torch.Tensor | None = None,
    chunk_size: int | None = None,
    implementation: str = "auto",
) -> torch.Tensor:
    """Shifted causal-LM cross-entropy of `hidden @ weight.T (+ bias)` against `labels`.

    hidden (..., T, D), labels (..., T), weight (V, D), bias (V,) or None. Returns the mean over
    target tokens, or their sum divided by `num_items_in_batch`; 0 when no token is a target.
    `chunk_size`: tokens per chunk of the torch implementation (None: about 64 MiB of logits).
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation={implementation!r}: choose one of {', '.join(IMPLEMENTATIONS)}")
    if hidden.shape[:-1] != labels.shape or hidden.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear_cross_entropy: hidden states {tuple(hidden.shape)}, head weight {tuple(weight.shape)} and "
            f"labels {tuple(labels.shape)} do not fit (expected (..., T, D), (V, D) and (..., T))"
        )
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    targets = F.pad(labels, (0, 1), value=ignore_index)[..., 1:].reshape(-1).to(hidden.device)  # (N,)
    flat = hidden.reshape(-1, hidden.shape[-1])  # (N, D)
    if num_items_in_batch is None:
        num_items_in_batch = (targets != ignore_index).sum()
    if isinstance(num_items_in_batch, torch.Tensor):
        denom = num_items_in_batch.to(hidden.device).clamp(min=1)
    else:
        denom = max(int(num_items_in_batch), 1)
    kernel = _kernel(implementation, hidden, bias)
    if kernel is not None:
        return kernel(flat, weight, targets, bias, ignore_index) / denom
    rows = chunk_size or max(1, min(8192, _LOGIT_BYTES // (4 * weight.shape[0])))
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (flat, weight, bias)):
        return _ChunkedLinearCrossEntropy.apply(flat, weight, bias, targets, ignore_index, rows, denom)
    return _chunked_loss(flat, weight, bias, targets, ignore_index, rows, None) / denom


def _matmul_dtype(hidden: torch.Tensor) -> torch.dtype:
    """The dtype the plain head's matmul would run in: autocast's, else the hidden states'."""
    device = hidden.device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    return hidden.dtype


def _chunked_loss(flat, weight, bias, targets, ignore_index, rows, grads) -> torch.Tensor:
    """Summed token loss over chunks of rows; with `grads` = (d hidden, d weight, d bias, denom)
    the gradients of loss / denom are written there too."""
    dtype = _matmul_dtype(flat)
    with torch.autocast(flat.device.type, enabled=False):
        w = weight.to(dtype)
        b = bias.to(dtype) if bias is not None else None
        total = torch.zeros((), dtype=torch.float32, device=flat.device)
        for start in range(0, flat.shape[0], rows):
            h = flat[start : start + rows].to(dtype)  # (n, D)
            y = targets[start : start + rows]  # (n,)
            logits = F.linear(h, w, b).float()  # (n, V): the only vocabulary-sized tensor
            valid = y != ignore_index
            safe = torch.where(valid, y, 0)
            lse = torch.logsumexp(logits, dim=-1)  # (n,)
            picked = logits.gather(1, safe[:, None])[:, 0]
            total += torch.where(valid, lse - picked, 0.0).sum()
            if grads is None:
                continue
            grad_h, grad_w, grad_b, denom = grads
            # d(sum of token losses)/d logits = softmax - one-hot, on target rows only
            probs = logits.sub_(lse[:, None]).exp_()
            probs[torch.arange(len(y), device=y.device), safe] -= 1.0
            probs.mul_((valid.float() / denom)[:, None])
            if grad_h is not None:
                grad_h[start : start + rows] = (probs.to(dtype) @ w).to(grad_h.dtype)
            if grad_w is not None:
                grad_w.addmm_(probs.t().to(grad_w.dtype), h.to(grad_w.dtype))
            if grad_b is not None:
                grad_b += probs.sum(0).to(grad_b.dtype)
    return total


class _ChunkedLinearCrossEntropy(torch.autograd.Function):
    """Loss and gradients in one chunked pass (forward); backward scales the gradients. They are
    kept as attributes of ctx, not saved tensors, so activation offloading does not move them."""

    @staticmethod
    def forward(ctx: Any, flat, weight, bias, targets, ignore_index, rows, denom) -> torch.Tensor:
        grad_h = torch.empty_like(flat) if ctx.needs_input_grad[0] else None
        grad_w = torch.zeros_like(weight) if ctx.needs_input_grad[1] else None
        grad_b = torch.zeros_like(bias) if bias is not None and ctx.needs_input_grad[2] else None
        total = _chunked_loss(flat, weight, bias, targets, ignore_index, rows, (grad_h, grad_w, grad_b, denom))
        ctx.grads = (grad_h, grad_w, grad_b)
        return total / denom

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor):
        grads = ctx.grads
        ctx.grads = None  # free them with the graph's first (and only) use
        scaled = [None if g is None else g * grad_output.to(g.dtype) for g in grads]
        return scaled[0], scaled[1], scaled[2], None, None, None, None


def _kernel(implementation: str, hidden: torch.Tensor, bias: torch.Tensor | None):
    """The fused CUDA kernel `implementation` names (auto: the first installed), else None."""
    if implementation == "torch" or (implementation == "auto" and hidden.device.type != "cuda"):
        return None
    for name, module, call in (("cce", "cut_cross_entropy", _cce), ("liger", "liger_kernel", _liger)):
        if implementation not in ("auto", name):
            continue
        if importlib.util.find_spec(module) is None:
            if implementation == name:
                raise ValueError(f"implementation={name!r} needs the {module} package, which is not installed")
            continue
        if hidden.device.type != "cuda":
            if implementation == name:
                raise ValueError(f"implementation={name!r} runs on CUDA only; the hidden states are on {hidden.device}")
            continue
        return call
    return None


def _cce(flat, weight, targets, bias, ignore_index) -> torch.Tensor:
    from cut_cross_entropy import linear_cross_entropy as cce

    kwargs = {"bias": bias} if bias is not None else {}
    dtype = _matmul_dtype(flat)
    return cce(flat.to(dtype), weight.to(dtype), targets, ignore_index=ignore_index, reduction="sum", **kwargs).float()


def _liger(flat, weight, targets, bias, ignore_index) -> torch.Tensor:
    from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy

    dtype = _matmul_dtype(flat)
    out = liger_fused_linear_cross_entropy(
        flat.to(dtype), weight.to(dtype), targets, bias, ignore_index=ignore_index, reduction="sum"
    )
    return (out[0] if isinstance(out, tuple) else out).float()


# ----------------------------------------------------------------- the loss of a whole model

# Config fields of Hugging Face models that transform the logits after the head: the hidden
# states alone would give another loss, so these models are refused.
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_logits_scale")


def find_output_head(model: torch.nn.Module) -> torch.nn.Module:
    """The module mapping hidden states to logits: `get_output_embeddings()` (Hugging Face
    models and the Forgather wrapper), else an `output_head` (our CausalLM and its pipeline
    stages) or `lm_head` attribute. A linear map with a (vocab, d) weight, or ValueError."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    for name in ("output_head", "lm_head"):
        if head is None:
            head = getattr(model, name, None)
    if head is None:
        raise ValueError(
            f"linear_cross_entropy: cannot find the output head of {type(model).__name__} (no "
            "get_output_embeddings(), output_head or lm_head)"
        )
    if not isinstance(head, torch.nn.Linear):
        raise ValueError(
            f"linear_cross_entropy: the output head of {type(model).__name__} is a "
            f"{type(head).__name__}, not a torch.nn.Linear"
        )
    config = getattr(model, "config", None)
    for field in _LOGIT_TRANSFORMS:
        value = getattr(config, field, None)
        if value not in (None, 1, 1.0):
            raise ValueError(
                f"linear_cross_entropy: {type(model).__name__} transforms its logits after the head "
                f"(config.{field}={value!r}); the loss from hidden states would differ"
            )
    return head


class LinearCrossEntropyLoss:
    """`compute_loss_func(outputs, labels, num_items_in_batch=None)` for a model whose output
    head returns its input: run the forward inside `hidden_states()` and pass its output here.

        loss_fn = LinearCrossEntropyLoss(model)
        with loss_fn.hidden_states():
            outputs = model(input_ids)          # "logits" are the final hidden states (B, T, D)
        loss = loss_fn(outputs, labels)         # == causal_lm_loss(head(hidden), labels)

    Outside the context the head computes logits as usual (generation, export). The head's
    forward is replaced on the instance by a method that reads the head's `_returns_input` flag
    (parameters and state_dict untouched; a deep copy of the model copies the switch with it),
    so the switch reaches the head through any wrapper (torch.compile, DDP, a pipeline stage).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        ignore_index: int = IGNORE_INDEX,
        chunk_size: int | None = None,
        implementation: str = "auto",
    ) -> None:
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation={implementation!r}: choose one of {', '.join(IMPLEMENTATIONS)}")
        self.head = find_output_head(model)
        self.ignore_index = ignore_index
        self.chunk_size = chunk_size
        self.implementation = implementation
        self.head._returns_input = False
        self.head.forward = types.MethodType(_head_forward, self.head)

    def hidden_states(self) -> "_HiddenStates":
        """Context manager: inside it, the output head returns the hidden states."""
        return _HiddenStates(self)

    def __call__(
        self, outputs: Any, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
    ) -> torch.Tensor:
        from ..loss import logits_of

        hidden = logits_of(outputs)
        if hidden.shape[-1] != self.head.in_features:
            raise ValueError(
                f"linear_cross_entropy: the model returned (..., {hidden.shape[-1]}) outputs, not hidden states "
                f"of width {self.head.in_features}: run its forward inside `hidden_states()`"
            )
        return linear_cross_entropy(
            hidden,
            self.head.weight,
            labels,
            self.head.bias,
            ignore_index=self.ignore_index,
            num_items_in_batch=num_items_in_batch,
            chunk_size=self.chunk_size,
            implementation=self.implementation,
        )

    def __repr__(self) -> str:
        return f"LinearCrossEntropyLoss(chunk_size={self.chunk_size}, implementation={self.implementation!r})"


def _head_forward(head: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return x if head._returns_input else type(head).forward(head, x)


class _HiddenStates:
    def __init__(self, loss: LinearCrossEntropyLoss) -> None:
        self.head = loss.head

    def __enter__(self) -> None:
        self._before = self.head._returns_input
        self.head._returns_input = True

    def __exit__(self, *exc: Any) -> None:
        self.head._returns_input = self._before
