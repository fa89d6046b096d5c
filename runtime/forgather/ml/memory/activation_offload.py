"""Activation offloading: the tensors autograd saves for backward live in host memory between the
forward and the backward pass, and come back to the accelerator when backward needs them.

    with ActivationOffload(model=model):
        loss = loss_fn(model(batch))
    loss.backward()

`torch.autograd.graph.saved_tensors_hooks` gives every tensor that forward saves to a pack hook
and asks an unpack hook for it in backward. On CUDA (and any accelerator with streams) a saved
activation is copied into pinned host memory on a side stream (`record_stream` keeps its device
memory alive until that copy is done, and then frees it), and in backward the next `prefetch`
activations, in reverse order of saving, are copied back on another side stream while the current
layer computes; the compute stream waits on an event only when it needs the tensor. Without
streams (`use_streams=False`) the copies run on the compute stream.

What is not offloaded: tensors sharing storage with the model's parameters or buffers (with
`model`; else parameters and views of parameters), tensors smaller than `min_bytes`, tensor
subclasses and non-strided layouts, and tensors already in host memory: on the CPU there is
nothing to offload to, unless `include_cpu` asks to copy them too (no saving; it exercises the
same bookkeeping on a machine without an accelerator). A tensor saved by several operations (the
normalised input of q, k and v projections) is offloaded once and comes back once.

With activation checkpointing (`torch.utils.checkpoint`, non-reentrant), the tensors saved
inside a checkpointed layer are dropped and recomputed anyway; what remains to save are the
layers' inputs, which this then offloads: device memory holds one layer's activations at a time.
Results are bit-identical to not offloading (a copy does not change a value; tests/memory).
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import nn

_STREAMS: dict[tuple[torch.device, str], Any] = {}


def _side_stream(device: torch.device, purpose: str) -> Any:
    key = (device, purpose)
    if key not in _STREAMS:
        _STREAMS[key] = torch.get_device_module(device.type).Stream(device=device)
    return _STREAMS[key]


class _Offloaded:
    """One saved activation in host memory; `fetched` is its device copy while one exists."""

    __slots__ = ("host", "device", "copied", "fetched", "ready", "position", "__weakref__")

    def __init__(self, host: torch.Tensor, device: torch.device, copied: Any, position: int) -> None:
        self.host = host
        self.device = device
        self.copied = copied  # event: the device -> host copy is complete (None: synchronous)
        self.fetched: weakref.ref | torch.Tensor | None = None
        self.ready: Any = None  # event: the prefetch into `fetched` is complete
        self.position = position


class ActivationOffload(torch.autograd.graph.saved_tensors_hooks):
    """Context manager: tensors saved for backward inside it go to host memory (module doc).

    Args:
        model: its parameters and buffers are never offloaded (they stay on the device anyway).
        min_bytes: smaller tensors stay where they are (a copy costs more than they save).
        pin_memory: host buffers in pinned (page-locked) memory, needed for asynchronous copies.
        use_streams: copy on side streams, overlapping the copies with compute.
        prefetch: in backward, how many of the next activations to bring back ahead of use.
        include_cpu: copy tensors that are already in host memory too (tests).

    `offloaded_bytes` and `offloaded_tensors` count what the last use offloaded.
    """

    def __init__(
        self,
        model: nn.Module | None = None,
        *,
        min_bytes: int = 1 << 16,
        pin_memory: bool = True,
        use_streams: bool = True,
        prefetch: int = 2,
        include_cpu: bool = False,
    ) -> None:
        if min_bytes < 0 or prefetch < 0:
            raise ValueError(f"min_bytes and prefetch must be >= 0, got {min_bytes} and {prefetch}")
        self.model = model
        self.min_bytes = min_bytes
        self.pin_memory = pin_memory
        self.use_streams = use_streams
        self.prefetch = prefetch
        self.include_cpu = include_cpu
        self._reset()
        super().__init__(self._pack, self._unpack)

    def _reset(self) -> None:
        self.offloaded_bytes = 0
        self.offloaded_tensors = 0
        self._order: list[weakref.ref] = []  # packed activations in order of saving
        self._same: dict[tuple, tuple[weakref.ref, weakref.ref]] = {}  # dedup: source -> packed
        self._model_storages: set[int] = set()
        if self.model is not None:
            tensors = list(self.model.parameters()) + list(self.model.buffers())
            self._model_storages = {t.untyped_storage().data_ptr() for t in tensors}

    def __enter__(self) -> "ActivationOffload":
        self._reset()  # a fresh forward: the previous one's bookkeeping goes
        super().__enter__()
        return self

    # ------------------------------------------------------------------------------ forward

    def _keeps(self, t: torch.Tensor) -> bool:
        """True for a tensor that stays where it is."""
        if type(t) not in (torch.Tensor, nn.Parameter) or t.layout != torch.strided:
            return True
        if t.device.type == "cpu" and not self.include_cpu or t.device.type == "meta":
            return True
        if t.numel() * t.element_size() < self.min_bytes:
            return True
        base = t._base if t._base is not None else t
        if isinstance(base, nn.Parameter):
            return True
        return t.untyped_storage().data_ptr() in self._model_storages

    def _pack(self, t: torch.Tensor) -> Any:
        if self._keeps(t):
            return t
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)
        seen = self._same.get(key)
        if seen is not None and seen[0]() is t and seen[1]() is not None:
            return seen[1]()
        device = t.device
        if device.type == "cpu":
            host, copied = t.detach().clone(memory_format=torch.contiguous_format), None
        else:
            host = torch.empty(t.shape, dtype=t.dtype, pin_memory=self.pin_memory)
            copied = None
            if self.use_streams:
                module = torch.get_device_module(device.type)
                stream = _side_stream(device, "offload")
                stream.wait_stream(module.current_stream(device))  # t is computed
                with module.stream(stream):
                    host.copy_(t, non_blocking=self.pin_memory)
                    copied = stream.record_event()
                t.record_stream(stream)  # its memory is reused only after the copy
            else:
                host.copy_(t, non_blocking=self.pin_memory)
        packed = _Offloaded(host, device, copied, len(self._order))
        self._order.append(weakref.ref(packed))
        self._same[key] = (weakref.ref(t), weakref.ref(packed))
        self.offloaded_bytes += host.numel() * host.element_size()
        self.offloaded_tensors += 1
        return packed

    # ----------------------------------------------------------------------------- backward

    def _unpack(self, packed: Any) -> torch.Tensor:
        if not isinstance(packed, _Offloaded):
            return packed
        if packed.device.type == "cpu":
            return packed.host
        fetched = packed.fetched() if isinstance(packed.fetched, weakref.ref) else packed.fetched
        module = torch.get_device_module(packed.device.type)
        current = module.current_stream(packed.device)
        if fetched is None:
            if packed.copied is not None:
                current.wait_event(packed.copied)
            fetched = packed.host.to(packed.device, non_blocking=self.pin_memory)
        elif packed.ready is not None:  # prefetched on the side stream
            current.wait_event(packed.ready)
            fetched.record_stream(current)
        packed.fetched = weakref.ref(fetched)  # a second unpack (a deduplicated save) reuses it
        packed.ready = None
        if self.use_streams:
            self._prefetch_before(packed.position, packed.device)
        return fetched

    def _prefetch_before(self, position: int, device: torch.device) -> None:
        """Start bringing back the `prefetch` activations saved before `position` (backward
        reaches them next)."""
        module = torch.get_device_module(device.type)
        stream = _side_stream(device, "prefetch")
        for earlier in range(position - 1, max(position - 1 - self.prefetch, -1), -1):
            packed = self._order[earlier]()
            if packed is None or packed.fetched is not None or packed.device != device:
                continue
            if packed.copied is not None:
                stream.wait_event(packed.copied)
            with module.stream(stream):
                packed.fetched = packed.host.to(device, non_blocking=self.pin_memory)
                packed.ready = stream.record_event()
