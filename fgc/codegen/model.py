"""Dynamic models: `build/model/` for each `forgather.ml.models.dynamic:DynamicCausalLM` node.

Contract (docs/runtime.md, "Models"): inside the `definition` argument of a DynamicCausalLM node
every `!var` is a model hyper-parameter, bound by the node's other keyword arguments (or the
var's own default); it becomes a field of the exported config.json and a keyword parameter of
the generated `construct_model`, not a variable of `construct()`.

For each such node this module writes `modeling.py` (relative imports for the portable block
modules `forgather.ml.models.<x>` and for user modules named by `.mod:Attr` / `path/file.py:Attr`
specs, absolute imports for third-party modules):

    def construct_model(*, hidden_size=256, ...):
        return CausalLM(input_encoder_factory=partial(InputEncoder, d_model=hidden_size), ...)

    class DynamicCausalLMConfig(ForgatherCausalLMConfig): model_type = "forgather-dynamic"
    class DynamicCausalLMForCausalLM(ForgatherCausalLM): config_class = ...; construct_model = ...

and `config.py` builds the node as
`DynamicCausalLMForCausalLM(DynamicCausalLMConfig(<the node's keyword arguments>))` with the
classes imported from the build's own `model/modeling.py`: the trained code is the exported code.
Inside `construct_model` the identity rules are those of `construct()`: a singleton is built once
per call, a factory at every reference, a partial is a `functools.partial` (or a function when
it has factory arguments, which are then built at every call).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, Related, did_you_mean, error, warning
from ..graph import CONTAINER_KINDS, LATENT_ARGS, MISSING, Graph, Kind, Node, Value, Variable, walk_nodes
from ..imports import Imports
from ..imports.specs import Form
from .analysis import built_per_call, count_references, direct_nodes
from .emit import ModelHook, _attr, _call, _const, _is_kwarg_name, _name, standard_callable
from .format import black_format
from .names import BUILTIN_NAMES, Namer

DYNAMIC_MODULE = "forgather.ml.models.dynamic"
DYNAMIC_ATTR = ("DynamicCausalLM",)
BLOCKS_PACKAGE = "forgather.ml.models"
MODEL_TYPE = "forgather-dynamic"


@dataclass
class ModelPackage:
    node: Node
    directory: str  # "model" (or "model_<name>" for a second model)
    modeling: str  # modeling.py, formatted
    user_modules: list[str] = field(default_factory=list)  # local module files to copy
    hparams: dict[str, Value] = field(default_factory=dict)  # config.json fields


@dataclass
class ModelPlan:
    packages: list[ModelPackage] = field(default_factory=list)
    graph: Graph | None = None  # the graph whose variables exclude model hyper-parameters
    hook: ModelHook | None = None


def is_dynamic_model(node: Node, imports: Imports) -> bool:
    spec = imports.specs.get(node)
    return (
        spec is not None
        and spec.form == Form.MODULE
        and spec.module == DYNAMIC_MODULE
        and spec.attrs == DYNAMIC_ATTR
    )


def plan_models(graph: Graph, imports: Imports, use_black: bool = True) -> tuple[ModelPlan, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    plan = ModelPlan(graph=graph)
    models = [n for n in graph.nodes() if is_dynamic_model(n, imports)]
    if not models:
        return plan, diags
    inside: set[Node] = set()
    names = Namer()
    for node in models:
        definition = node.kwargs.get("definition", node.args[0] if node.args else None)
        if node.kind not in (Kind.SINGLETON, Kind.FACTORY):
            diags.append(
                error(
                    "FG0720",
                    "a DynamicCausalLM node must be `!singleton` (or `!factory`): it builds a model",
                    node.span,
                )
            )
            continue
        if not (isinstance(definition, Node) and definition.kind == Kind.PARTIAL):
            span = node.kwarg_spans.get("definition", node.span)
            diags.append(
                error(
                    "FG0720",
                    "DynamicCausalLM takes `definition: !partial:...`, the architecture to build",
                    span,
                )
            )
            continue
        subgraph = list(walk_nodes(definition))
        inside.update(subgraph)
        hparams, d = _hyperparameters(node, definition, subgraph, graph)
        diags += d
        directory = names.take(
            "model" if not plan.packages else f"model_{node.name or node.anchor or node.key or 'model'}"
        )
        emitter = _ModelEmitter(definition, hparams, imports)
        try:
            source = emitter.emit()
        except _NotPortable as e:
            diags.append(e.diagnostic)
            continue
        if use_black:
            source = black_format(source)
        plan.packages.append(ModelPackage(node, directory, source, emitter.user_modules, hparams))
    if has_errors(diags):
        return plan, diags
    plan.graph = _without_model_variables(graph, inside)
    by_node = {p.node: p for p in plan.packages}

    def expr(emitter, node: Node) -> ast.expr:
        package = by_node[node]
        model_cls = emitter.import_build(package.directory, "modeling", "DynamicCausalLMForCausalLM")
        config_cls = emitter.import_build(package.directory, "modeling", "DynamicCausalLMConfig")
        keywords = []
        pairs = [(k, emitter.expr(v)) for k, v in package.hparams.items()]
        if all(_is_kwarg_name(k) for k, _ in pairs):
            keywords = [ast.keyword(arg=k, value=v) for k, v in pairs]
        else:
            keywords = [
                ast.keyword(
                    arg=None, value=ast.Dict([ast.Constant(k) for k, _ in pairs], [v for _, v in pairs])
                )
            ]
        return _call(_name(model_cls), [_call(_name(config_cls), [], keywords)])

    def prepare(emitter, node: Node) -> None:
        for cls in ("DynamicCausalLMForCausalLM", "DynamicCausalLMConfig"):
            emitter.import_build(by_node[node].directory, "modeling", cls)

    plan.hook = ModelHook(set(by_node), expr, lambda n: list(by_node[n].hparams.values()), prepare)
    return plan, diags


def has_errors(diags: list[Diagnostic]) -> bool:
    return any(d.is_error for d in diags)


def _hyperparameters(
    node: Node, definition: Node, subgraph: list[Node], graph: Graph
) -> tuple[dict[str, Value], list[Diagnostic]]:
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
                    related=(Related(node.span, "the DynamicCausalLM node that would bind it"),),
                    hint=f"add `{n.var}: ...` to the DynamicCausalLM node, or give the `!var` a default",
                )
            )
            continue
        hparams[n.var] = default
    return hparams, diags


def _without_model_variables(graph: Graph, inside: set[Node]) -> Graph:
    out = copy.copy(graph)
    out.variables = {}
    for name, var in graph.variables.items():
        nodes = [n for n in var.nodes if n not in inside]
        if not nodes:
            continue
        defaults = [n.default for n in nodes if n.default is not MISSING]
        out.variables[name] = Variable(name, defaults[0] if defaults else MISSING, nodes)
    return out


class _NotPortable(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class _ModelEmitter:
    """construct_model(): the definition's code with local bindings instead of members."""

    def __init__(self, definition: Node, hparams: dict[str, Value], imports: Imports) -> None:
        self.definition = definition
        self.hparams = hparams
        self.imports = imports
        self.names = Namer(
            set(BUILTIN_NAMES)
            | {
                "partial",
                "construct_model",
                "ForgatherCausalLMConfig",
                "ForgatherCausalLM",
                "DynamicCausalLMConfig",
                "DynamicCausalLMForCausalLM",
                "operator",
                "args",
                "kwargs",
            }
        )
        self.params = Namer()
        self.imported: dict[tuple, str] = {}
        self.import_stmts: list[ast.stmt] = []
        self.user_modules: list[str] = []
        self.locals: dict[Node, str] = {}
        self.per_call: set[Node] = set()
        self.uses_operator = False

    def emit(self) -> str:
        var_names = []
        for n in walk_nodes(self.definition):
            if n.kind == Kind.VAR and n.var not in var_names:
                var_names.append(n.var)
        self.names.reserve(*var_names)
        self._analyze()
        body: list[ast.stmt] = []
        for n in self.order:
            if n in self.locals:
                body.append(self._binding(n))
        spec_call = self._call(self.definition, partial=False)
        body.append(ast.Return(spec_call))
        kwonly = list(var_names)
        defaults = []
        for name in kwonly:
            v = self.hparams.get(name, MISSING)
            defaults.append(None if v is MISSING or any(True for _ in walk_nodes(v)) else _literal(v))
        fn = ast.FunctionDef(
            name="construct_model",
            args=ast.arguments(
                posonlyargs=[],
                args=[],
                vararg=None,
                kwonlyargs=[ast.arg(a) for a in kwonly],
                kw_defaults=defaults,
                kwarg=None,
                defaults=[],
            ),
            body=[
                ast.Expr(
                    ast.Constant(
                        "Build the core causal LM from its hyper-parameters (generated by fgc from the config's `definition`)."
                    )
                )
            ]
            + body,
            decorator_list=[],
            returns=None,
        )
        header = [
            ast.Expr(
                ast.Constant(
                    "Model code generated by fgc from a DynamicCausalLM `definition`: the architecture as code.\n\nPortable: relative imports of the block modules next to this file, absolute imports of torch and\nother third-party packages only. Loaded by transformers with trust_remote_code=True."
                )
            ),
            ast.ImportFrom(module="functools", names=[ast.alias("partial")], level=0),
        ]
        if self.uses_operator:
            header.append(ast.Import(names=[ast.alias("operator")]))
        header.append(
            ast.ImportFrom(
                module="hf_causal",
                names=[ast.alias("ForgatherCausalLMConfig"), ast.alias("ForgatherCausalLM")],
                level=1,
            )
        )
        classes = [
            ast.ClassDef(
                name="DynamicCausalLMConfig",
                bases=[_name("ForgatherCausalLMConfig")],
                keywords=[],
                body=[
                    ast.Assign(
                        targets=[ast.Name("model_type", ast.Store())],
                        value=ast.Constant(MODEL_TYPE),
                        lineno=0,
                    )
                ],
                decorator_list=[],
            ),
            ast.ClassDef(
                name="DynamicCausalLMForCausalLM",
                bases=[_name("ForgatherCausalLM")],
                keywords=[],
                body=[
                    ast.Assign(
                        targets=[ast.Name("config_class", ast.Store())],
                        value=_name("DynamicCausalLMConfig"),
                        lineno=0,
                    ),
                    ast.Assign(
                        targets=[ast.Name("construct_model", ast.Store())],
                        value=_call(_name("staticmethod"), [_name("construct_model")]),
                        lineno=0,
                    ),
                ],
                decorator_list=[],
            ),
        ]
        module = ast.Module(body=header + self.import_stmts + [fn] + classes, type_ignores=[])
        ast.fix_missing_locations(module)
        return ast.unparse(module) + "\n"

    # -- analysis: which nodes need a local name (same rules as construct(), see emit.py)
    def _analyze(self) -> None:
        found = count_references(_children(self.definition), _children)
        refs = found.counts
        self.order = found.post_order  # children before parents
        self.per_call = {n for n in self.order if built_per_call(n, _children)}
        visited: set[Node] = set()

        def visit(value: Value, once: bool) -> None:
            for n in direct_nodes(value):
                if n in visited or n.kind == Kind.VAR:
                    continue
                visited.add(n)
                named = bool(n.name or n.anchor) or refs[n] > 1
                if n.kind == Kind.META:
                    raise _NotPortable(
                        error("FG0723", "`!meta` cannot be part of a model definition", n.span)
                    )
                if n.kind == Kind.FACTORY:
                    body_once = False
                    if named:
                        self.locals[n] = ""
                elif n in self.per_call:
                    self.locals[n] = ""
                    body_once = False
                else:
                    if named or not once:
                        self.locals[n] = ""
                    body_once = True
                for c in _children(n):
                    visit(c, body_once)

        for c in _children(self.definition):
            visit(c, True)  # the definition is called once per construct_model call
        for n in self.order:
            if n in self.locals:
                fallback = (n.callable or str(n.kind)).replace(":", ".").split(".")[-1].lower()
                self.locals[n] = self.names.take(n.name or n.anchor or n.key or fallback, fallback)

    # -- code
    def _binding(self, n: Node) -> ast.stmt:
        name = self.locals[n]
        if n.kind == Kind.FACTORY:
            return ast.FunctionDef(
                name=name, args=_no_args(), body=[ast.Return(self._build(n))], decorator_list=[], returns=None
            )
        if n in self.per_call:
            args = ast.arguments(
                posonlyargs=[],
                args=[],
                vararg=ast.arg("args"),
                kwonlyargs=[],
                kw_defaults=[],
                kwarg=ast.arg("kwargs"),
                defaults=[],
            )
            return ast.FunctionDef(
                name=name,
                args=args,
                body=[ast.Return(self._call(n, partial=False, extra=True))],
                decorator_list=[],
                returns=None,
            )
        return ast.Assign(targets=[ast.Name(name, ast.Store())], value=self._build(n), lineno=0)

    def expr(self, value: Value) -> ast.expr:
        if isinstance(value, Node):
            if value.kind == Kind.VAR:
                return _name(value.var or "_")
            name = self.locals.get(value)
            if name is None:
                return self._build(value)
            return _call(_name(name)) if value.kind == Kind.FACTORY else _name(name)
        if isinstance(value, list):
            return ast.List([self.expr(v) for v in value], ast.Load())
        if isinstance(value, dict):
            return ast.Dict([ast.Constant(k) for k in value], [self.expr(v) for v in value.values()])
        return _const(value)

    def _build(self, n: Node) -> ast.expr:
        if n.kind in CONTAINER_KINDS:
            if n.kind == Kind.DICT:
                return ast.Dict(
                    [ast.Constant(k) for k in n.kwargs], [self.expr(v) for v in n.kwargs.values()]
                )
            items = [self.expr(v) for v in n.args]
            return ast.Tuple(items, ast.Load()) if n.kind == Kind.TUPLE else ast.List(items, ast.Load())
        return self._call(n, partial=n.kind == Kind.PARTIAL)

    def _call(self, n: Node, partial: bool, extra: bool = False) -> ast.expr:
        func = self._callable(n)
        args = [self.expr(v) for v in n.args]
        kwargs = dict(n.call_kwargs)
        latent = n.kwargs.get(LATENT_ARGS)
        if isinstance(latent, dict):
            kwargs.update(latent)
            latent = None
        if latent is not None:
            raise _NotPortable(
                error(
                    "FG0723",
                    "`latent_args` must be a plain mapping inside a model definition",
                    n.kwarg_spans.get(LATENT_ARGS, n.span),
                )
            )
        if extra:
            args.append(ast.Starred(_name("args"), ast.Load()))
        pairs = [(k, self.expr(v)) for k, v in kwargs.items()]
        if not extra and all(_is_kwarg_name(k) for k, _ in pairs):
            keywords = [ast.keyword(arg=k, value=v) for k, v in pairs]
        else:
            keys: list = [ast.Constant(k) for k, _ in pairs]
            values = [v for _, v in pairs]
            if extra:
                keys.append(None)
                values.append(_name("kwargs"))
            keywords = [ast.keyword(arg=None, value=ast.Dict(keys, values))] if values else []
        if partial:
            return _call(_name("partial"), [func, *args], keywords)
        return _call(func, args, keywords)

    def _callable(self, n: Node) -> ast.expr:
        spec = self.imports.specs[n]
        standard = standard_callable(spec)
        if standard is not None:
            expr, self.uses_operator = standard[0], self.uses_operator or standard[1]
            return expr
        if spec.form == Form.HELPER:
            helper = {"named_list": "list", "named_tuple": "tuple", "named_dict": "dict"}.get(spec.text)
            if helper is None:
                raise _NotPortable(
                    error(
                        "FG0723",
                        f"the graph helper `{spec.text}` cannot be used in a model definition",
                        n.span,
                    )
                )
            if spec.text in ("named_list", "named_tuple"):
                raise _NotPortable(
                    error(
                        "FG0723",
                        f"use `!{spec.text[6:]}` instead of `{spec.text}` in a model definition",
                        n.span,
                    )
                )
            return _name(helper)
        loc = self.imports.locations.get(n)
        if loc is not None and loc.is_local:
            if "." in (loc.local_name or ""):
                raise _NotPortable(
                    error(
                        "FG0723",
                        f"`{spec.text}`: a model package is flat; name a module next to the template (`.module:Name`)",
                        n.span,
                    )
                )
            if loc.file and loc.file not in self.user_modules:
                self.user_modules.append(loc.file)
            return _attr(_name(self._import(loc.local_name or "", spec.attrs[0], level=1)), *spec.attrs[1:])
        module = spec.module or ""
        if module.startswith(BLOCKS_PACKAGE + "."):
            sub = module[len(BLOCKS_PACKAGE) + 1 :]
            if "." in sub or sub in ("dynamic", "package", "export", "convert"):
                raise _NotPortable(
                    error(
                        "FG0723", f"`{spec.text}` is not a portable block module of {BLOCKS_PACKAGE}", n.span
                    )
                )
            return _attr(_name(self._import(sub, spec.attrs[0], level=1)), *spec.attrs[1:])
        if module == "forgather" or module.startswith("forgather."):
            raise _NotPortable(
                error(
                    "FG0723",
                    f"`{spec.text}` cannot be part of a model definition: only the portable blocks "
                    f"({BLOCKS_PACKAGE}.<module>), user modules and third-party packages can",
                    n.span,
                )
            )
        return _attr(_name(self._import(module, spec.attrs[0], level=0)), *spec.attrs[1:])

    def _import(self, module: str, attr: str, level: int) -> str:
        key = (module, attr, level)
        if key not in self.imported:
            name = self.names.take(attr if attr not in self.names.used else f"{module.split('.')[-1]}_{attr}")
            self.imported[key] = name
            self.import_stmts.append(
                ast.ImportFrom(
                    module=module, names=[ast.alias(attr, None if name == attr else name)], level=level
                )
            )
        return self.imported[key]


def _children(n: Node) -> list[Value]:
    if n.kind in (Kind.VAR, Kind.META):
        return []
    return list(n.args) + list(n.kwargs.values())


def _no_args() -> ast.arguments:
    return ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )


def _literal(v: Value) -> ast.expr:
    if isinstance(v, list):
        return ast.List([_literal(x) for x in v], ast.Load())
    if isinstance(v, dict):
        return ast.Dict([ast.Constant(k) for k in v], [_literal(x) for x in v.values()])
    return _const(v)
