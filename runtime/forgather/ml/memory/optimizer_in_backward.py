"""The optimizer step fused into backward: each parameter is updated as soon as its gradient is
complete, and its gradient is freed at once, so a step never holds the gradients of the whole
model (for AdamW in float32: 16 bytes per parameter become 12 plus the largest gradient).

    opt = OptimizerInBackward(AdamW(model.parameters(), lr=1e-3))
    sched = cosine_with_warmup(opt, 100, 10_000)      # any scheduler: opt is an Optimizer
    for batch in data:
        loss(model, batch).backward()                 # every parameter steps in here
        opt.step()                                    # finishes the step (nothing left to do)
        sched.step()

How: a `register_post_accumulate_grad_hook` per parameter calls the WRAPPED optimizer's own
`step()` at the moment that parameter's gradient is accumulated. At that moment it is the only
parameter of the optimizer holding a gradient (every other one is either not reached yet or
already stepped and freed), and every optimizer skips parameters without a gradient, so the
call updates exactly that parameter with the optimizer's unchanged arithmetic and state. One
optimizer, not one per parameter: the param groups, the learning-rate schedule, the state_dict
(a checkpoint resumes with or without fusing) and anything indexed by a parameter's position
(APOLLO's random projections, stochastic rounding's seeds) are those of the unfused optimizer.
So a fused step equals a separate step bit for bit (tests/memory). It works for every optimizer
of `forgather.ml.optim`, torch's and bitsandbytes', anything that skips gradient-less
parameters; the cost is one `step()` call per parameter (a Python loop over the parameters).

Clipping: when a parameter steps, the other gradients do not exist yet, so this step's global
norm is unknown. With `max_grad_norm > 0` every gradient is scaled by min(1, max_grad_norm /
norm), the coefficient of `clip_grad_norm_`, with `norm` the last one measured: that of a
measuring pass over the same batch (`with opt.measuring(): loss.backward()`: the hooks take each
gradient's norm and free it, nothing steps), which makes it exact global clipping at the cost of
a second forward and backward (the Trainer does this), or else the previous step's (lagged
global clipping; the first step, with no previous norm, is not clipped). Clipping each gradient
by its own norm (an earlier design) almost never clips and trained measurably worse, as did the
lagged coefficient (docs/benchmarks.md, Memory: quality). The previous norm is part of
`state_dict()`, so a resumed run clips as the original did. `grad_norm()` is the global norm of
the unclipped gradients, accumulated as they arrive, for logging.

Cannot combine with: gradient accumulation (every backward steps: a micro-batch would step on a
part of the batch), a gradient scaler (fp16 loss scaling must see every gradient before it
decides to skip a step), data parallelism that reduces gradients after they are accumulated
(DDP, FSDP), pipeline schedules. The Trainer refuses these with a message.
"""

from __future__ import annotations

from typing import Any, Callable

import contextlib
from typing import Iterator

import torch
from torch.optim import Optimizer


LAST_NORM_KEY = "in_backward_last_grad_norm"


