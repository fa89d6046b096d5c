"""Position-wise feed-forward blocks: the two-layer MLP and the gated linear unit (GLU) family."""

from collections.abc import Callable

import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),  # GPT-2's "gelu_new"
    "silu": nn.SiLU,
}


def make_activation(activation: str | Callable[[], nn.Module]) -> nn.Module:
    """An activation module from a name in ACTIVATIONS or from a factory (e.g. `torch.nn:Mish`)."""
    if callable(activation):
        return activation()
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}, or pass a factory"
        )
    return ACTIVATIONS[activation]()


class MLP(nn.Module):
    """down(act(up(x))), d_model -> d_feedforward -> d_model (Vaswani et al. 2017 §3.3; GPT-2)."""

    def __init__(
        self,
        d_model: int,
        d_feedforward: int,
        *,
        activation: str | Callable[[], nn.Module] = "gelu",
        bias: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.up_proj = nn.Linear(d_model, d_feedforward, bias=bias)
        self.act = make_activation(activation)
        self.down_proj = nn.Linear(d_feedforward, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.dropout(self.act(self.up_proj(x))))

    def tp_plan(self, degree: int) -> dict:
        """Tensor parallel: up by output rows, down by input columns (one all-reduce)."""
        from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel

        return {"up_proj": ColwiseParallel(), "down_proj": RowwiseParallel()}


class GLUFeedforward(nn.Module):
    """down(act(gate(x)) * up(x)): SwiGLU with "silu", GeGLU with "gelu" (Shazeer 2020)."""

    def __init__(
        self,
        d_model: int,
        d_feedforward: int,
        *,
        activation: str | Callable[[], nn.Module] = "silu",
        bias: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(d_model, d_feedforward, bias=bias)
        self.up_proj = nn.Linear(d_model, d_feedforward, bias=bias)
        self.act = make_activation(activation)
        self.down_proj = nn.Linear(d_feedforward, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(
            self.dropout(self.act(self.gate_proj(x)) * self.up_proj(x))
        )

    def tp_plan(self, degree: int) -> dict:
        """Tensor parallel: gate and up by output rows, down by input columns (one all-reduce)."""
        from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel

        return {"gate_proj": ColwiseParallel(), "up_proj": ColwiseParallel(), "down_proj": RowwiseParallel()}
