"""GaLoreAdamW follows the galore-torch package (Apache-2.0, test-only dependency) within 1e-5
over 50 steps with a projection refresh every 10, for every proj_type that package supports,
with projected matrices (wide, tall, square) and full-rank vectors / 3-D tensors together.

Both optimizers get the same gradient sequence (a fixed mean plus fresh noise, independent of
the parameters): see NoisyQuadratic(linear=True) for why an SVD-based method needs that. The
gradients are of size 0.01, like a network's: at size 1, "full" projection's r x r gradient at a
refresh is diagonal up to float32 rounding and Adam scales that noise (~1e-7, next to eps 1e-6)
to O(1) updates, so any change in rounding (CUDA's kernels) moves the result by ~3e-5: galore-torch
in float32 and in float64 differ by that much there, and by 2e-7 at size 0.01."""

import warnings

import pytest
import torch
from galore_torch import GaLoreAdamW as ReferenceGaLoreAdamW

from forgather.ml.optim import GaLoreAdamW, GaLoreProjector
from optim_testlib import MATRICES, NoisyQuadratic, assert_matches, train

STEPS = 50
OTHERS = [(7,), (3, 4, 5)]  # not projected
GALORE = dict(rank=8, update_proj_gap=10, scale=0.25)


def grouped(params, proj_type):
    matrices, others = params[: len(MATRICES)], params[len(MATRICES) :]
    return [{"params": others}, {"params": matrices, **GALORE, "proj_type": proj_type}]


def reference(params, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return ReferenceGaLoreAdamW(params, **kwargs)


@pytest.mark.parametrize("proj_type", ["std", "reverse_std", "left", "right", "full"])
@pytest.mark.parametrize(
    "options", [dict(lr=1e-2), dict(lr=5e-3, weight_decay=0.05, betas=(0.8, 0.95))], ids=["plain", "decay"]
)
def test_galore_matches_galore_torch(proj_type, options, device):
    problem = NoisyQuadratic(MATRICES + OTHERS, STEPS, seed=7, linear=True, magnitude=0.01)
    ours, _ = train(problem, lambda p: GaLoreAdamW(grouped(p, proj_type), **options), STEPS, device)
    ref, _ = train(problem, lambda p: reference(grouped(p, proj_type), **options), STEPS, device)
    assert_matches(ours, ref, problem.init, 1e-5)


def test_constructor_defaults_and_target_select_the_same_matrices():
    """rank/target given to the constructor, with named parameters, pick exactly the matrices
    that galore-torch projects when they are put in a rank group by hand."""
    problem = NoisyQuadratic(MATRICES + OTHERS, STEPS, seed=8, linear=True, magnitude=0.01)
    names = ["layers.0.mlp.up", "layers.0.attn.q", "embed.weight", "norm.weight", "experts.weight"]

    def ours_factory(params):
        return GaLoreAdamW(list(zip(names, params)), lr=1e-2, **GALORE, target=r"\.(mlp|attn)\.")

    def reference_factory(params):
        return reference([{"params": params[2:]}, {"params": params[:2], **GALORE, "proj_type": "std"}], lr=1e-2)

    ours, opt = train(problem, ours_factory, STEPS)
    ref, _ = train(problem, reference_factory, STEPS)
    assert_matches(ours, ref, problem.init, 1e-5)
    projected = [p for p in opt.state if "proj_left" in opt.state[p] or "proj_right" in opt.state[p]]
    assert [p.shape for p in projected] == [torch.Size(s) for s in MATRICES[:2]]


def test_projection_is_refreshed_every_gap_steps():
    problem = NoisyQuadratic(MATRICES[:1], 25, seed=9)
    params = problem.params()
    opt = GaLoreAdamW(params, lr=1e-2, rank=4, update_proj_gap=10)
    seen = []
    for k in range(25):
        train(problem, None, 1, params=params, optimizer=opt, start=k)
        seen.append(opt.state[params[0]]["proj_left"].clone())
    changes = [k for k in range(1, 25) if not torch.equal(seen[k], seen[k - 1])]
    assert changes == [10, 20]  # step counts 0, 10, 20 refit the SVD


@pytest.mark.parametrize(
    "proj_type, shape, expected",
    [
        ("std", (30, 20), {"right": (5, 20)}),
        ("std", (20, 30), {"left": (20, 5)}),
        ("reverse_std", (30, 20), {"left": (30, 5)}),
        ("reverse_std", (20, 30), {"right": (5, 30)}),
        ("left", (30, 20), {"left": (30, 5)}),
        ("right", (20, 30), {"right": (5, 30)}),
        ("full", (20, 30), {"left": (20, 5), "right": (5, 30)}),
    ],
)
def test_projector_shapes_and_orthonormality(proj_type, shape, expected):
    grad = torch.randn(shape, dtype=torch.float64)
    mats = GaLoreProjector(5, proj_type).fit(grad)
    assert {k: tuple(v.shape) for k, v in mats.items()} == expected
    for side, mat in mats.items():
        gram = mat.T @ mat if side == "left" else mat @ mat.T
        torch.testing.assert_close(gram, torch.eye(5, dtype=torch.float64))
        assert mat.untyped_storage().nbytes() == mat.numel() * mat.element_size()  # not a view of U/Vh
    # projecting back the projection of a gradient reproduces its best rank-5 approximation
    u, s, vh = torch.linalg.svd(grad, full_matrices=False)
    best = u[:, :5] @ torch.diag(s[:5]) @ vh[:5]
    torch.testing.assert_close(GaLoreProjector.project_back(GaLoreProjector.project(grad, mats), mats), best)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rank=0), "invalid rank"),
        (dict(rank=4, proj_type="diagonal"), "invalid proj_type"),
        (dict(rank=4, update_proj_gap=0), "invalid update_proj_gap"),
        (dict(rank=4, target="(unclosed"), "invalid target regular expression"),
        (dict(rank=4, target="mlp"), "pass named parameters"),
        (dict(lr=-1), "invalid learning rate"),
    ],
)
def test_bad_options_are_reported(kwargs, message):
    with pytest.raises(ValueError) as info:
        GaLoreAdamW([torch.zeros(2, 2, requires_grad=True)], **kwargs)
    assert message in str(info.value)
