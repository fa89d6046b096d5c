"""A model definition as data, and the two things the back end does with one.

Test-side stand-in for fgc's code generator (see /work/team/model_contract.md): a definition is
a tree of `Partial(spec, **kwargs)` nodes whose leaves may be `Var(name)` hyper-parameters.

- `render_modeling(definition, hparams)` writes the `modeling.py` source that `fgc compile`
  emits into `build/model/` (relative imports for forgather blocks and user modules).
- `materialize(definition, hparams)` builds the same model in process (what `DynamicCausalLM`
  needs as `definition`).
"""

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

try:
    import black
except ImportError:  # formatting is cosmetic; the source is valid Python either way
    black = None

BLOCKS = "forgather.ml.models."


@dataclass(frozen=True)
class Var:
    name: str


@dataclass
class Partial:
    spec: str  # "module:Attr", "forgather.ml.models.x:Attr", or "/path/to/user.py:Attr"
    kwargs: dict = field(default_factory=dict)

    def replace(self, **kwargs) -> "Partial":
        return Partial(self.spec, {**self.kwargs, **kwargs})


def _split(spec: str) -> tuple[str, str]:
    module, attr = spec.rsplit(":", 1)
    return module, attr


def user_modules(value) -> set[Path]:
    """Paths of the user module files a definition names."""
    found = set()
    if isinstance(value, Partial):
        module, _ = _split(value.spec)
        if module.endswith(".py"):
            found.add(Path(module))
        for v in value.kwargs.values():
            found |= user_modules(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            found |= user_modules(v)
    elif isinstance(value, dict):
        for v in value.values():
            found |= user_modules(v)
    return found


def render_modeling(definition: Partial, hparams: dict, model_type: str = "forgather-dynamic") -> str:
    """The modeling.py source for `definition` with the hyper-parameters' default values."""
    imports: dict[str, str] = {}

    def name_of(spec: str) -> str:
        module, attr = _split(spec)
        if module.startswith(BLOCKS):
            line = f"from .{module.removeprefix(BLOCKS)} import {attr}"
        elif module.endswith(".py"):
            line = f"from .{Path(module).stem} import {attr}"
        else:
            line = f"from {module} import {attr}"
        imports[line] = attr
        return attr

    def expr(value) -> str:
        if isinstance(value, Var):
            return value.name
        if isinstance(value, Partial):
            args = "".join(f", {k}={expr(v)}" for k, v in value.kwargs.items())
            return f"partial({name_of(value.spec)}{args})"
        if isinstance(value, list):
            return "[" + ", ".join(map(expr, value)) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {expr(v)}" for k, v in value.items()) + "}"
        return repr(value)

    root = expr(definition)  # partial(CausalLM, ...): construct_model calls it
    params = ", ".join(f"{k}={v!r}" for k, v in hparams.items())
    source = "\n".join(
        [
            '"""Generated model construction code."""',
            "from functools import partial",
            "from .hf_causal import ForgatherCausalLMConfig, ForgatherCausalLM",
            *sorted(imports),
            "",
            f"def construct_model(*, {params}):",
            f"    return {root}()",
            "",
            "class DynamicCausalLMConfig(ForgatherCausalLMConfig):",
            f"    model_type = {model_type!r}",
            "",
            "class DynamicCausalLMForCausalLM(ForgatherCausalLM):",
            "    config_class = DynamicCausalLMConfig",
            "    construct_model = staticmethod(construct_model)",
        ]
    )
    return black.format_str(source, mode=black.Mode()) if black else source + "\n"


def _resolve(spec: str):
    module, attr = _split(spec)
    if module.endswith(".py"):
        name = f"_user_{Path(module).stem}_{abs(hash(module))}"
        if name not in sys.modules:
            loader_spec = importlib.util.spec_from_file_location(name, module)
            mod = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = mod
            loader_spec.loader.exec_module(mod)
        obj = sys.modules[name]
    else:
        obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def materialize(value, hparams: dict):
    """Var -> its value, Partial -> functools.partial of the resolved callable, recursively."""
    if isinstance(value, Var):
        return hparams[value.name]
    if isinstance(value, Partial):
        return partial(_resolve(value.spec), **{k: materialize(v, hparams) for k, v in value.kwargs.items()})
    if isinstance(value, list):
        return [materialize(v, hparams) for v in value]
    if isinstance(value, dict):
        return {k: materialize(v, hparams) for k, v in value.items()}
    return value


def definition_callable(definition: Partial):
    """`(**hparams) -> core model`, for DynamicCausalLM."""

    def build(**hparams):
        return materialize(definition, hparams)()

    return build


_counter = 0


def import_package(package_dir: Path):
    """Import `package_dir/modeling.py` as `<unique name>.modeling` and return the module."""
    global _counter
    _counter += 1
    name = f"fgmodelpkg_{_counter}"
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)
    return importlib.import_module(f"{name}.modeling")
