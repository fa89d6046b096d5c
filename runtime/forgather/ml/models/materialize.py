"""Models built on the meta device, materialised where they will live.

A model built on the meta device has the shapes of its parameters and no memory. It is then
materialised part by part: a pipeline rank fills only its stages, a sharded (FSDP) model only
this process's shard of each parameter, and a single device the whole model, each parameter
read straight from the weight files into its final tensor. Host memory per process is then about
what that process keeps, never the whole model plus a copy.

    model = on_meta(MyForCausalLM, config, weights="pretrained/")   # shapes only; remembers
                                                                     # where its weights are
    materialize(model, "cuda")       # every parameter still on meta: allocated and filled
    model = load_pretrained(MyForCausalLM, "pretrained/", device="cpu")   # both, one device

``weights`` is a directory of safetensors files (one ``model.safetensors`` or an indexed set of
shards, as ``save_pretrained`` and the pipeline export write them), named as the model's
``state_dict``. A parameter is read with plain file reads into its destination (no memory map,
no intermediate copy): a sharded parameter (a ``DTensor`` sharded on its first dimension, or
replicated) reads only its rows. Without ``weights`` the materialised parts are initialised:
``init(model)`` when given, else each module's ``reset_parameters()`` and then, for a model of
this package, its own scheme (`causal_lm.CausalLM.init_weights`).

Only parameters go to meta (buffers, such as rotary tables, are small and computed in
constructors; they stay real). This module imports only the standard library and torch.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

SPEC_ATTRIBUTE = "materialize_spec"  # set on a model built by `on_meta`


@dataclass
class MaterializeSpec:
    """How `materialize` fills a model built on meta."""

    weights: str | None = None  # a directory of safetensors files, or None: initialise
    init: Callable[[nn.Module], None] | None = None


@contextlib.contextmanager
def meta_parameters() -> Iterator[None]:
    """Inside, every parameter a module registers goes to the meta device (its constructor's
    initialisation then costs nothing either); buffers stay where they are made. Not
    thread-safe: it patches ``nn.Module.register_parameter`` while it lasts."""
    original = nn.Module.register_parameter

    def register_on_meta(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        if param is not None and param.device.type != "meta":
            param = type(param)(param.to("meta"), requires_grad=param.requires_grad)
        original(module, name, param)

    nn.Module.register_parameter = register_on_meta
    try:
        yield
    finally:
        nn.Module.register_parameter = original


def on_meta(factory: Callable[..., nn.Module], *args: Any, weights: str | os.PathLike | None = None,
            init: Callable[[nn.Module], None] | None = None, **kwargs: Any) -> nn.Module:
    """``factory(*args, **kwargs)`` with its parameters on the meta device, remembering where its
    weights come from (``weights``, a directory) or how to initialise it (``init``) for
    `materialize`. In a config: ``model: !singleton:forgather.ml.models.materialize:on_meta
    [ !partial:...:MyForCausalLM, *config ]`` (plus ``weights: path``)."""
    if weights is not None and not Path(weights).is_dir():
        raise FileNotFoundError(f"on_meta(weights={str(weights)!r}): no such directory")
    with meta_parameters():
        model = factory(*args, **kwargs)
    setattr(model, SPEC_ATTRIBUTE, MaterializeSpec(str(weights) if weights is not None else None, init))
    return model


def has_meta_parameters(module: nn.Module) -> bool:
    return any(_is_meta(p) for p in module.parameters())


def _is_meta(tensor: torch.Tensor) -> bool:
    local = tensor.to_local() if hasattr(tensor, "to_local") else tensor
    return local.device.type == "meta"


def materialize(model: nn.Module, device: torch.device | str, *, parameters: set[int] | None = None,
                weights: str | os.PathLike | None = None, init: Callable[[nn.Module], None] | None = None,
                dtype: torch.dtype | None = None, offload: bool = False) -> nn.Module:
    """Allocate every meta parameter of ``model`` on ``device`` (or only those whose ``id`` is in
    ``parameters``: a pipeline rank's stages) and fill it from ``weights`` or by initialising it
    (default: what `on_meta` recorded). A tied parameter stays one tensor. Sharded parameters
    (FSDP2 ``DTensor``s) are allocated shard by shard (``offload``: on the CPU, FSDP's CPU
    offload). Returns ``model``."""
    spec = getattr(model, SPEC_ATTRIBUTE, None) or MaterializeSpec()
    weights = weights if weights is not None else spec.weights
    init = init or spec.init
    device = torch.device(device)
    named = _meta_parameters(model, parameters)
    if not named:
        return model
    if any(hasattr(p, "to_local") for p in named.values()):  # sharded: FSDP2 re-points its views
        buffers = [(m, k, b) for m in model.modules() for k, b in m._buffers.items() if b is not None]
        model.to_empty(device="cpu" if offload else device)
        for module, key, buffer in buffers:  # to_empty would leave them uninitialised
            module._buffers[key] = buffer.to(device)
        if dtype is not None:
            model.to(dtype)
        named = {name: p for name, p in _unique_parameters(model) if name in named}
    else:
        named = _allocate(model, named, device, dtype)
    with torch.no_grad():
        if weights is not None:
            read_safetensors(Path(weights), named)
        else:
            _initialise(model, set(map(id, named.values())), init)
    return model


def load_pretrained(factory: Callable[..., nn.Module] | type, weights: str | os.PathLike, *args: Any,
                    device: torch.device | str = "cpu", dtype: torch.dtype | None = None,
                    **kwargs: Any) -> nn.Module:
    """A pretrained model on one device with one copy of its weights in memory: built on meta,
    then each parameter read from ``weights`` into its final tensor. ``factory`` is called with
    ``*args, **kwargs``; a Hugging Face model class with none is given its config from
    ``weights/config.json``."""
    if isinstance(factory, type) and not args and not kwargs and hasattr(factory, "config_class"):
        args = (factory.config_class.from_pretrained(str(weights)),)
    model = on_meta(factory, *args, weights=weights, **kwargs)
    materialize(model, device, dtype=dtype)
    return model.eval()


# ----------------------------------------------------------------------------------- internals


def _unique_parameters(model: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    """(first name, parameter) for each parameter once (a tied weight by its first name)."""
    yield from model.named_parameters()  # removes duplicates, keeping the first name


def _meta_parameters(model: nn.Module, wanted: set[int] | None) -> dict[str, nn.Parameter]:
    return {name: p for name, p in _unique_parameters(model)
            if _is_meta(p) and (wanted is None or id(p) in wanted)}


def _allocate(model: nn.Module, named: dict[str, nn.Parameter], device: torch.device,
              dtype: torch.dtype | None) -> dict[str, nn.Parameter]:
    """A new, uninitialised parameter for each of ``named``, put in every module that holds it."""
    new = {id(p): nn.Parameter(torch.empty(p.shape, dtype=dtype or p.dtype, device=device),
                               requires_grad=p.requires_grad) for p in named.values()}
    for module in model.modules():
        for key, p in module._parameters.items():
            if p is not None and id(p) in new:
                module._parameters[key] = new[id(p)]
    return {name: new[id(p)] for name, p in named.items()}


def _initialise(model: nn.Module, fresh: set[int], init: Callable[[nn.Module], None] | None) -> None:
    """Initialise the freshly allocated parameters: ``init(model)``, or each module's
    ``reset_parameters()`` and the model's own scheme (meta parameters are left as they are)."""
    if init is not None:
        init(model)
        return
    for module in model.modules():
        own = [p for p in module._parameters.values() if p is not None]
        if own and any(id(p) in fresh for p in own) and callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()
    for module in model.modules():
        if callable(getattr(module, "init_weights_scheme", None)):
            module.init_weights_scheme(module)


# ------------------------------------------------------------------------- safetensors reading

_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
           "BOOL": torch.bool}


