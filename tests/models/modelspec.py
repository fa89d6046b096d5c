"""A model definition as data: a tree of `Partial(spec, **kwargs)` nodes whose leaves may be
`Var(name)` hyper-parameters, as a dynamic_causal_lm node's `definition` is in a config.

- `from_graph(graph)` reads one out of a build's graph.json (what `fgc compile` resolved);
- `materialize(definition, hparams)` / `definition_callable(definition)` build the model in
  process (what `dynamic_causal_lm` needs as `definition`).
"""

import importlib
from dataclasses import dataclass, field
from functools import partial


@dataclass(frozen=True)
class Var:
    name: str


@dataclass
class Partial:
    spec: str  # "package.module:Attr"
    kwargs: dict = field(default_factory=dict)

    def replace(self, **kwargs) -> "Partial":
        return Partial(self.spec, {**self.kwargs, **kwargs})


def _resolve(spec: str):
    module, attr = spec.rsplit(":", 1)
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def materialize(value, hparams: dict):
    """Var -> its value, Partial -> functools.partial of the resolved callable, recursively."""
    if isinstance(value, Var):
        return hparams[value.name]
    if isinstance(value, Partial):
        return partial(
            _resolve(value.spec),
            **{k: materialize(v, hparams) for k, v in value.kwargs.items()},
        )
    if isinstance(value, list):
        return [materialize(v, hparams) for v in value]
    if isinstance(value, dict):
        return {k: materialize(v, hparams) for k, v in value.items()}
    return value


def definition_callable(definition: Partial):
    """`(**hparams) -> core model`, for dynamic_causal_lm."""

    def build(**hparams):
        return materialize(definition, hparams)()

    return build


def from_graph(graph: dict, target: str = "model") -> tuple[Partial, dict]:
    """(definition, hyper-parameters) of the dynamic_causal_lm node `target` of a graph.json."""
    nodes = graph["nodes"]

    def value(v):
        if isinstance(v, dict) and set(v) == {"$node"}:
            node = nodes[v["$node"]]
            if node["kind"] == "var":
                return Var(node["var"])
            assert node["kind"] in ("partial", "singleton") and not node["args"], node
            return Partial(
                node["callable"], {k: value(x) for k, x in node["kwargs"].items()}
            )
        if isinstance(v, dict):
            return {k: value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [value(x) for x in v]
        return v

    model = value(graph["values"][target])
    assert model.spec == "forgather.ml.models.dynamic:dynamic_causal_lm", model.spec
    hparams = dict(model.kwargs)
    return hparams.pop("definition"), hparams
