"""Activation offloading gives the loss and gradients of not offloading, bit for bit, alone and
with activation checkpointing (transformers' and our LayerStack's); what it keeps in place
(parameters, small tensors, CPU tensors unless asked); a tensor saved twice is offloaded once.
On the CPU the copies go to other host buffers (`include_cpu`); the CUDA test runs the pinned,
streamed path where a GPU is present."""

import contextlib

import pytest
import torch

from forgather.ml.memory.activation_offload import ActivationOffload
from memory_testlib import CUDA, batches, clone, lm_loss, tiny_llama


def loss_and_grads(model, ids, context, checkpointing=False):
    model = clone(model)
    if checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    with context(model):
        loss = lm_loss(model, ids)
    loss.backward()
    return loss.detach(), [p.grad for p in model.parameters()]


@pytest.mark.parametrize("checkpointing", [False, True])
def test_offloaded_equals_not_offloaded(checkpointing):
    model, ids = tiny_llama(), batches(1)[0]
    plain = loss_and_grads(model, ids, lambda m: contextlib.nullcontext(), checkpointing)
    offloads = []

    def offload(m):
        offloads.append(ActivationOffload(m, min_bytes=0, include_cpu=True))
        return offloads[-1]

    offloaded = loss_and_grads(model, ids, offload, checkpointing)
    assert torch.equal(plain[0], offloaded[0])
    assert all(torch.equal(a, b) for a, b in zip(plain[1], offloaded[1]))
    assert offloads[0].offloaded_tensors > 0


def test_checkpointing_leaves_only_the_layer_inputs_to_offload():
    model, ids = tiny_llama(layers=4), batches(1)[0]
    counts = {}
    for checkpointing in (False, True):
        offload = ActivationOffload(model, min_bytes=0, include_cpu=True)
        loss_and_grads(model, ids, lambda m: offload, checkpointing)
        counts[checkpointing] = offload.offloaded_tensors
    assert counts[True] < counts[False] / 3


def test_our_layer_stack_checkpointing_with_offload():
    from forgather.ml.models.causal_lm import CausalLM
    from functools import partial
    from forgather.ml.models import attention, feedforward, input_encoder, layer_stack, layers, norms, rotary_pe

    def build():
        torch.manual_seed(0)
        return CausalLM(
            input_encoder_factory=partial(input_encoder.InputEncoder, 32, 97),
            positional_encoder_factory=partial(rotary_pe.RotaryPE, 32, 4),
            attention_factory=partial(attention.CausalSelfAttention, 32, 4),
            feedforward_factory=partial(feedforward.GLUFeedforward, 32, 64),
            norm_factory=partial(norms.RMSNorm, 32),
            layer_factory=layers.PreLNLayer,
            layer_stack_factory=partial(layer_stack.LayerStack, num_layers=3, gradient_checkpointing=True),
        )

    ids = batches(1)[0]
    from forgather.ml.loss import causal_lm_loss

    results = []
    for offload in (None, ActivationOffload(build(), min_bytes=0, include_cpu=True)):
        model = build().train()
        with offload or contextlib.nullcontext():
            loss = causal_lm_loss(model(ids), ids)
        loss.backward()
        results.append([loss.detach()] + [p.grad for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_what_stays_in_place():
    linear = torch.nn.Linear(64, 64)
    x = torch.randn(8, 64, requires_grad=True)
    with ActivationOffload(linear, min_bytes=0) as off:  # CPU tensors stay without include_cpu
        linear(x).relu().sum().backward()
    assert off.offloaded_tensors == 0
    with ActivationOffload(linear, min_bytes=0, include_cpu=True) as off:
        h = linear(x)  # saves x and the weight: the weight stays
        (h * h).sum().backward()  # h saved twice by one mul: offloaded once
    assert off.offloaded_tensors == 2  # x and h
    with ActivationOffload(min_bytes=0, include_cpu=True) as off:  # no model: parameters by type
        linear(x).sum().backward()
    assert off.offloaded_tensors == 1
    with ActivationOffload(linear, min_bytes=1 << 20, include_cpu=True) as off:
        (linear(x) * 2).relu().sum().backward()
    assert off.offloaded_tensors == 0


def test_bad_options():
    with pytest.raises(ValueError, match="min_bytes"):
        ActivationOffload(min_bytes=-1)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (pinned memory, side streams)")
@pytest.mark.parametrize("use_streams", [True, False])
@pytest.mark.parametrize("checkpointing", [False, True])
def test_cuda_offload_is_exact_and_frees_device_memory(use_streams, checkpointing):
    model, ids = tiny_llama(layers=4).cuda(), batches(1, batch=8, length=64)[0].cuda()
    plain = loss_and_grads(model, ids, lambda m: contextlib.nullcontext(), checkpointing)
    offload = ActivationOffload(model, min_bytes=0, use_streams=use_streams)
    offloaded = loss_and_grads(model, ids, lambda m: offload, checkpointing)
    torch.cuda.synchronize()
    assert torch.equal(plain[0], offloaded[0])
    assert all(torch.equal(a, b) for a, b in zip(plain[1], offloaded[1]))
    assert offload.offloaded_tensors > 0
