"""AdamW and SGD follow torch.optim.AdamW / torch.optim.SGD within 1e-6 over 100 steps on a
noisy quadratic over vectors, matrices, 3-D and 0-dim tensors."""

import pytest
import torch

from forgather.ml.optim import SGD, AdamW
from optim_testlib import SHAPES, NoisyQuadratic, assert_matches, train

STEPS = 100


def two_groups(params, **second):
    """Half the parameters in a group with its own options (exercises per-group settings)."""
    return [{"params": params[::2]}, {"params": params[1::2], **second}]


ADAMW_CASES = {
    "defaults": (dict(), None),
    "no_decay": (dict(lr=3e-3, weight_decay=0.0), None),
    "betas_eps": (dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), None),
    "maximize": (dict(lr=1e-3, maximize=True), None),
    "groups": (dict(lr=2e-3), dict(lr=5e-3, weight_decay=0.0, betas=(0.5, 0.9))),
}


@pytest.mark.parametrize("case", list(ADAMW_CASES))
@pytest.mark.parametrize("foreach", [False, True])
def test_adamw_matches_torch(case, foreach, device):
    kwargs, second = ADAMW_CASES[case]
    problem = NoisyQuadratic(SHAPES, STEPS, seed=1)

    def groups(params):
        return two_groups(params, **second) if second else params

    ours, _ = train(problem, lambda p: AdamW(groups(p), **kwargs), STEPS, device)
    ref, _ = train(problem, lambda p: torch.optim.AdamW(groups(p), foreach=foreach, **kwargs), STEPS, device)
    assert_matches(ours, ref, problem.init, 1e-6)


def test_adamw_skips_missing_grads(device):
    problem = NoisyQuadratic(SHAPES, STEPS, seed=2)
    skip = lambda k, i: (k + i) % 3 == 0  # noqa: E731 - each parameter misses every third step
    ours, _ = train(problem, lambda p: AdamW(p, lr=1e-2), STEPS, device, skip_grad=skip)
    ref, _ = train(problem, lambda p: torch.optim.AdamW(p, lr=1e-2), STEPS, device, skip_grad=skip)
    assert_matches(ours, ref, problem.init, 1e-6)


SGD_CASES = {
    "plain": dict(lr=1e-2),
    "momentum": dict(lr=1e-2, momentum=0.9),
    "dampening_decay": dict(lr=5e-3, momentum=0.8, dampening=0.3, weight_decay=1e-2),
    "nesterov": dict(lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "maximize": dict(lr=1e-3, momentum=0.5, maximize=True),
}


@pytest.mark.parametrize("case", list(SGD_CASES))
@pytest.mark.parametrize("foreach", [False, True])
def test_sgd_matches_torch(case, foreach, device):
    kwargs = SGD_CASES[case]
    problem = NoisyQuadratic(SHAPES, STEPS, seed=3)
    ours, _ = train(problem, lambda p: SGD(p, **kwargs), STEPS, device)
    ref, _ = train(problem, lambda p: torch.optim.SGD(p, foreach=foreach, **kwargs), STEPS, device)
    assert_matches(ours, ref, problem.init, 1e-6)


def test_sgd_skips_missing_grads_and_keeps_grads_intact(device):
    problem = NoisyQuadratic(SHAPES, STEPS, seed=4)
    skip = lambda k, i: (k * i) % 4 == 1  # noqa: E731
    kwargs = dict(lr=1e-2, momentum=0.9, nesterov=True)
    ours, _ = train(problem, lambda p: SGD(p, **kwargs), STEPS, device, skip_grad=skip)
    ref, _ = train(problem, lambda p: torch.optim.SGD(p, foreach=False, **kwargs), STEPS, device, skip_grad=skip)
    assert_matches(ours, ref, problem.init, 1e-6)
    # the step reads the gradient and leaves it alone
    p = torch.ones(3, requires_grad=True)
    p.grad = torch.full((3,), 2.0)
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    opt.step()
    opt.step()
    assert torch.equal(p.grad, torch.full((3,), 2.0))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: AdamW(p, lr=-1.0), "invalid learning rate"),
        (lambda p: AdamW(p, betas=(0.9, 1.0)), "betas[1]"),
        (lambda p: AdamW(p, betas=0.9), "expected two numbers"),
        (lambda p: AdamW(p, eps=-1e-8), "invalid eps"),
        (lambda p: AdamW([{"params": p, "weight_decay": -0.1}]), "invalid weight_decay"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.5), "invalid momentum"),
        (lambda p: SGD(p, lr="fast"), "invalid learning rate"),
    ],
)
def test_bad_options_are_reported(make, message):
    with pytest.raises(ValueError) as info:
        make([torch.zeros(2, requires_grad=True)])
    assert message in str(info.value)


def test_sparse_gradients_are_refused():
    emb = torch.nn.Embedding(10, 3, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    for opt in (AdamW(emb.parameters()), SGD(emb.parameters(), lr=0.1)):
        with pytest.raises(RuntimeError, match="sparse"):
            opt.step()


def test_closure_loss_is_returned():
    p = torch.ones(2, requires_grad=True)

    def closure():
        p.grad = None
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert float(AdamW([p]).step(closure)) == 2.0
