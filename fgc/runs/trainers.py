"""`fgc run --nproc N`: can this build's target run in several processes?

A build may be launched in several processes only when every trainer class it names supports
that. The trainers are found from the build's graph.json (the callables of its nodes), without
constructing anything: each callable is looked up (importing its module, which the run does
anyway) and a class counts as a trainer when it

- has the class attribute `supports_multi_process` (the contract: a trainer that runs in
  several processes sets it to True), or
- derives from `transformers.Trainer` (multi-process through Accelerate), or
- derives from Forgather's `BaseTrainer` (single process unless it sets the attribute).

The launch itself is fgc.runs.launcher's.
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..imports.specs import Form, SpecError, parse_spec


@dataclass(frozen=True)
class TrainerClass:
    spec: str  # the callable as the config wrote it
    cls: type
    multi_process: bool

    @property
    def name(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


def graph_callables(build_dir: Path) -> list[str]:
    """Every callable spec of the build's graph, in node order, each once."""
    try:
        graph = json.loads((build_dir / "graph.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    specs = [n.get("callable") for n in graph.get("nodes", {}).values()]
    return list(dict.fromkeys(s for s in specs if s))


def _local_module(build_dir: Path, name: str) -> ModuleType | None:
    """A module copied into the build's modules/ and already imported by its config.py."""
    modules = (build_dir / "modules").resolve()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or module.__name__.rpartition(".")[2] != name:
            continue
        try:
            Path(file).resolve().relative_to(modules)
        except ValueError:
            continue
        return module
    return None


def resolve_callable(spec_text: str, build_dir: Path) -> Any:
    """The object a spec names, or None when it cannot be looked up without constructing."""
    try:
        spec = parse_spec(spec_text, str(build_dir))
    except SpecError:
        return None
    module: ModuleType | None = None
    try:
        if spec.form == Form.MODULE and spec.module is not None:
            module = importlib.import_module(spec.module)
        elif spec.form == Form.RELATIVE and spec.module is not None:
            module = _local_module(build_dir, spec.module.rpartition(".")[2])
        elif spec.form == Form.FILE and spec.path is not None:
            module = _local_module(build_dir, Path(spec.path).stem)
    except Exception:  # a module that fails to import is reported by the run itself
        return None
    obj: Any = module
    for attr in spec.attrs if module is not None else ():
        obj = getattr(obj, attr, None)
    return obj


def _derives_from(cls: type, module_prefix: str, name: str) -> bool:
    return any(c.__name__ == name and c.__module__.startswith(module_prefix) for c in cls.__mro__)


def trainer_class(obj: Any) -> TrainerClass | None:
    if not isinstance(obj, type):
        return None
    declared = getattr(obj, "supports_multi_process", None)
    if declared is not None:
        return TrainerClass("", obj, bool(declared))
    if _derives_from(obj, "transformers", "Trainer"):
        return TrainerClass("", obj, True)
    if _derives_from(obj, "forgather.ml.trainer", "BaseTrainer"):
        return TrainerClass("", obj, False)
    return None


def trainer_classes(build_dir: str | Path) -> list[TrainerClass]:
    """The trainer classes the build's config names (call after importing its config.py, so that
    local modules are found)."""
    build_dir = Path(build_dir)
    found: list[TrainerClass] = []
    for spec in graph_callables(build_dir):
        info = trainer_class(resolve_callable(spec, build_dir))
        if info is not None:
            found.append(TrainerClass(spec, info.cls, info.multi_process))
    return found


def single_process_trainers(build_dir: str | Path) -> list[TrainerClass]:
    """The trainers that refuse `--nproc N` (an empty list: the build may be launched)."""
    return [t for t in trainer_classes(build_dir) if not t.multi_process]


def nproc_refusal(build_dir: str | Path, nproc: int) -> str | None:
    """Why `--nproc nproc` cannot run this build, or None."""
    if nproc <= 1:
        return None
    single = single_process_trainers(build_dir)
    if not single:
        return None
    names = ", ".join(f"{t.name} (`{t.spec}`)" for t in single)
    return (
        f"--nproc {nproc}: the build's trainer runs in a single process: {names}; "
        "use a multi-process trainer (one whose class sets `supports_multi_process = True`, "
        "or a transformers.Trainer), or run without --nproc"
    )
