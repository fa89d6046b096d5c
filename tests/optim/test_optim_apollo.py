"""APOLLO and APOLLO-Mini follow an independent float64 implementation of the paper's
Algorithm 1 (arXiv 2412.05270), written here, within 1e-6 over 50 steps with projection
refreshes, on wide, tall and square matrices plus full-rank (Adam) vectors and 3-D tensors.

The only thing shared with the implementation is the documented randomness contract: the
projection of refresh k of parameter i is N(0, 1/r) drawn in float32 from a CPU generator
seeded with projection_seed(seed, i, k)."""

import math

import pytest
import torch

from forgather.ml.optim import APOLLO, apollo_mini
from forgather.ml.optim.apollo import projection_seed, random_projection
from optim_testlib import MATRICES, NoisyQuadratic, assert_matches, train

STEPS = 50
OTHERS = [(7,), (3, 4, 5)]


def reference_apollo(
    problem,
    steps,
    *,
    lr,
    betas=(0.9, 0.999),
    eps=1e-6,
    weight_decay=0.0,
    rank,
    update_proj_gap,
    scale=1.0,
    scale_type="channel",
    norm_growth_limit=1.01,
    seed=0,
):
    """Algorithm 1 in float64, one parameter at a time, every quantity materialized."""
    beta1, beta2 = betas
    params = problem.params(dtype=torch.float64)
    states = [dict() for _ in params]
    for k in range(steps):
        for p in params:
            p.grad = None
        problem.loss(params, k).backward()
        t = k + 1  # every parameter has a gradient at every step here
        correction = math.sqrt(1 - beta2**t) / (1 - beta1**t)
        for i, (p, state) in enumerate(zip(params, states)):
            G = p.grad
            with torch.no_grad():
                if G.dim() != 2:  # not projected: Adam, eps on sqrt(v), correction in the step
                    state.setdefault("m", torch.zeros_like(G))
                    state.setdefault("v", torch.zeros_like(G))
                    state["m"] = beta1 * state["m"] + (1 - beta1) * G
                    state["v"] = beta2 * state["v"] + (1 - beta2) * G * G
                    p -= lr * weight_decay * p
                    p -= lr * correction * state["m"] / (state["v"].sqrt() + eps)
                    continue
                m, n = G.shape
                if k % update_proj_gap == 0:  # Step 1: P ~ N(0, 1/r), a new seed every T steps
                    r = min(rank, m, n)
                    generator = torch.Generator().manual_seed(projection_seed(seed, i, k // update_proj_gap))
                    draw = torch.randn(r, min(m, n), generator=generator, dtype=torch.float32)
                    state["P"] = draw.double() / math.sqrt(r)
                P = state["P"]
                # project the smaller side, so channels (columns of R) run along the larger one
                Gw = G if m < n else G.T  # "wide" view: m' <= n'
                R = P @ Gw
                # Step 2: low-rank Adam moments (no weight decay)
                state["m"] = beta1 * state.get("m", torch.zeros_like(R)) + (1 - beta1) * R
                state["v"] = beta2 * state.get("v", torch.zeros_like(R)) + (1 - beta2) * R * R
                R_tilde = state["m"] / (state["v"].sqrt() + eps)
                # Step 3: channel-wise or tensor-wise scaling factor
                if scale_type == "channel":
                    s = R_tilde.norm(dim=0) / (R.norm(dim=0) + 1e-8)
                    U = Gw * s[None, :]
                else:
                    s = R_tilde.norm() / (R.norm() + 1e-8)
                    U = Gw * s
                U = U if m < n else U.T
                # norm-growth limiter (Fira): ||U_t|| <= gamma * ||U_{t-1}||
                if norm_growth_limit is not None:
                    norm = U.norm()
                    if "prev" in state:
                        limiter = max(float(norm / (state["prev"] + 1e-8)), norm_growth_limit) / norm_growth_limit
                        U = U / limiter
                        norm = norm / limiter
                    state["prev"] = norm
                # Step 4: W <- W - lr*wd*W - lr*alpha*U (bias correction folded into the step)
                p -= lr * weight_decay * p
                p -= lr * scale * correction * U
    return params


CASES = {
    "channel": dict(lr=1e-2, rank=4, update_proj_gap=10, weight_decay=0.02),
    "tensor": dict(lr=1e-2, rank=6, update_proj_gap=7, scale=2.0, scale_type="tensor", seed=3),
    "no_limiter": dict(lr=2e-2, rank=4, update_proj_gap=10, norm_growth_limit=None, betas=(0.8, 0.99)),
    "rank_above_dims": dict(lr=1e-2, rank=64, update_proj_gap=10),
    "strong_limiter": dict(lr=1e-2, rank=2, update_proj_gap=5, norm_growth_limit=1.0001, eps=1e-4),
}


@pytest.mark.parametrize("case", list(CASES))
def test_apollo_matches_float64_reference(case, device):
    kwargs = CASES[case]
    problem = NoisyQuadratic(MATRICES + OTHERS, STEPS, seed=11, magnitude=0.1)
    ours, _ = train(problem, lambda p: APOLLO(p, **kwargs), STEPS, device)
    ref = reference_apollo(problem, STEPS, **kwargs)
    assert_matches(ours, ref, problem.init, 1e-6)


def test_apollo_mini_matches_float64_reference(device):
    problem = NoisyQuadratic(MATRICES + OTHERS, STEPS, seed=12, magnitude=0.1)
    ours, opt = train(problem, lambda p: apollo_mini(p, lr=2e-3, update_proj_gap=10, weight_decay=0.1), STEPS, device)
    mini = dict(rank=1, scale_type="tensor", scale=math.sqrt(128))
    ref = reference_apollo(problem, STEPS, lr=2e-3, update_proj_gap=10, weight_decay=0.1, **mini)
    assert_matches(ours, ref, problem.init, 1e-6)
    group = opt.param_groups[0]
    assert (group["rank"], group["scale_type"], group["scale"]) == (1, "tensor", math.sqrt(128))


def test_projection_refresh_and_seed_contract():
    problem = NoisyQuadratic(MATRICES, 25, seed=13)
    params = problem.params()
    opt = APOLLO(params, lr=1e-2, rank=3, update_proj_gap=10, seed=5)
    history = []
    for k in range(25):
        train(problem, None, 1, params=params, optimizer=opt, start=k)
        history.append([opt.state[p]["projection"].clone() for p in params])
    for i, (m, n) in enumerate(MATRICES):
        changes = [k for k in range(1, 25) if not torch.equal(history[k][i], history[k - 1][i])]
        assert changes == [10, 20]
        for k, refresh in ((0, 0), (10, 1), (20, 2)):
            expected = random_projection(3, min(m, n), projection_seed(5, i, refresh))
            assert torch.equal(history[k][i], expected)
    # every (parameter, refresh) pair draws from its own stream
    seeds = {projection_seed(s, i, k) for s in range(3) for i in range(50) for k in range(50)}
    assert len(seeds) == 3 * 50 * 50


def test_random_projection_distribution():
    draw = random_projection(16, 4096, seed=1)
    assert draw.dtype == torch.float32 and draw.shape == (16, 4096)
    assert abs(float(draw.mean())) < 0.01 and abs(float(draw.var()) * 16 - 1.0) < 0.05


def test_target_and_rank_none_route_to_adam():
    names = ["layers.0.mlp.up", "embed.weight", "layers.0.attn.q", "norm.weight", "experts.weight"]
    problem = NoisyQuadratic(MATRICES + OTHERS, 3, seed=14)
    params = problem.params()
    _, opt = train(problem, lambda p: APOLLO(list(zip(names, p)), rank=2, target=r"\.(mlp|attn)\."), 3, params=params)
    assert ["projection" in opt.state[p] for p in params] == [True, False, True, False, False]
    params = problem.params()
    groups = [{"params": params[:1], "rank": None}, {"params": params[1:]}]
    _, opt = train(problem, lambda p: APOLLO(groups, rank=2), 3, params=params)
    assert ["projection" in opt.state[p] for p in params] == [False, True, True, False, False]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rank=0), "invalid rank"),
        (dict(scale_type="row"), "invalid scale_type"),
        (dict(norm_growth_limit=0.5), "invalid norm_growth_limit"),
        (dict(update_proj_gap=-3), "invalid update_proj_gap"),
        (dict(seed=-1), "invalid seed"),
        (dict(target="mlp"), "pass named parameters"),
        (dict(betas=(1.2, 0.9)), "betas[0]"),
    ],
)
def test_bad_options_are_reported(kwargs, message):
    with pytest.raises(ValueError) as info:
        APOLLO([torch.zeros(2, 2, requires_grad=True)], **kwargs)
    assert message in str(info.value)
