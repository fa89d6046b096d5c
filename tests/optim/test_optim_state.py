"""State: a state_dict saved mid-training (through torch.save and a weights-only torch.load, as
a checkpoint does) and loaded into a fresh optimizer continues bit-identically; and the state
size of a 4096 x 4096 weight, asserted exactly per optimizer."""

import pytest
import torch

from forgather.ml.optim import APOLLO, SGD, Adafactor, AdamW, GaLoreAdamW, apollo_mini, state_bytes
from optim_testlib import MATRICES, SHAPES, NoisyQuadratic, checkpoint_roundtrip, train

FACTORIES = {
    "adamw": lambda p: AdamW(p, lr=1e-2, weight_decay=0.1),
    "sgd": lambda p: SGD(p, lr=1e-2, momentum=0.9, nesterov=True),
    "adafactor": lambda p: Adafactor(p, beta1=0.9, weight_decay=0.01),
    "galore": lambda p: GaLoreAdamW(
        [{"params": p[:3]}, {"params": p[3:], "rank": 4, "proj_type": "full"}], lr=1e-2, rank=4, update_proj_gap=5
    ),
    "apollo": lambda p: APOLLO(p, lr=1e-2, rank=3, update_proj_gap=5, weight_decay=0.1),
    "apollo_mini": lambda p: apollo_mini(p, lr=1e-3, update_proj_gap=5),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_resume_from_state_dict_is_bit_identical(name, device):
    # 8 steps, save, 9 more: the resumed run crosses projection refreshes at steps 10 and 15
    shapes = SHAPES + MATRICES
    problem = NoisyQuadratic(shapes, 17, seed=21, linear=(name == "galore"))
    straight, _ = train(problem, FACTORIES[name], 17, device)

    params, opt = train(problem, FACTORIES[name], 8, device)
    saved_params = [p.detach().clone() for p in params]
    saved_state = checkpoint_roundtrip(opt.state_dict())
    del opt

    params = [p.clone().requires_grad_() for p in saved_params]
    fresh = FACTORIES[name](params)
    fresh.load_state_dict(saved_state)
    resumed, _ = train(problem, None, 9, params=params, optimizer=fresh, start=8)
    for a, b in zip(resumed, straight):
        assert torch.equal(a, b)


def test_float32_state_of_bfloat16_parameters_survives_a_reload():
    problem = NoisyQuadratic([(6, 8)], 4, seed=22)
    params = problem.params(dtype=torch.bfloat16)
    _, opt = train(problem, lambda p: Adafactor(p, beta1=0.9), 4, params=params)
    fresh = Adafactor(params, beta1=0.9)
    fresh.load_state_dict(checkpoint_roundtrip(opt.state_dict()))
    for key, value in opt.state[params[0]].items():
        loaded = fresh.state[params[0]][key]
        assert (
            loaded == value
            if not torch.is_tensor(value)
            else torch.equal(loaded, value) and loaded.dtype == value.dtype
        )


# --- state size of one 4096 x 4096 float32 weight -------------------------------------------

N = 4096
FLOAT = 4
MATRIX = N * N * FLOAT  # 64 MiB
SIZES = {
    # name: (factory, bytes): step counters are Python ints and take none
    "sgd": (lambda p: SGD(p, lr=0.1), 0),
    "sgd_momentum": (lambda p: SGD(p, lr=0.1, momentum=0.9), MATRIX),
    "adamw": (lambda p: AdamW(p), 2 * MATRIX),  # two full moments
    "adafactor": (lambda p: Adafactor(p), 2 * N * FLOAT),  # row and column second moments
    "adafactor_beta1": (lambda p: Adafactor(p, beta1=0.9), MATRIX + 2 * N * FLOAT),
    # projector (r x n) + two r x n moments
    "galore_r128": (lambda p: GaLoreAdamW(p, rank=128), 3 * 128 * N * FLOAT),
    "galore_r128_full": (lambda p: GaLoreAdamW(p, rank=128, proj_type="full"), (2 * 128 * N + 2 * 128 * 128) * FLOAT),
    # projection (r x n) + two r x n moments + the limiter's 0-dim norm
    "apollo_r256": (lambda p: APOLLO(p, rank=256), 3 * 256 * N * FLOAT + FLOAT),
    "apollo_mini": (lambda p: apollo_mini(p), 3 * N * FLOAT + FLOAT),
    "apollo_mini_no_limiter": (lambda p: apollo_mini(p, norm_growth_limit=None), 3 * N * FLOAT),
}


def one_step(factory, device):
    weight = torch.nn.Parameter(torch.empty(N, N, device=device))
    weight.grad = (
        torch.empty(N, N, device=device)
        if device == "meta"
        else torch.randn(N, N, generator=torch.Generator().manual_seed(0))
    )
    opt = factory([weight])
    opt.step()
    return opt


@pytest.mark.parametrize("name", list(SIZES))
def test_state_bytes_of_a_4096_square_weight(name):
    factory, expected = SIZES[name]
    # the meta device gives the same state without memory or FLOPs (GaLore's SVD of a 4096^2
    # matrix takes half a minute on two cores); the cheap ones are checked with real tensors too
    assert state_bytes(one_step(factory, "meta")) == expected
    if not name.startswith("galore"):
        assert state_bytes(one_step(factory, "cpu")) == expected


def test_state_bytes_counts_whole_storages_once():
    p = torch.nn.Parameter(torch.zeros(10, 10))
    opt = SGD([p], lr=0.1)
    big = torch.zeros(100, 10)
    opt.state[p]["view"] = big[:1]  # a view keeps all of `big` alive
    opt.state[p]["again"] = big  # ... which is counted once

    class Holder:  # third-party optimizers keep objects in their state
        def __init__(self):
            self.matrix = torch.zeros(3, 4, dtype=torch.float64)

    opt.state[p]["holder"] = [Holder(), 7, "text"]
    assert state_bytes(opt) == 100 * 10 * 4 + 3 * 4 * 8
