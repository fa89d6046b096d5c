"""The optimizer step fused into backward equals the separate step bit for bit (the same
per-parameter arithmetic, stepped at another time), for every optimizer of the project, torch's
and bitsandbytes', with a learning-rate schedule and tied weights; lagged global clipping; the
gradient norm; resume (N + N == 2N) through a weights-only checkpoint of its state_dict."""

import pytest
import torch

from forgather.ml.memory.optimizer_in_backward import OptimizerInBackward
from forgather.ml.optim import APOLLO, SGD, Adafactor, AdamW, GaLoreAdamW, apollo_mini, low_bit_adamw
from memory_testlib import batches, clone, lm_loss, roundtrip, same_parameters, tiny_llama

OPTIMIZERS = {
    "adamw": lambda p: AdamW(p, lr=1e-2, weight_decay=0.1),
    "adamw_bf16_state_sr": lambda p: AdamW(p, lr=1e-2, state_dtype="bfloat16", stochastic_rounding=True),
    "sgd": lambda p: SGD(p, lr=1e-1, momentum=0.9, nesterov=True),
    "adafactor": lambda p: Adafactor(p, lr=1e-2, relative_step=False, beta1=0.9),
    "galore": lambda p: GaLoreAdamW(p, lr=1e-2, rank=4, update_proj_gap=2),
    "apollo": lambda p: APOLLO(p, lr=1e-2, rank=4, update_proj_gap=2),
    "apollo_mini": lambda p: apollo_mini(p, lr=1e-2, update_proj_gap=2),
    "torch_adamw": lambda p: torch.optim.AdamW(p, lr=1e-2),
    "torch_adamw_fused": lambda p: torch.optim.AdamW(p, lr=1e-2, fused=True),
    "torch_sgd": lambda p: torch.optim.SGD(p, lr=1e-1, momentum=0.9),
    "bitsandbytes_8bit": lambda p: low_bit_adamw(p, lr=1e-2, backend="bitsandbytes", min_8bit_size=0),
}
STEPS = 4


def schedule(optimizer):
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step))


def train_separate(model, optimizer, data, max_norm=0.0, fused_norms=None):
    sched = schedule(optimizer)
    norms = []
    for ids in data:
        lm_loss(model, ids).backward()
        params = [p for p in model.parameters() if p.grad is not None]
        norms.append(torch.nn.utils.get_total_norm([p.grad for p in params]))
        if max_norm and len(norms) > 1:  # the fused step's semantics: global clipping with the
            # previous step's norm (the fused run's own sum, bit for bit: the order of a sum matters)
            coef = (max_norm / (fused_norms[len(norms) - 2] + 1e-6)).clamp(max=1.0)
            torch._foreach_mul_([p.grad for p in params], coef)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sched.step()
    return norms


def train_fused(model, optimizer, data):
    sched = schedule(optimizer)
    norms = []
    for ids in data:
        lm_loss(model, ids).backward()
        assert all(p.grad is None for p in model.parameters())  # stepped and freed inside backward
        norms.append(optimizer.grad_norm())
        optimizer.step()
        sched.step()
    return norms


def needs(name):
    if name == "bitsandbytes_8bit":
        pytest.importorskip("bitsandbytes", reason="bitsandbytes is not installed (pip install 'forgather[lowbit]')")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fused_step_equals_separate_step(name):
    needs(name)
    data = batches(STEPS)
    separate, fused = tiny_llama(), tiny_llama()
    train_separate(separate, OPTIMIZERS[name](separate.parameters()), data)
    wrapped = OptimizerInBackward(OPTIMIZERS[name](fused.parameters()))
    train_fused(fused, wrapped, data)
    assert same_parameters(separate, fused)
    assert not same_parameters(separate, tiny_llama())  # training moved the weights


def test_fused_adafactor_on_bfloat16_weights_equals_separate_step(monkeypatch):
    # bench_memory's combined_adafactor: bfloat16 weights and state, stochastic rounding, the
    # 16-bit matrices updated in row chunks (2 rows of 32 here); the random bits are per
    # (parameter, step), so the fused run draws what the separate one draws
    import forgather.ml.optim.adafactor as adafactor

    monkeypatch.setattr(adafactor, "CHUNK", 64)
    def make(p):
        return Adafactor(p, lr=1e-2, relative_step=False, scale_parameter=False, state_dtype="bfloat16",
                         stochastic_rounding=True, seed=5)

    data = batches(STEPS)
    separate, fused = tiny_llama(dtype=torch.bfloat16), tiny_llama(dtype=torch.bfloat16)
    train_separate(separate, make(separate.parameters()), data)
    train_fused(fused, OptimizerInBackward(make(fused.parameters())), data)
    assert same_parameters(separate, fused)
    assert not same_parameters(separate, tiny_llama(dtype=torch.bfloat16))


@pytest.mark.parametrize("name", ["adamw", "torch_adamw", "sgd"])
def test_tied_weights_step_once_with_both_gradients(name):
    data = batches(STEPS)
    separate, fused = tiny_llama(tied=True), tiny_llama(tied=True)
    assert fused.lm_head.weight is fused.model.embed_tokens.weight
    train_separate(separate, OPTIMIZERS[name](separate.parameters()), data)
    train_fused(fused, OptimizerInBackward(OPTIMIZERS[name](fused.parameters())), data)
    assert same_parameters(separate, fused)


