"""Low-bit optimizer state through bitsandbytes (8-bit, runs on the CPU) and torchao (8 or 4
bits, where installed): selectable by name and through optimizers/adamw_8bit.fg, about 2 bytes
of state per parameter, trains a tiny LM, resumes bit-identically through a weights-only
checkpoint; options of the other library are refused."""

import importlib.util

import pytest
import torch

import fgc
from forgather.ml.optim import low_bit_adamw, state_bytes
from memory_testlib import batches, clone, lm_loss, roundtrip, same_parameters, tiny_llama

bnb = pytest.importorskip("bitsandbytes", reason="bitsandbytes is not installed (pip install 'forgather[lowbit]')")


def train(model, opt, data):
    for ids in data:
        lm_loss(model, ids).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


def test_8bit_state_is_two_bytes_per_parameter():
    p = torch.nn.Parameter(torch.randn(256, 512))
    opt = low_bit_adamw([p], lr=1e-3)
    assert type(opt) is bnb.optim.AdamW8bit
    p.grad = torch.randn_like(p)
    opt.step()
    assert opt.state[p]["state1"].dtype == torch.uint8
    per_param = state_bytes(opt) / p.numel()
    assert 2.0 <= per_param < 2.1  # two 8-bit moments + block-wise scales and the code books


def test_trains_a_tiny_llama_and_resumes_bit_identically():
    data = batches(4) * 2
    straight = tiny_llama()
    train(straight, low_bit_adamw(straight.parameters(), lr=1e-2, min_8bit_size=0), data)
    assert float(lm_loss(straight, data[0]).detach()) < float(lm_loss(tiny_llama(), data[0]).detach()) - 0.5

    first = tiny_llama()
    opt = low_bit_adamw(first.named_parameters(), lr=1e-2, min_8bit_size=0)  # named, as the trainer passes
    train(first, opt, data[:4])
    saved = roundtrip(opt.state_dict())
    resumed = clone(first)
    opt = low_bit_adamw(resumed.named_parameters(), lr=1e-2, min_8bit_size=0)
    opt.load_state_dict(saved)
    train(resumed, opt, data[4:])
    assert same_parameters(resumed, straight)


@pytest.mark.parametrize("kwargs, match", [
    ({"bits": 4, "backend": "bitsandbytes"}, "8-bit"),
    ({"block_size": 128, "backend": "bitsandbytes"}, "torchao option"),
    ({"stochastic_rounding": True, "backend": "bitsandbytes"}, "torchao option"),
    ({"bits": 6}, "bits"),
    ({"backend": "apex"}, "backend"),
    ({"lr": -1.0}, "learning rate"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        low_bit_adamw([torch.nn.Parameter(torch.ones(4))], **kwargs)


def test_template(tmp_path):
    source = tmp_path / "exp.fg"
    source.write_text("-- include 'optimizers/adamw_8bit.fg'\n    lr: 2.0e-3\nmain: *optimizer\n")
    factory = fgc.load(fgc.compile(source, tmp_path / "build").dir).construct("main")
    model = tiny_llama()
    opt = factory(list(model.named_parameters()))
    assert type(opt) is bnb.optim.AdamW8bit
    assert opt.param_groups[0]["lr"] == 2.0e-3 and opt.param_groups[0]["weight_decay"] == 0.01
    train(model, opt, batches(1))


@pytest.mark.skipif(importlib.util.find_spec("torchao") is None, reason="torchao is not installed (pip install torchao)")
def test_torchao_4bit_state():
    p = torch.nn.Parameter(torch.randn(64, 256, dtype=torch.bfloat16))
    opt = low_bit_adamw([p], lr=1e-3, bits=4, stochastic_rounding=True)
    p.grad = torch.randn_like(p)
    before = p.detach().clone()
    opt.step()
    assert not torch.equal(before, p.detach())
    assert state_bytes(opt) < 1.2 * p.numel()  # two 4-bit moments + scales
