"""Save a model as a stand-alone Hugging Face model directory.

`save_model(model, out_dir, tokenizer)` writes `config.json` (with `auto_map`),
`model.safetensors`, the model package's Python files (`modeling.py` and every module it imports
relatively, transitively) and the tokenizer. The result loads with
`AutoModelForCausalLM.from_pretrained(out_dir, trust_remote_code=True)` where neither forgather
nor fgc is installed.
"""

import json
import os
import shutil
import sys
from pathlib import Path

from forgather_files.atomic import new_directory
from torch import nn

from .package import BLOCKS_DIR, PackageError, import_closure


class ExportError(Exception):
    """The model cannot be exported; the message says why and what to do."""


def model_class(model: nn.Module) -> type:
    """The model's own class: FSDP2 (`fully_shard`) swaps in a subclass made on the fly
    (``FSDP<Name>``, defined in torch), which has no package to copy."""
    for cls in type(model).__mro__:
        if not any(base.__name__ == "FSDPModule" for base in cls.__mro__):
            return cls
    return type(model)


def package_files(model: nn.Module) -> tuple[str, dict[str, Path]]:
    """The module name of the model's class (e.g. "modeling") and the files of its package."""
    cls = model_class(model)
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if cls.__module__.endswith("forgather.ml.models.dynamic"):
        raise ExportError(
            f"{cls.__name__} was built in process by dynamic_causal_lm, which writes no model code; export a "
            "model built from a model package: the build/model/ that `fgc compile` emits, or one written "
            "with forgather.ml.models.package.write_model_package()"
        )
    if (
        path is None
        or not module.__package__
        or getattr(module, cls.__name__, None) is not cls
    ):
        raise ExportError(
            f"{cls.__module__}.{cls.__name__} is not a class defined at the top of a module inside a model "
            "package (a directory whose modules import each other relatively), so its code cannot be copied"
        )
    path = Path(path)
    try:
        files = import_closure(path.read_text(encoding="utf-8"), str(path), blocks=BLOCKS_DIR, directory=path.parent)
    except PackageError as err:
        raise ExportError(str(err)) from None
    # The class's own directory is the package: resolve its imports there (not in forgather).
    outside = {
        name: p for name, p in files.items() if p.parent != path.parent.resolve()
    }
    if outside:
        raise ExportError(
            f"{path} imports modules that are not in its package directory: {sorted(outside)}"
        )
    files[path.stem] = path.resolve()
    config_module = type(model.config).__module__.rsplit(".", 1)[-1]
    if config_module not in files:
        raise ExportError(
            f"the config class {type(model.config).__name__} is not defined in the model package"
        )
    return path.stem, files


def is_forgather_model(model: nn.Module) -> bool:
    """Whether `model` is a ForgatherCausalLM, whichever copy of hf_causal.py defined it (the one in
    forgather, a build's model/ package, or transformers' remote-code cache)."""
    return any(
        cls.__name__ == "ForgatherCausalLM" and hasattr(cls, "construct_model")
        for cls in type(model).__mro__
    )


def is_exportable(model: nn.Module) -> bool:
    """Whether `save_model` can write `model`: a ForgatherCausalLM whose class lives in a model package."""
    if not is_forgather_model(model):
        return False
    try:
        package_files(model)
    except ExportError:
        return False
    return True


def _check_json(config) -> None:
    for key, value in config.to_diff_dict().items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ExportError(
                f"config field {key!r} = {value!r} is not JSON-serialisable; config.json cannot hold it"
            ) from None


def save_model(model: nn.Module, out_dir: str | os.PathLike, tokenizer=None, *, state_dict=None) -> Path:
    """Write the model directory `out_dir` (replacing an old one atomically) and return it.

    Sets `model.config.auto_map` and `.architectures` on the way (as transformers'
    `register_for_auto_class` would), so a later `save_pretrained` writes the same config.
    `state_dict`: the weights to write instead of the model's own (gathered from shards); an
    empty dict writes no weights (config, code and tokenizer only).
    """
    module_name, files = package_files(model)
    name = model_class(model).__name__
    config = model.config
    config.auto_map = {
        "AutoConfig": f"{type(config).__module__.rsplit('.', 1)[-1]}.{type(config).__name__}",
        "AutoModelForCausalLM": f"{module_name}.{name}",
    }
    config.architectures = [name]
    _check_json(config)
    with new_directory(out_dir) as tmp:
        model.save_pretrained(tmp, state_dict=state_dict)
        for name, path in files.items():
            shutil.copyfile(path, tmp / f"{name}.py")
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
    return Path(out_dir)
