"""The stdlib templates under stdlib/optimizers compile with fgc (every key binds to the
callable's signature), construct what they document, and take overrides by repeated keys."""

import re
from pathlib import Path

import pytest
import torch
import yaml

import fgc
from fgc import resources
from forgather.ml.optim import APOLLO, SGD, Adafactor, AdamW, GaLoreAdamW

TEMPLATES = resources.stdlib_dir() / "optimizers"

OPTIMIZERS = {
    "adamw": (AdamW, {"lr": 3.0e-4, "weight_decay": 0.1}),
    "sgd": (SGD, {"lr": 0.5, "nesterov": True}),
    "adafactor": (Adafactor, {"beta1": 0.9}),
    "galore": (GaLoreAdamW, {"rank": 4, "proj_type": "reverse_std"}),
    "apollo": (APOLLO, {"rank": 4, "scale_type": "tensor"}),
    "apollo_mini": (APOLLO, {"lr": 5.0e-3, "seed": 7}),
}
SCHEDULERS = {
    "cosine": {"warmup_steps": 2, "total_steps": 10},
    "linear": {"warmup_steps": 2, "total_steps": 10},
    "constant": {"warmup_steps": 2},
    "wsd": {"warmup_steps": 2, "decay_start": 6, "decay_steps": 4},
    "infinite": {"warmup_steps": 2, "cooldown_steps": 4},
}


def compile_config(tmp_path: Path, include: str, anchor: str, overrides: dict):
    lines = [f"-- include '{include}'"] + [
        f"    {key}: {yaml.safe_dump(value).split(chr(10))[0]}" for key, value in overrides.items()
    ]
    source = tmp_path / "exp.fg"
    source.write_text("\n".join(lines + [f"main: *{anchor}", ""]))
    return fgc.load(fgc.compile(source, tmp_path / "build").dir).construct("main")


def template_defaults(path: Path) -> dict:
    """The keys of the template's mapping, as written (the template is plain YAML + comments; a
    knob, `!var { name: lr, default: {{ lr | toyaml(1.0e-3) }} }`, counts as its default)."""
    knob = re.compile(r"!var \{ name: \w+, default: \{\{ \w+ \| toyaml\((.*?)\) \}\} \}")
    body = [knob.sub(r"\1", line) for line in path.read_text().splitlines() if line.startswith("    ")]
    return yaml.safe_load("\n".join(line[4:] for line in body))


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Sequential()
    model.add_module("up_proj", torch.nn.Linear(8, 12))
    model.add_module("norm", torch.nn.LayerNorm(12))
    model.add_module("down_proj", torch.nn.Linear(12, 8))
    return model


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_template(name, tmp_path):
    cls, overrides = OPTIMIZERS[name]
    factory = compile_config(tmp_path, f"optimizers/{name}.fg", "optimizer", overrides)
    model = tiny_model()
    optimizer = factory(list(model.named_parameters()))  # what the trainer passes
    assert type(optimizer) is cls
    expected = {**template_defaults(TEMPLATES / f"{name}.fg"), **overrides}
    group = optimizer.param_groups[0]
    for key, value in expected.items():
        assert group[key] == (tuple(value) if isinstance(value, list) else value), key
    model(torch.randn(4, 8)).square().mean().backward()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_template_targets_project_the_projection_matrices(tmp_path):
    factory = compile_config(tmp_path, "optimizers/apollo.fg", "optimizer", {"rank": 2})
    model = tiny_model()
    optimizer = factory(list(model.named_parameters()))
    model(torch.randn(4, 8)).square().mean().backward()
    optimizer.step()
    projected = {n for n, p in model.named_parameters() if "projection" in optimizer.state[p]}
    assert projected == {"up_proj.weight", "down_proj.weight"}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_template(name, tmp_path):
    overrides = SCHEDULERS[name]
    factory = compile_config(tmp_path, f"optimizers/schedulers/{name}.fg", "lr_scheduler", overrides)
    optimizer = AdamW([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = factory(optimizer)
    expected = {**template_defaults(TEMPLATES / "schedulers" / f"{name}.fg"), **overrides}
    schedule = scheduler.lr_lambdas[0]
    for key, value in expected.items():
        assert getattr(schedule, key) == value, key
    lrs = []
    for _ in range(12):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[:3] == [0.0, 0.5, 1.0]  # every template warms up linearly over 2 steps here