def test_lagged_global_clipping_and_the_global_norm():
    data = batches(STEPS)
    separate, fused = tiny_llama(), tiny_llama()
    fused_norms = train_fused(fused, OptimizerInBackward(AdamW(fused.parameters(), lr=1e-2), max_grad_norm=0.05), data)
    norms = train_separate(separate, AdamW(separate.parameters(), lr=1e-2), data, max_norm=0.05, fused_norms=fused_norms)
    assert same_parameters(separate, fused)
    for a, b in zip(norms, fused_norms):  # the global norm of the unclipped gradients, logged
        assert abs(float(a) - float(b)) <= 1e-6 * float(a)
    assert min(float(n) for n in norms) > 0.05  # clipping was active


def test_measuring_pass_gives_exact_global_clipping():
    data = batches(STEPS)
    separate, fused = tiny_llama(), tiny_llama()
    opt = AdamW(separate.parameters(), lr=1e-2)
    for ids in data:
        lm_loss(separate, ids).backward()
        torch.nn.utils.clip_grad_norm_(separate.parameters(), 0.05)
        opt.step()
        opt.zero_grad(set_to_none=True)
    wrapped = OptimizerInBackward(AdamW(fused.parameters(), lr=1e-2), max_grad_norm=0.05)
    for ids in data:
        with wrapped.measuring():
            lm_loss(fused, ids).backward()
        assert all(p.grad is None for p in fused.parameters())  # measured and freed
        lm_loss(fused, ids).backward()
        wrapped.step()
    for a, b in zip(separate.parameters(), fused.parameters()):  # the norm's sum order differs
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    assert not same_parameters(fused, tiny_llama())


@pytest.mark.parametrize("name", ["adamw_bf16_state_sr", "apollo", "torch_adamw", "bitsandbytes_8bit"])
def test_resume_n_plus_n_equals_2n(name):
    needs(name)  # with clipping: the previous step's norm (the next coefficient) is in the state_dict
    data = batches(2 * STEPS)
    straight = tiny_llama()
    train_fused(straight, OptimizerInBackward(OPTIMIZERS[name](straight.parameters()), max_grad_norm=0.05), data)

    first = tiny_llama()
    opt = OptimizerInBackward(OPTIMIZERS[name](first.parameters()), max_grad_norm=0.05)
    sched = schedule(opt)
    for ids in data[:STEPS]:
        lm_loss(first, ids).backward()
        opt.step()
        sched.step()
    saved_opt, saved_sched = roundtrip(opt.state_dict()), roundtrip(sched.state_dict())
    opt.remove()

    resumed = clone(first)
    opt = OptimizerInBackward(OPTIMIZERS[name](resumed.parameters()), max_grad_norm=0.05)
    sched = schedule(opt)  # as a trainer resumes: both built, then both loaded
    opt.load_state_dict(saved_opt)
    sched.load_state_dict(saved_sched)
    for ids in data[STEPS:]:
        lm_loss(resumed, ids).backward()
        opt.step()
        sched.step()
    assert same_parameters(resumed, straight)


def test_state_dict_is_the_wrapped_optimizers_and_loads_unfused():
    data = batches(STEPS)
    fused, separate = tiny_llama(), tiny_llama()
    wrapped = OptimizerInBackward(AdamW(fused.parameters(), lr=1e-2))
    train_fused(fused, wrapped, data[:2])
    plain = AdamW(separate.parameters(), lr=1e-2)
    train_separate(separate, plain, data[:2])
    a, b = wrapped.state_dict(), plain.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert all(torch.equal(a["state"][i]["exp_avg"], b["state"][i]["exp_avg"]) for i in a["state"])
    # a checkpoint of the fused run continues unfused
    plain.load_state_dict(roundtrip(a))
    assert plain.state_dict()["state"][0]["step"] == 2


def test_a_gradient_set_by_hand_is_stepped_by_step():
    p = torch.nn.Parameter(torch.ones(3))
    opt = OptimizerInBackward(torch.optim.SGD([p], lr=0.5))
    p.grad = torch.ones(3)
    opt.step()
    assert torch.equal(p.detach(), torch.full((3,), 0.5)) and p.grad is None


def test_removed_hooks_no_longer_step():
    model = tiny_llama()
    opt = OptimizerInBackward(AdamW(model.parameters(), lr=1e-2))
    opt.remove()
    before = clone(model)
    lm_loss(model, batches(1)[0]).backward()
    assert same_parameters(model, before) and all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: OptimizerInBackward(OptimizerInBackward(AdamW(p))), "already"),
        (lambda p: OptimizerInBackward(torch.optim.LBFGS(p)), "closure"),
        (lambda p: OptimizerInBackward(AdamW(p), max_grad_norm=-1.0), "max_grad_norm"),
        (lambda p: OptimizerInBackward([p]), "torch.optim.Optimizer"),
    ],
)
def test_what_cannot_be_fused_is_refused(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make([torch.nn.Parameter(torch.ones(2))])


def test_step_takes_no_closure():
    opt = OptimizerInBackward(AdamW([torch.nn.Parameter(torch.ones(2))]))
    with pytest.raises(ValueError, match="closure"):
        opt.step(lambda: 0.0)
