"""Pure low-precision training: stochastic rounding (unbiased, only to the two neighbours, NaN
and inf kept, reproducible), `state_dtype` of AdamW, SGD and Adafactor, their float32
arithmetic over 16-bit storage against a float64 reference, resume, and stochastic rounding
beating round-to-nearest where updates fall below half an ulp."""

import math

import pytest
import torch

from forgather.ml.optim import APOLLO, SGD, Adafactor, AdamW, GaLoreAdamW, stochastic_round_
from forgather.ml.optim.rounding import rounding_seed, state_dtype_of
from memory_testlib import batches, lm_loss, roundtrip, tiny_llama

BF16_ULP_1 = 2.0**-7  # spacing of bfloat16 numbers in [1, 2)


def neighbours(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The bfloat16 numbers just below and above (or equal to) each float32 value."""
    bits = x.view(torch.int32)
    down = (bits & -65536).view(torch.float32)  # truncation toward zero
    up = ((bits & -65536) + 65536).view(torch.float32)
    low, high = torch.where(x >= 0, down, up), torch.where(x >= 0, up, down)
    exact = down == x
    return torch.where(exact, x, low), torch.where(exact, x, high)


def test_stochastic_rounding_is_unbiased_and_picks_a_neighbour():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, generator=g) * 10.0 ** torch.randint(-3, 4, (64,), generator=g)  # many binades
    trials = 4000
    sums = torch.zeros(64, dtype=torch.float64)
    low, high = neighbours(x)
    gen = torch.Generator().manual_seed(1)
    out = torch.empty(64, dtype=torch.bfloat16)
    for _ in range(trials):
        stochastic_round_(out, x, gen)
        r = out.float()
        assert torch.all((r == low) | (r == high))
        sums += r.double()
    # mean of `trials` Bernoulli roundings: standard error <= ulp / (2 sqrt(trials)); 5 sigma
    spacing = (high - low).double()
    assert torch.all((sums / trials - x.double()).abs() <= 5 * spacing / (2 * math.sqrt(trials)) + 1e-12)


def test_stochastic_rounding_keeps_representable_values_nan_and_inf():
    x = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.0e38, float("inf"), float("-inf"), float("nan")])
    out = torch.empty(8, dtype=torch.bfloat16)
    for seed in range(20):
        stochastic_round_(out, x, torch.Generator().manual_seed(seed))
        assert torch.equal(out[:4].float(), x[:4])
        assert out[5] == float("inf") and out[6] == float("-inf") and torch.isnan(out[7])


def test_rounding_seeds_differ_per_parameter_and_step():
    seeds = {rounding_seed(0, i, t) for i in range(50) for t in range(50)}
    assert len(seeds) == 2500 and all(0 <= s < 2**63 for s in seeds)
    assert rounding_seed(3, 1, 2) == rounding_seed(3, 1, 2) != rounding_seed(4, 1, 2)


@pytest.mark.parametrize("value", ["bf16", "torch.float33", 16, torch.int8])
def test_bad_state_dtype_is_rejected(value):
    with pytest.raises(ValueError, match="state_dtype"):
        state_dtype_of(value)
    with pytest.raises(ValueError, match="state_dtype"):
        AdamW([torch.zeros(2, requires_grad=True)], state_dtype=value)


OPTIMIZERS = {
    "adamw": lambda p, **kw: AdamW(p, lr=1e-2, weight_decay=0.1, **kw),
    "sgd": lambda p, **kw: SGD(p, lr=1e-2, momentum=0.9, nesterov=True, weight_decay=0.01, **kw),
    "adafactor": lambda p, **kw: Adafactor(p, lr=1e-2, relative_step=False, beta1=0.9, **kw),
}
STATE_KEYS = {"adamw": ["exp_avg", "exp_avg_sq"], "sgd": ["momentum_buffer"],
              "adafactor": ["exp_avg_sq_row", "exp_avg_sq_col", "exp_avg"]}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("state_dtype", ["bfloat16", torch.float32])
def test_state_dtype_is_the_dtype_of_the_state(name, state_dtype):
    p = torch.randn(8, 6, requires_grad=True)
    opt = OPTIMIZERS[name]([p], state_dtype=state_dtype)
    p.grad = torch.randn(8, 6)
    opt.step()
    for key in STATE_KEYS[name]:
        assert opt.state[p][key].dtype == state_dtype_of(state_dtype), key


def reference_adamw(w, grads, lr, betas, eps, wd, state_round):
    """float64 AdamW (torch's formula) whose weights are rounded to bfloat16 after every step
    and whose moments are rounded by `state_round`."""
    w = w.double()
    m = torch.zeros_like(w)
    v = torch.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = g.double()
        w = w * (1 - lr * wd)
        m = state_round(betas[0] * m + (1 - betas[0]) * g)
        v = state_round(betas[1] * v + (1 - betas[1]) * g * g)
        w = w - lr / (1 - betas[0] ** t) * m / ((v / (1 - betas[1] ** t)).sqrt() + eps)
        w = w.to(torch.bfloat16).double()
    return w


@pytest.mark.parametrize("state_dtype", [torch.float32, torch.bfloat16])
def test_adamw_on_bfloat16_weights_matches_a_float64_reference(state_dtype):
    # float32 arithmetic, rounded to nearest: within a few bfloat16 ulps of float64 arithmetic
    g = torch.Generator().manual_seed(3)
    w0 = torch.randn(40, 30, generator=g)
    grads = [torch.randn(40, 30, generator=g) for _ in range(20)]
    p = w0.to(torch.bfloat16).requires_grad_()
    opt = AdamW([p], lr=1e-2, weight_decay=0.1, state_dtype=state_dtype)
    for grad in grads:
        p.grad = grad.to(torch.bfloat16)
        opt.step()
    state_round = (lambda x: x.float().double()) if state_dtype == torch.float32 else (lambda x: x.to(torch.bfloat16).double())
    ref = reference_adamw(w0.to(torch.bfloat16), [x.to(torch.bfloat16) for x in grads], 1e-2, (0.9, 0.999), 1e-8, 0.1, state_round)
    diff = (p.detach().double() - ref).abs()
    moved = (ref - w0.to(torch.bfloat16).double()).abs().max()
    assert diff.max() <= 4 * BF16_ULP_1 * ref.abs().max() / 2, f"max diff {diff.max():.3g}"
    assert moved > 0.1  # the comparison is not vacuous
    assert (diff > 0).float().mean() < 0.1  # nearly all elements agree exactly


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_stochastic_rounding_follows_updates_below_half_an_ulp(name):
    # weights near 1 (ulp 2^-7), updates of ~1e-3: round-to-nearest never moves them, stochastic
    # rounding moves them by the float32 trajectory on average
    g = torch.Generator().manual_seed(4)
    w0 = 1.0 + 0.5 * torch.rand(4000, generator=g)
    grads = [0.5 + 0.1 * torch.randn(4000, generator=g) for _ in range(30)]
    kwargs = {"lr": 1e-3}

    def run(dtype, **kw):
        p = w0.to(dtype).clone().requires_grad_()
        opt = OPTIMIZERS[name]([p], **kw)
        for group in opt.param_groups:
            group.update(kwargs)
            group["weight_decay"] = 0.0
        for grad in grads:
            p.grad = grad.to(dtype)
            opt.step()
        return p.detach().double()

    exact = run(torch.float32)
    nearest = run(torch.bfloat16)
    stochastic = run(torch.bfloat16, stochastic_rounding=True, state_dtype=torch.float32)
    start = w0.to(torch.bfloat16).double()
    assert (exact - start).abs().mean() > 0.5 * BF16_ULP_1  # the float32 run moved
    err_nearest = (nearest - exact).mean().abs()
    err_stochastic = (stochastic - exact).mean().abs()
    assert err_stochastic < 0.2 * err_nearest, (float(err_stochastic), float(err_nearest))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_low_precision_resume_is_bit_identical(name):
    # 4 steps, state_dict through torch.save / weights-only load, 4 more == 8 straight
    g = torch.Generator().manual_seed(5)
    w0 = torch.randn(3, 40, 24, generator=g)
    grads = [torch.randn(3, 40, 24, generator=g) for _ in range(8)]
    kw = dict(stochastic_rounding=True, state_dtype=torch.bfloat16, seed=9)

    def steps(p, opt, part):
        for grad in part:
            p.grad = grad.to(torch.bfloat16)
            opt.step()

    p = w0.to(torch.bfloat16).requires_grad_()
    steps(p, OPTIMIZERS[name]([p], **kw), grads)
    straight = p.detach().clone()
    p = w0.to(torch.bfloat16).requires_grad_()
    opt = OPTIMIZERS[name]([p], **kw)
    steps(p, opt, grads[:4])
    saved = roundtrip(opt.state_dict())
    q = p.detach().clone().requires_grad_()
    fresh = OPTIMIZERS[name]([q], **kw)
    fresh.load_state_dict(saved)
    steps(q, fresh, grads[4:])
    assert torch.equal(q.detach(), straight)


def test_bfloat16_weights_train_a_tiny_llama():
    model = tiny_llama(dtype=torch.bfloat16)
    opt = AdamW(model.parameters(), lr=3e-3, stochastic_rounding=True)
    data = batches(12)
    first = float(lm_loss(model, data[0]).detach())
    for ids in data * 3:
        lm_loss(model, ids).backward()
        opt.step()
        opt.zero_grad()
    assert all(p.dtype == torch.bfloat16 for p in model.parameters())
    assert float(lm_loss(model, data[0]).detach()) < first - 0.5


PROJECTED = {
    "galore": lambda p, **kw: GaLoreAdamW([{"params": p[:1]}, {"params": p[1:], "rank": 4}], lr=1e-2, update_proj_gap=3, **kw),
    "apollo": lambda p, **kw: APOLLO([{"params": p[:1], "rank": None}, {"params": p[1:]}], lr=1e-2, rank=4, update_proj_gap=3, **kw),
}


@pytest.mark.parametrize("name", list(PROJECTED))
def test_projected_optimizers_keep_bfloat16_state_close_to_float32_state(name):
    # state_dtype of GaLore and APOLLO: moments (projected and full) stored in bfloat16, the
    # arithmetic float32; the weights follow the float32-state run within bfloat16 noise
    g = torch.Generator().manual_seed(6)
    w0 = [torch.randn(20, generator=g), torch.randn(24, 16, generator=g)]
    grads = [[torch.randn(20, generator=g), torch.randn(24, 16, generator=g)] for _ in range(7)]

    def run(**kw):
        params = [w.clone().requires_grad_() for w in w0]
        opt = PROJECTED[name](params, **kw)
        for step in grads:
            for p, grad in zip(params, step):
                p.grad = grad
            opt.step()
        return params, opt

    exact, _ = run()
    low, opt = run(state_dtype="bfloat16")
    states = [v for s in opt.state.values() for k, v in s.items() if k in ("exp_avg", "exp_avg_sq")]
    assert len(states) == 4 and all(t.dtype == torch.bfloat16 for t in states)
    for a, b, w in zip(low, exact, w0):
        assert float((a - b).abs().max()) < 0.02 < float((b - w).abs().max())



@pytest.mark.parametrize("options", [dict(relative_step=False, lr=1e-2, scale_parameter=False),
                                     dict(relative_step=True, beta1=0.9, weight_decay=0.1)])
def test_adafactor_on_a_bfloat16_matrix_in_row_chunks_matches_float32_weights(monkeypatch, options):
    # the 16-bit matrix path (chunks of whole rows: the statistics, RMS(u) and RMS(p) are sums
    # over chunks) against the whole-tensor path on float32 weights holding the same values, one
    # step rounded to nearest: nearly equal float32 results round to the same bfloat16 number
    # except within a float32 rounding of a tie (at most one ulp, rarely)
    import forgather.ml.optim.adafactor as adafactor

    monkeypatch.setattr(adafactor, "CHUNK", 3 * 24)  # 3 rows of 24 a chunk: 14 chunks, the last short
    g = torch.Generator().manual_seed(6)
    w0 = torch.randn(40, 24, generator=g).to(torch.bfloat16)
    grad = torch.randn(40, 24, generator=g).to(torch.bfloat16)
    ref = w0.float().requires_grad_()
    ref.grad = grad.float()
    ref_opt = Adafactor([ref], **options)
    ref_opt.step()
    p = w0.clone().requires_grad_()
    p.grad = grad.clone()
    opt = Adafactor([p], **options)
    opt.step()
    expected = ref.detach().to(torch.bfloat16).double()
    diff = (p.detach().double() - expected).abs()
    assert (p.detach() != w0).float().mean() > 0.2  # the step moved the weights (relative_step: a quarter)
    assert (diff <= BF16_ULP_1 * expected.abs().clamp(min=1.0)).all(), f"max diff {diff.max():.3g}"
    assert (diff > 0).float().mean() < 0.02
    for key in ("exp_avg_sq_row", "exp_avg_sq_col") + (("exp_avg",) if "beta1" in options else ()):
        torch.testing.assert_close(opt.state[p][key], ref_opt.state[ref][key], rtol=1e-5, atol=1e-7)
