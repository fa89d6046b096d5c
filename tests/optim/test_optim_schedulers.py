"""Schedules: the same multipliers as transformers' schedule functions where those exist, the
closed form of the infinite schedule (arXiv 2503.02844) where not, state_dict round trips, and
clear errors for impossible settings."""

import math

import pytest
import torch
from transformers import optimization as hf

from forgather.ml.optim import (
    AdamW,
    constant_with_warmup,
    cosine_with_warmup,
    linear_with_warmup,
    warmup_stable_decay,
)
from optim_testlib import checkpoint_roundtrip

BASE_LR = 0.5


def optimizer():
    return AdamW([torch.zeros(1, requires_grad=True)], lr=BASE_LR)


def multipliers(scheduler, steps):
    """lr / base lr seen by optimizer steps 0 .. steps-1."""
    out = []
    for _ in range(steps):
        out.append(scheduler.optimizer.param_groups[0]["lr"] / BASE_LR)
        scheduler.optimizer.step()
        scheduler.step()
    return out


@pytest.mark.parametrize("warmup, total", [(0, 50), (10, 50), (7, 8), (1, 30)])
@pytest.mark.parametrize("min_ratio", [0.0, 0.1])
def test_cosine_matches_transformers(warmup, total, min_ratio):
    ours = multipliers(cosine_with_warmup(optimizer(), warmup, total, min_ratio), total + 1)
    ref = multipliers(
        hf.get_cosine_with_min_lr_schedule_with_warmup(optimizer(), warmup, total, min_lr_rate=min_ratio), total + 1
    )
    assert ours == pytest.approx(ref, abs=1e-12)
    # after the end it holds the floor (HF's cosine would climb back up)
    tail = multipliers(cosine_with_warmup(optimizer(), warmup, total, min_ratio), total + 20)[total:]
    assert tail == pytest.approx([min_ratio] * 20)


@pytest.mark.parametrize("warmup, total", [(0, 40), (10, 40), (5, 6)])
def test_linear_and_constant_match_transformers(warmup, total):
    ours = multipliers(linear_with_warmup(optimizer(), warmup, total), total + 5)
    ref = multipliers(hf.get_linear_schedule_with_warmup(optimizer(), warmup, total), total + 5)
    assert ours == pytest.approx(ref, abs=1e-12)
    ours = multipliers(constant_with_warmup(optimizer(), warmup), total)
    ref = multipliers(hf.get_constant_schedule_with_warmup(optimizer(), warmup), total)
    assert ours == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("shape, hf_shape", [("linear", "linear"), ("cosine", "cosine"), ("sqrt", "1-sqrt")])
@pytest.mark.parametrize("min_ratio", [0.0, 0.2])
def test_warmup_stable_decay_matches_transformers(shape, hf_shape, min_ratio):
    warmup, stable, decay = 10, 25, 15
    steps = warmup + stable + decay + 10
    ours = multipliers(
        warmup_stable_decay(
            optimizer(),
            warmup,
            decay_start=warmup + stable,
            decay_steps=decay,
            decay_shape=shape,
            min_lr_ratio=min_ratio,
        ),
        steps,
    )
    ref = multipliers(
        hf.get_wsd_schedule(
            optimizer(), warmup, decay, num_stable_steps=stable, decay_type=hf_shape, min_lr_ratio=min_ratio
        ),
        steps,
    )
    start = warmup if min_ratio else 0  # HF warms up from min_lr_ratio, we from 0
    assert ours[start:] == pytest.approx(ref[start:], abs=1e-12)


def test_infinite_schedule_closed_form():
    warmup, cooldown, level, start, anneal, floor = 4, 10, 0.3, 30, 8, 0.01
    got = multipliers(
        warmup_stable_decay(
            optimizer(),
            warmup,
            cooldown,
            level,
            decay_start=start,
            decay_steps=anneal,
            decay_shape="cosine",
            min_lr_ratio=floor,
        ),
        45,
    )

    def expected(t):
        if t < warmup:
            return t / warmup
        if t >= start:
            x = min((t - start) / anneal, 1.0)
            return floor + (level - floor) * 0.5 * (1 + math.cos(math.pi * x))
        if t < warmup + cooldown:
            return level + (1 - level) * 0.5 * (1 + math.cos(math.pi * (t - warmup) / cooldown))
        return level

    assert got == pytest.approx([expected(t) for t in range(45)], abs=1e-12)
    # never annealed: the stable level for good
    endless = multipliers(warmup_stable_decay(optimizer(), warmup, cooldown, level), 500)
    assert endless[warmup + cooldown :] == pytest.approx([level] * (500 - warmup - cooldown))


def test_no_decay_phase_ends_at_the_floor():
    assert multipliers(cosine_with_warmup(optimizer(), 5, 5, 0.2), 8) == pytest.approx(
        [0, 0.2, 0.4, 0.6, 0.8, 0.2, 0.2, 0.2]
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda o: cosine_with_warmup(o, 10, 100, 0.1),
        lambda o: warmup_stable_decay(o, 5, 10, 0.3, decay_start=40, decay_steps=20, decay_shape="sqrt"),
    ],
)
def test_state_dict_round_trip(make):
    first = make(optimizer())
    multipliers(first, 23)
    saved = checkpoint_roundtrip(first.state_dict())
    second = make(optimizer())
    second.load_state_dict(saved)
    second.optimizer.param_groups[0]["lr"] = first.optimizer.param_groups[0]["lr"]
    assert multipliers(second, 40) == multipliers(first, 40)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda o: cosine_with_warmup(o, 100, 10), "total_steps (10) is smaller than warmup_steps (100)"),
        (lambda o: linear_with_warmup(o, -1, 10), "invalid warmup_steps"),
        (lambda o: cosine_with_warmup(o, 1, 10, min_lr_ratio=-0.5), "invalid min_lr_ratio"),
        (lambda o: warmup_stable_decay(o, 10, 10, decay_start=15), "decay_start (15) falls inside"),
        (lambda o: warmup_stable_decay(o, decay_shape="exp"), "invalid decay_shape"),
        (lambda o: warmup_stable_decay(o, 10.5), "invalid warmup_steps"),
    ],
)
def test_bad_settings_are_reported(make, message):
    with pytest.raises(ValueError) as info:
        make(optimizer())
    assert message in str(info.value)
