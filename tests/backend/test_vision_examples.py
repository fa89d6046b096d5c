"""The original vision's three examples (seed README), compiled and run as tests.

1. A child template extends a base, overrides `-- block optimizer` with `== super()` and a new
   `lr:`; the constructed optimizer has the new rate.
2. Swapping `!partial:torch.optim:AdamW` for `!partial:my_optim:MyOptimizer` (a module next to
   the template) changes the optimizer's type with no other change.
3. `positional_encoder_factory: !partial:.walsh_pe:WalshPE` with `d_model: !var "hidden_size"`
   next to a `walsh_pe.py`: the build's modules/ (and model/) hold walsh_pe.py, and the build
   runs after being moved elsewhere with the sources deleted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

import fgc

BASE = """\
## base_experiment.fg: a tiny regression experiment
model: &model !singleton:torch.nn:Linear [4, 1]
-- block optimizer
optimizer: &optimizer !partial:torch.optim:AdamW
    lr: 1.0e-2
    weight_decay: 0.0
-- endblock optimizer
main: !singleton:dict
    model: *model
    optimizer: *optimizer
"""

CHILD = """\
-- extends 'base_experiment.fg'

-- block optimizer
    == super()
    # Experiment overrides
    lr: 1.0e-3
-- endblock optimizer
"""

MY_OPTIM = '''\
import torch


class MyOptimizer(torch.optim.Optimizer):
    """Plain SGD: p -= lr * grad."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])
'''


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def _train_step(objects) -> float:
    model, make_optimizer = objects["model"], objects["optimizer"]
    opt = make_optimizer(model.parameters())
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    before = torch.nn.functional.mse_loss(model(x), y)
    before.backward()
    opt.step()
    return float(before.detach())


def test_child_overrides_the_learning_rate(tmp_path):
    _write(tmp_path, {"base_experiment.fg": BASE, "experiment.fg": CHILD})
    base = fgc.compile(tmp_path / "base_experiment.fg", tmp_path / "build-base").load().construct()
    child = fgc.compile(tmp_path / "experiment.fg", tmp_path / "build-child").load().construct()
    base_opt = base["optimizer"](base["model"].parameters())
    child_opt = child["optimizer"](child["model"].parameters())
    assert isinstance(child_opt, torch.optim.AdamW)
    assert base_opt.defaults["lr"] == 1.0e-2
    assert child_opt.defaults["lr"] == 1.0e-3
    assert child_opt.defaults["weight_decay"] == 0.0  # inherited from the base, untouched
    _train_step(child)


def test_swapping_the_optimizer_type(tmp_path):
    swapped = BASE.replace("!partial:torch.optim:AdamW", "!partial:my_optim:MyOptimizer").replace(
        "    weight_decay: 0.0\n", ""
    )
    _write(tmp_path / "a", {"base_experiment.fg": BASE, "experiment.fg": CHILD})
    _write(tmp_path / "b", {"base_experiment.fg": swapped, "experiment.fg": CHILD, "my_optim.py": MY_OPTIM})
    a = fgc.compile(tmp_path / "a/experiment.fg", tmp_path / "build-a").load().construct()
    b_build = fgc.compile(tmp_path / "b/experiment.fg", tmp_path / "build-b")
    b = b_build.load().construct()
    opt_a = a["optimizer"](a["model"].parameters())
    opt_b = b["optimizer"](b["model"].parameters())
    assert type(opt_a) is torch.optim.AdamW
    assert type(opt_b).__name__ == "MyOptimizer" and isinstance(opt_b, torch.optim.Optimizer)
    assert opt_b.defaults["lr"] == 1.0e-3  # the child's override applies to the new type too
    assert (b_build.dir / "modules" / "my_optim.py").is_file()
    # The local optimizer really trains: the loss goes down over a few steps.
    torch.manual_seed(0)
    model = b["model"]
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    opt = b["optimizer"](model.parameters())
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


WALSH_PE = '''\
"""Walsh positional encoding: dimension j of position p is +-scale by the parity of p & (j + 1)."""

import torch
from torch import nn


class WalshPE(nn.Module):
    def __init__(self, d_model, scale=0.1):
        super().__init__()
        self.d_model = d_model
        self.scale = scale

    def forward(self, x, position_ids):
        masks = torch.arange(1, self.d_model + 1, device=x.device)
        bits = torch.bitwise_and(position_ids[..., None], masks)  # (B, T, D)
        parity = torch.zeros_like(bits)
        while bool(bits.any()):
            parity ^= bits & 1
            bits = bits >> 1
        return x + self.scale * (1 - 2 * parity).to(x.dtype)
'''

MODEL_EXPERIMENT = """\
-- extends 'models/llama.fg'
[positional_encoder]
        # Replace the rotary encoding with Walsh PE.
        positional_encoder_factory: &positional_encoder_factory !partial:.walsh_pe:WalshPE
            d_model: !var "hidden_size"
[hyperparameters]
    == super()
    vocab_size: 64
    hidden_size: 16
    num_attention_heads: 2
    num_key_value_heads: 1
    num_hidden_layers: 2
    intermediate_size: 32
"""


def test_walsh_pe_build_runs_after_move_and_source_deletion(tmp_path):
    src = tmp_path / "src"
    _write(src, {"experiment.fg": MODEL_EXPERIMENT, "walsh_pe.py": WALSH_PE})
    build = fgc.compile(src / "experiment.fg", tmp_path / "build")
    assert (build.dir / "modules" / "walsh_pe.py").is_file()
    assert (build.dir / "model" / "walsh_pe.py").is_file()
    modeling = (build.dir / "model" / "modeling.py").read_text()
    assert "from .walsh_pe import WalshPE" in modeling
    assert "def construct_model(" in modeling and "hidden_size=16" in modeling
    # Move the build and delete the sources: it still runs.
    moved = tmp_path / "elsewhere" / "moved-build"
    moved.parent.mkdir()
    shutil.move(str(build.dir), moved)
    shutil.rmtree(src)
    script = textwrap.dedent(f"""
        import sys, torch
        import fgc
        config = fgc.load({str(moved)!r})
        model = config.construct("model")
        pe = model.model.positional_encoder
        assert type(pe).__name__ == "WalshPE", type(pe)
        assert pe.d_model == 16
        out = model(torch.randint(0, 64, (2, 8)), labels=torch.randint(0, 64, (2, 8)))
        assert torch.isfinite(out.loss)
        print("ok", type(model).__module__)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok") and "modeling" in done.stdout
