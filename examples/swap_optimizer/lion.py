"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): the update is the
sign of an interpolation between the momentum and the gradient, so every coordinate moves by
exactly lr; one momentum buffer per parameter (half of Adam's state).

A user's optimizer for examples/swap_optimizer: any torch.optim.Optimizer works, because the
trainer only calls the config's partial with the model's named parameters.
"""

import torch


class Lion(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        if lr <= 0:
            raise ValueError(f"Lion: lr must be positive, got {lr}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                m = state["exp_avg"]
                p.mul_(1 - group["lr"] * group["weight_decay"])  # decoupled, as AdamW
                update = (beta1 * m + (1 - beta1) * p.grad).sign_()
                p.add_(update, alpha=-group["lr"])
                m.mul_(beta2).add_(p.grad, alpha=1 - beta2)  # the momentum uses beta2
        return loss
