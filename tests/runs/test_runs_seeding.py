"""Seeding: a build with a `seed` variable seeds Python, numpy and torch at the start of every
construct() call, so constructing a target twice gives the same objects."""

from __future__ import annotations

import pytest
import torch

import fgc
from stdlib_testlib import tiny_project, write


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeding")
    return fgc.load(fgc.compile(write(root, tiny_project()), root / "build").dir)


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_constructing_the_model_twice_gives_the_same_weights(config):
    first = _weights(config.construct("model"))
    torch.rand(100)  # whatever ran in between
    second = _weights(config.construct("model"))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_another_seed_gives_other_weights(config):
    a = _weights(config.construct("model", seed=1))
    b = _weights(config.construct("model", seed=2))
    assert any(not torch.equal(a[k], b[k]) for k in a if a[k].numel() > 1)


DRAWS = """\
import random

import numpy
import torch


def draw_random(seed):
    return random.random()


def draw_numpy(seed):
    return float(numpy.random.rand())


def draw_torch(seed):
    return float(torch.rand(()))
"""


@pytest.mark.parametrize("generator", ["random", "numpy", "torch"])
def test_every_generator_is_seeded_before_construction(tmp_path, generator):
    """A target that draws a number while it is built draws the same one at every construct()."""
    path = write(
        tmp_path, f"main: !singleton:.draws:draw_{generator}\n    seed: !var {{ name: seed, default: 7 }}\n"
    )
    write(tmp_path, DRAWS, "draws.py")
    built = fgc.load(fgc.compile(path, tmp_path / "build").dir)
    assert built.construct() == built.construct()
    assert built.construct(seed=8) != built.construct()


def test_no_seed_variable_leaves_the_generators_alone(tmp_path):
    path = tmp_path / "exp.fg"
    path.write_text("main: !singleton:dict { a: 1 }\n")
    built = fgc.load(fgc.compile(path, tmp_path / "build").dir)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    built.construct()
    assert torch.equal(torch.rand(3), expected)
