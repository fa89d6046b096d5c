"""Shared problems for the optimizer tests: random parameters of many shapes and a
deterministic noisy quadratic whose gradients are full rank."""

from __future__ import annotations

import io
import warnings
from typing import Callable, Sequence

import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# vector, wide, tall, square, 3-D, 0-dim
SHAPES: list[tuple[int, ...]] = [(7,), (5, 9), (12, 4), (6, 6), (3, 4, 5), ()]
MATRICES: list[tuple[int, int]] = [(24, 40), (48, 20), (32, 32)]


class NoisyQuadratic:
    """loss = sum_i sum(c_i * (p_i - t_i)^2) + <n_ik, p_i>: fixed curvature c, target t and a
    fresh noise n for every step k, all from one seed, so every run sees the same problem.

    linear=True makes it loss = sum_i <t_i + n_ik, p_i>: gradients that do not depend on the
    parameters, so two optimizers see bit-identical gradients. `magnitude` scales parameters,
    targets and noise: a float64 reference can only be matched to 1e-6 absolute where float32
    storage rounds finer than that over the run (weights of 0.1, not 3). GaLore needs that for a fair
    comparison: an SVD refresh turns a 1e-7 difference in a gradient with nearly equal singular
    values into a different subspace (or a flipped sign), in any two implementations."""

    def __init__(
        self,
        shapes: Sequence[tuple[int, ...]],
        steps: int,
        seed: int = 0,
        noise: float = 0.5,
        linear: bool = False,
        magnitude: float = 1.0,
    ):
        self.linear = linear
        g = torch.Generator().manual_seed(seed)
        self.shapes = list(shapes)
        self.init = [magnitude * torch.randn(s, generator=g) for s in shapes]
        self.curvature = [torch.rand(s, generator=g) + 0.5 for s in shapes]
        self.target = [magnitude * torch.randn(s, generator=g) for s in shapes]
        self.noise = [[magnitude * noise * torch.randn(s, generator=g) for s in shapes] for _ in range(steps)]

    def params(self, device: str = "cpu", dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
        return [p.to(device=device, dtype=dtype).clone().requires_grad_() for p in self.init]

    def loss(self, params: Sequence[torch.Tensor], k: int) -> torch.Tensor:
        total = 0.0
        for p, c, t, n in zip(params, self.curvature, self.target, self.noise[k]):
            c, t, n = (x.to(device=p.device, dtype=p.dtype) for x in (c, t, n))
            if self.linear:
                total = total + ((t + n) * p).sum()
            else:
                total = total + (c * (p - t) ** 2).sum() + (n * p).sum()
        return total


def train(
    problem: NoisyQuadratic,
    make_optimizer: Callable[[list], torch.optim.Optimizer],
    steps: int,
    device: str = "cpu",
    params: list[torch.Tensor] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    start: int = 0,
    skip_grad: Callable[[int, int], bool] | None = None,
) -> tuple[list[torch.Tensor], torch.optim.Optimizer]:
    """Run `steps` optimizer steps (problem steps start..start+steps-1); `skip_grad(k, i)`
    drops parameter i's gradient at step k (optimizers must skip it)."""
    params = problem.params(device) if params is None else params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # galore-torch's deprecation notice
        optimizer = make_optimizer(params) if optimizer is None else optimizer
    for k in range(start, start + steps):
        optimizer.zero_grad(set_to_none=True)
        problem.loss(params, k).backward()
        if skip_grad is not None:
            for i, p in enumerate(params):
                if skip_grad(k, i):
                    p.grad = None
        optimizer.step()
    return params, optimizer


def max_diff(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> float:
    return max(float((x.detach().double().cpu() - y.detach().double().cpu()).abs().max()) for x, y in zip(a, b))


def checkpoint_roundtrip(state: dict) -> dict:
    """What a checkpoint does to a state dict: torch.save, then a weights-only torch.load."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def assert_matches(ours: Sequence[torch.Tensor], ref: Sequence[torch.Tensor], init: Sequence[torch.Tensor], tol: float):
    """`ours` within `tol` of `ref`, and training really moved the parameters (no vacuous pass)."""
    diff, moved = max_diff(ours, ref), max_diff(ref, init)
    assert diff <= tol, f"max |ours - reference| = {diff:.3g} > {tol:g}"
    assert moved > 100 * tol, f"parameters barely moved ({moved:.3g}): the comparison proves nothing"
