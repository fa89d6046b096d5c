"""`dynamic_causal_lm`, the first compile-time node: `build/model/` for each
`forgather.ml.models.dynamic:dynamic_causal_lm` node.

Inside the node's `definition` every `!var` is a model hyper-parameter, bound by the node's
other keyword arguments (or the var's own default): a field of the exported config.json and a
keyword parameter of the generated `construct_model` (fgc/codegen/model.py writes modeling.py),
not a variable of `construct()`. config.py builds the node as
`DynamicCausalLMForCausalLM(DynamicCausalLMConfig(<the node's keyword arguments>))` with the
classes loaded from the build's own `model/modeling.py`: the trained code is the exported code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from ..codegen import pytree as py
from ..codegen.compile_time_node import Binding, CompileTimeNode, ConfigWriter, Planned
from ..diagnostics import Diagnostic, Related, Result, did_you_mean, error, has_errors, warning
from ..graph import MISSING, Graph, Kind, Node, Value, walk_nodes
from ..imports import Imports
from ..imports.specs import Form

DYNAMIC_MODULE = "forgather.ml.models.dynamic"
DYNAMIC_ATTR = ("dynamic_causal_lm",)


def definition_of(node: Node) -> Value:
    return node.kwargs.get("definition", node.args[0] if node.args else None)


@dataclass
class ModelPackage(Planned):
    """One `dynamic_causal_lm` node: its model/ directory and how config.py builds it."""

    node: Node
    directory: str  # "model" (or "model_<name>" for a second model)
    modeling: str  # modeling.py, formatted
    user_modules: list[str] = field(default_factory=list)  # local module files to copy
    hparams: dict[str, Value] = field(default_factory=dict)  # config.json fields
    consumed: set[Node] = field(default_factory=set)
    distributions: tuple[str, ...] = ("torch", "transformers")

    def children(self) -> list[Value]:
        return list(self.hparams.values())

    def prepare(self, emitter: ConfigWriter) -> None:
        from ..codegen.model import CONFIG_CLASS, MODEL_CLASS

        for cls in (MODEL_CLASS, CONFIG_CLASS):
            emitter.build_module(self.directory, "modeling", cls)

    def expr(self, emitter: ConfigWriter) -> ast.expr:
        from ..codegen.model import CONFIG_CLASS, MODEL_CLASS

        model_cls = emitter.build_module(self.directory, "modeling", MODEL_CLASS)
        config_cls = emitter.build_module(self.directory, "modeling", CONFIG_CLASS)
        keywords = py.keywords([(k, emitter.expr(v)) for k, v in self.hparams.items()])
        return py.call(py.name(model_cls), [py.call(py.name(config_cls), [], keywords)])

    def write_files(self, root: Path) -> list[Diagnostic]:
        from ..build.model_package import PackageError, write_model_package

        try:
            write_model_package(root / self.directory, self.modeling, self.user_modules)
        except PackageError as e:
            return [error("FG0724", f"cannot write {self.directory}/: {e}", self.node.span)]
        return []


class DynamicModel(CompileTimeNode):
    def recognise(self, node: Node, imports: Imports) -> bool:
        spec = imports.specs.get(node)
        return (
            spec is not None
            and spec.form == Form.MODULE
            and spec.module == DYNAMIC_MODULE
            and spec.attrs == DYNAMIC_ATTR
        )

    def var_bindings(self, node: Node) -> dict[Node, Binding]:
        """Each hyper-parameter `!var` of the definition is bound by the node's keyword of that
        name (written in the user's [hyperparameters]): that value is what gets type-checked."""
        definition = definition_of(node)
        if not isinstance(definition, Node):
            return {}
        hparams = {k: v for k, v in node.call_kwargs.items() if k != "definition"}
        out: dict[Node, Binding] = {}
        for n in walk_nodes(definition):
            if n.kind == Kind.VAR and n.var in hparams:
                span = node.value_spans.get(n.var) or node.kwarg_spans.get(n.var, node.span)
                out[n] = (hparams[n.var], span, f"hyper-parameter `{n.var}`")
        return out

    def plan(
        self, nodes: list[Node], graph: Graph, imports: Imports, use_black: bool
    ) -> Result[list[Planned]]:
        # The writers are imported when a config has such a node: `recognise` is asked of every
        # compilation that resolves its imports (fgc check), most of which have none.
        from ..codegen.format import black_format
        from ..codegen.importing import Refused
        from ..codegen.model import ModelingWriter
        from ..codegen.names import Namer

        diags: list[Diagnostic] = []
        packages: list[Planned] = []
        directories = Namer()
        for node in nodes:
            definition = definition_of(node)
            if node.kind not in (Kind.SINGLETON, Kind.FACTORY):
                message = "a `dynamic_causal_lm` node must be `!singleton` (or `!factory`): it builds a model"
                diags.append(error("FG0720", message, node.span))
                continue
            if not (isinstance(definition, Node) and definition.kind == Kind.PARTIAL):
                span = node.kwarg_spans.get("definition", node.span)
                message = "`dynamic_causal_lm` takes `definition: !partial:...`, the architecture to build"
                diags.append(error("FG0720", message, span))
                continue
            subgraph = list(walk_nodes(definition))
            hparams, d = _hyperparameters(node, subgraph, graph)
            diags += d
            directory = directories.take(
                "model" if not packages else f"model_{node.name or node.anchor or node.key or 'model'}"
            )
            writer = ModelingWriter(definition, hparams, imports)
            try:
                source = writer.write()
            except Refused as e:
                diags.append(e.diagnostic)
                continue
            if use_black:
                source = black_format(source)
            packages.append(ModelPackage(node, directory, source, writer.user_modules, hparams, set(subgraph)))
        return Result([] if has_errors(diags) else packages, diags)


def _hyperparameters(node: Node, subgraph: list[Node], graph: Graph) -> tuple[dict[str, Value], list[Diagnostic]]:
    """The config fields: the node's keyword arguments, then defaults of unbound hyper-parameters."""
    diags: list[Diagnostic] = []
    hparams: dict[str, Value] = {}
    used = {n.var for n in subgraph if n.kind == Kind.VAR and n.var}
    for k, v in node.call_kwargs.items():
        if k == "definition":
            continue
        # A value may be computed by a node (`vocab_size: !call:len [*tokenizer]`); the runtime
        # checks that what it gets can be saved in config.json.
        hparams[k] = v
        if k not in used:  # kept in config.json, but changes no block: likely a misspelling
            diags.append(
                warning(
                    "FG0722",
                    f"hyper-parameter `{k}` is used by no `!var` of the model definition",
                    node.kwarg_spans.get(k, node.span),
                    hint=did_you_mean(k, sorted(used)),
                )
            )
    for n in subgraph:
        if n.kind != Kind.VAR or not n.var or n.var in hparams:
            continue
        var = graph.variables.get(n.var)
        default = var.default if var is not None else n.default
        if default is MISSING:
            diags.append(
                error(
                    "FG0721",
                    f"model hyper-parameter `{n.var}` has no value",
                    n.span,
                    related=(Related(node.span, "the `dynamic_causal_lm` node that would bind it"),),
                    hint=f"add `{n.var}: ...` to the `dynamic_causal_lm` node, or give the `!var` a default",
                )
            )
            continue
        hparams[n.var] = default
    return hparams, diags