class OptimizerInBackward(Optimizer):
    """Wraps `optimizer` so that each of its parameters steps inside backward (see the module).

    Args:
        optimizer: any `torch.optim.Optimizer` that skips parameters whose `.grad` is None.
        max_grad_norm: > 0 clips every gradient by the global-clipping coefficient of the
            norm of a `measuring()` pass, else of the previous step's norm (see the module).

    The wrapper IS an optimizer sharing the wrapped one's `param_groups`, `state` and
    `defaults`: schedulers change its learning rates, `state_dict()` is the wrapped optimizer's.
    `step()` steps any parameter that still holds a gradient (one set by hand, outside a
    backward) and resets the norm; `zero_grad()` drops every gradient; `remove()` detaches the
    hooks (the wrapped optimizer then works as before).
    """

    def __init__(self, optimizer: Optimizer, *, max_grad_norm: float = 0.0) -> None:
        if isinstance(optimizer, OptimizerInBackward):
            raise ValueError("the optimizer is already stepped in backward")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OptimizerInBackward wraps a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if type(optimizer).__name__ == "LBFGS":
            raise ValueError("LBFGS re-evaluates the loss with a closure: it cannot step inside backward")
        if max_grad_norm is None or max_grad_norm < 0:
            raise ValueError(f"max_grad_norm must be >= 0 (0: no clipping), got {max_grad_norm!r}")
        super().__init__(optimizer.param_groups, optimizer.defaults)  # the hook registries
        self.optimizer = optimizer  # from now on param_groups, state, defaults are its own
        self.max_grad_norm = float(max_grad_norm)
        self._sq_norms: list[torch.Tensor] = []
        self._clip_coef: torch.Tensor | None = None  # from the previous step's global norm
        self._last_norm: torch.Tensor | None = None
        self._measuring = False
        params = list({id(p): p for g in self.param_groups for p in g["params"]}.values())
        self._handles = [p.register_post_accumulate_grad_hook(self._step_parameter) for p in params]

    # Shared with the wrapped optimizer (a scheduler's lr reaches the steps; a load that
    # replaces the wrapped optimizer's groups and state is seen here).
    param_groups = property(lambda self: self._shared("param_groups"), lambda self, v: self._share("param_groups", v))
    state = property(lambda self: self._shared("state"), lambda self, v: self._share("state", v))
    defaults = property(lambda self: self._shared("defaults"), lambda self, v: self._share("defaults", v))

    def _shared(self, name: str) -> Any:
        inner = self.__dict__.get("optimizer")
        return getattr(inner, name) if inner is not None else self.__dict__["_own_" + name]

    def _share(self, name: str, value: Any) -> None:
        inner = self.__dict__.get("optimizer")
        if inner is not None:
            setattr(inner, name, value)
        else:
            self.__dict__["_own_" + name] = value

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        """A backward inside this block only measures: each gradient's norm is taken and the
        gradient freed, nothing steps; on exit the global norm sets the clipping coefficient of
        the next backward (exact global clipping when it runs on the same batch)."""
        if self._measuring:
            raise RuntimeError("OptimizerInBackward.measuring() does not nest")
        self._measuring, saved = True, self._sq_norms
        self._sq_norms = []
        try:
            yield
            norm = self.grad_norm()
            if norm is not None:
                self._set_last_norm(norm)
        finally:
            self._measuring, self._sq_norms = False, saved

    def _step_parameter(self, param: torch.Tensor) -> None:
        grad = param.grad
        norm = torch.linalg.vector_norm(grad.detach(), dtype=torch.float32)
        self._sq_norms.append(norm.square())
        if self._measuring:
            param.grad = None
            return
        if self._clip_coef is not None:
            grad.mul_(self._clip_coef.to(device=grad.device, dtype=grad.dtype))
        self.optimizer.step()
        param.grad = None

    def grad_norm(self) -> torch.Tensor | None:
        """Global norm of this step's gradients (before clipping), None when none arrived."""
        if not self._sq_norms:
            return None
        return torch.stack([s.to(self._sq_norms[0].device) for s in self._sq_norms]).sum().sqrt()

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        if closure is not None:
            raise ValueError("OptimizerInBackward.step() takes no closure: the step runs inside backward")
        left = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        if left:
            for p in left:
                self._sq_norms.append(torch.linalg.vector_norm(p.grad, dtype=torch.float32).square())
                if self._clip_coef is not None:
                    p.grad.mul_(self._clip_coef.to(device=p.grad.device, dtype=p.grad.dtype))
            self.optimizer.step()
            for p in left:
                p.grad = None
        norm = self.grad_norm()
        if norm is not None:
            self._set_last_norm(norm)
        self._sq_norms = []
        return None

    def _set_last_norm(self, norm: torch.Tensor) -> None:
        self._last_norm = norm
        if self.max_grad_norm > 0:  # the next step's coefficient, kept on the device (no sync)
            self._clip_coef = (self.max_grad_norm / (norm + 1e-6)).clamp(max=1.0)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def state_dict(self) -> dict[str, Any]:
        """The wrapped optimizer's, plus the last step's gradient norm (the next step's
        clipping), under a key that an unfused optimizer's load ignores."""
        state = self.optimizer.state_dict()
        if self._last_norm is not None:
            state[LAST_NORM_KEY] = float(self._last_norm)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        last = state_dict.pop(LAST_NORM_KEY, None)
        self.optimizer.load_state_dict(state_dict)
        if last is not None:
            self._set_last_norm(torch.tensor(last, dtype=torch.float32))

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if "optimizer" not in self.__dict__:  # Optimizer.__init__ building the hook registries
            super().add_param_group(param_group)
            return
        raise ValueError("add a param group to the wrapped optimizer before wrapping it")

    def remove(self) -> None:
        """Remove the hooks: backward no longer steps."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __repr__(self) -> str:
        return f"OptimizerInBackward({self.optimizer!r}, max_grad_norm={self.max_grad_norm})"
