"""Adafactor follows transformers.optimization.Adafactor with the same options within 1e-6 over
100 steps, on vectors, matrices, 3-D tensors (factored on the last two dims) and 0-dim tensors."""

import pytest
import torch
from transformers.optimization import Adafactor as HFAdafactor

from forgather.ml.optim import Adafactor
from optim_testlib import SHAPES, NoisyQuadratic, assert_matches, train

STEPS = 100

CASES = {
    # HF's defaults: relative step 1e-2 scaled by RMS(p), no first moment
    "defaults": dict(),
    "manual_lr": dict(lr=1e-2, relative_step=False, scale_parameter=False),
    "manual_lr_scaled": dict(lr=3e-2, relative_step=False, scale_parameter=True, clip_threshold=0.5),
    "first_moment_decay": dict(lr=1e-2, relative_step=False, scale_parameter=False, beta1=0.9, weight_decay=0.1),
    "warmup_init": dict(warmup_init=True, beta1=0.8, decay_rate=-0.5),
    "eps_and_clip": dict(eps=(1e-3, 1e-2), clip_threshold=2.0, weight_decay=0.01),
}


@pytest.mark.parametrize("case", list(CASES))
def test_adafactor_matches_transformers(case, device):
    kwargs = CASES[case]
    problem = NoisyQuadratic(SHAPES, STEPS, seed=5)
    ours, _ = train(problem, lambda p: Adafactor(p, **kwargs), STEPS, device)
    ref, _ = train(problem, lambda p: HFAdafactor(p, **kwargs), STEPS, device)
    assert_matches(ours, ref, problem.init, 1e-6)


def test_adafactor_bfloat16_parameters_keep_float32_state(device):
    problem = NoisyQuadratic(SHAPES, 20, seed=6)
    kwargs = dict(lr=1e-2, relative_step=False, scale_parameter=False, beta1=0.9)
    ours = problem.params(device, torch.bfloat16)
    ref = problem.params(device, torch.bfloat16)
    ours, opt = train(problem, lambda p: Adafactor(p, **kwargs), 20, device, params=ours)
    ref, _ = train(problem, lambda p: HFAdafactor(p, **kwargs), 20, device, params=ref)
    # same float32 arithmetic, then one rounding to bfloat16 per step: at most an ulp apart
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=8e-3, atol=1e-2)
    for state in opt.state.values():
        assert all(v.dtype == torch.float32 for v in state.values() if torch.is_tensor(v))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=1e-3), "cannot combine a manual `lr` with relative_step=True"),
        (dict(relative_step=False), "needs an `lr`"),
        (dict(lr=1e-3, relative_step=False, warmup_init=True), "warmup_init=True needs relative_step=True"),
        (dict(decay_rate=0.8), "invalid decay_rate"),
        (dict(beta1=1.5), "invalid beta1"),
        (dict(eps=1e-30), "invalid eps"),
    ],
)
def test_bad_options_are_reported(kwargs, message):
    with pytest.raises(ValueError) as info:
        Adafactor([torch.zeros(2, requires_grad=True)], **kwargs)
    assert message in str(info.value)