def weight_files(directory: Path) -> dict[str, Path]:
    """Which safetensors file of ``directory`` holds each tensor name."""
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        weight_map = json.loads(index.read_text())["weight_map"]
        return {name: directory / file for name, file in weight_map.items()}
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{directory}: no *.safetensors weights")
    return {name: file for file in files for name in _header(file)[0] if name != "__metadata__"}


def _header(file: Path) -> tuple[dict[str, Any], int]:
    with open(file, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(size)), 8 + size


def read_safetensors(directory: Path, named: dict[str, nn.Parameter]) -> None:
    """Read each tensor of ``named`` (by name; a sharded one, its own rows) from the safetensors
    files of ``directory``, with plain reads into the destination's memory."""
    where = weight_files(directory)
    missing = sorted(set(named) - set(where))
    if missing:
        raise KeyError(f"{directory}: the weights have no {', '.join(missing[:5])}"
                       + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""))
    by_file: dict[Path, list[str]] = {}
    for name in named:
        by_file.setdefault(where[name], []).append(name)
    for file, names in by_file.items():
        header, data_start = _header(file)
        with open(file, "rb", buffering=0) as f:
            for name in names:
                _read_tensor(f, data_start, header[name], named[name], f"{file}:{name}")


def _read_tensor(f: Any, data_start: int, entry: dict[str, Any], param: torch.Tensor, where: str) -> None:
    dtype, shape = _DTYPES[entry["dtype"]], tuple(entry["shape"])
    begin, _ = entry["data_offsets"]
    if tuple(param.shape) != shape:
        raise ValueError(f"{where} has shape {shape}, the model expects {tuple(param.shape)}")
    local, row0 = _local_rows(param)
    if local.numel() == 0:
        return
    row_bytes = (local[0].numel() if local.dim() else 1) * dtype.itemsize
    direct = local.device.type == "cpu" and local.dtype == dtype and local.is_contiguous()
    # a staging tensor when the destination is on a GPU (pinned: a fast copy) or of another dtype
    target = local if direct else torch.empty(local.shape, dtype=dtype, pin_memory=local.device.type == "cuda")
    f.seek(data_start + begin + row0 * row_bytes)
    view = memoryview(target.reshape(-1).view(torch.uint8).numpy())
    if f.readinto(view) != view.nbytes:
        raise ValueError(f"{where}: the file ends early")
    if not direct:
        local.copy_(target)


def _local_rows(param: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The tensor this process holds and the first row of the whole it starts at."""
    if not hasattr(param, "to_local"):
        return param.detach(), 0
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    if any(not isinstance(pl, (Shard, Replicate)) or (isinstance(pl, Shard) and pl.dim != 0)
           for pl in param.placements):
        raise ValueError(f"materialize reads parameters sharded on their first dimension or replicated; "
                         f"got placements {param.placements}")
    shape, offset = compute_local_shape_and_global_offset(param.shape, param.device_mesh, param.placements)
    local = param.to_local().detach()
    if tuple(local.shape) != tuple(shape):  # FSDP2 pads the last shard; read into its view
        local = local[: shape[0]] if shape else local
    return local, (offset[0] if offset else 0)
