"""Emit the config module as a Python `ast` tree (formatting and positions: `format.py`).

Shape of the module (DESIGN §3.7):

    imports of every callable the config names
    support code (support.py: sentinels, error annotation, `partial`, `local_module`)
    TARGETS, VARIABLES
    def construct(target="main", /, *, <one keyword per !var>): ...
    class Construction(BaseConstruction):
        def target(self, name): match name: ...         # the targets
        @functools.cached_property                       # one member per named or shared node
        def model(self): return Linear(...)

Identity (DESIGN §4): a singleton (and a container tag, and a partial) is a cached property,
built once per `construct` call; a factory is a method called at every reference; a partial is
a `functools.partial` (a subclass that reports the template position when a call fails) whose
extra positional arguments are appended and keyword arguments merged. A partial with factory
arguments gets a `<name>_call` method evaluated at every call, so those factories are fresh at
every call while its singletons are shared. An unnamed node used once is written inline where
that keeps these rules (a singleton below a factory or a per-call partial is always a member).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..graph import CONTAINER_KINDS, LATENT_ARGS, MISSING, Graph, Kind, Node, Value, walk_nodes
from ..imports import Imports
from ..imports.locate import Location
from ..imports.specs import Form, Spec
from .analysis import built_per_call, count_references, direct_nodes
from .names import BUILTIN_NAMES, Namer

SUPPORT_FILE = Path(__file__).with_name("support.py")
# Globals of support.py that the generated module defines itself.
_SUPPORT_PLACEHOLDERS = {"ORIGINS", "VARIABLES"}
# Attributes of support.BaseConstruction: node members may not use these names.
_BASE_MEMBERS = {"variables", "build", "target", "var", "unknown_target", "default"}

Origin = tuple  # (template file, line, col, description)


@dataclass
class Emitted:
    module: ast.Module
    marks: list[tuple[ast.AST, Origin]] = field(default_factory=list)  # node code -> template origin
    targets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    support: tuple[int, int] = (0, 0)  # module.body[a:b] is the support code (the same in every module)


@dataclass
class ModelHook:
    """How a node that codegen builds specially (a DynamicCausalLM) is written: `expr(emitter,
    node)` returns its expression; `children(node)` the values that expression uses."""

    nodes: set[Node]
    expr: Callable[["Emitter", Node], ast.expr]
    children: Callable[[Node], list[Value]]
    prepare: Callable[["Emitter", Node], None] | None = None  # register imports before naming


def _support_module() -> ast.Module:
    return ast.parse(SUPPORT_FILE.read_text(encoding="utf-8"))


def _top_level_names(module: ast.Module) -> set[str]:
    names: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
    return names


def _name(id: str) -> ast.Name:
    return ast.Name(id=id, ctx=ast.Load())


def _attr(value: ast.expr, *attrs: str) -> ast.expr:
    for a in attrs:
        value = ast.Attribute(value=value, attr=a, ctx=ast.Load())
    return value


def _self(attr: str) -> ast.expr:
    return _attr(_name("self"), attr)


def _call(func: ast.expr, args: list[ast.expr] = (), keywords: list[ast.keyword] = ()) -> ast.Call:  # type: ignore[assignment]
    return ast.Call(func=func, args=list(args), keywords=list(keywords))


def _const(v) -> ast.expr:
    if isinstance(v, float) and not math.isfinite(v):
        return _call(_name("float"), [ast.Constant("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))])
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.copysign(1, v) < 0:
        # Written as `-x`, which Python parses as a unary minus: build that tree.
        return ast.UnaryOp(ast.USub(), ast.Constant(-v))
    return ast.Constant(v)


def _is_kwarg_name(k: str) -> bool:
    import keyword

    return k.isidentifier() and not keyword.iskeyword(k)


def standard_callable(spec: Spec) -> tuple[ast.expr, bool] | None:
    """The expression of a builtin or an `operator`-backed helper (`getitem`, `items`, `keys`,
    `values`), and whether it needs `import operator`; None for any other spec."""
    if spec.form == Form.BUILTIN:
        return _attr(_name(spec.attrs[0]), *spec.attrs[1:]), False
    if spec.form == Form.HELPER and spec.text == "getitem":
        return _attr(_name("operator"), "getitem"), True
    if spec.form == Form.HELPER and spec.text in ("items", "keys", "values"):
        return _call(_attr(_name("operator"), "methodcaller"), [ast.Constant(spec.text)]), True
    return None


def _func(name: str, args: ast.arguments, body: list[ast.stmt], decorators: list[ast.expr] = ()) -> ast.FunctionDef:  # type: ignore[assignment]
    return ast.FunctionDef(name=name, args=args, body=body, decorator_list=list(decorators), returns=None)


def _args(
    posonly=(), args=(), vararg=None, kwonly=(), kw_defaults=(), kwarg=None, defaults=()
) -> ast.arguments:
    return ast.arguments(
        posonlyargs=[ast.arg(a) for a in posonly],
        args=[ast.arg(a) for a in args],
        vararg=ast.arg(vararg) if vararg else None,
        kwonlyargs=[ast.arg(a) for a in kwonly],
        kw_defaults=list(kw_defaults),
        kwarg=ast.arg(kwarg) if kwarg else None,
        defaults=list(defaults),
    )


def _doc(text: str) -> ast.Expr:
    return ast.Expr(ast.Constant(text))


class Emitter:
    def __init__(
        self,
        graph: Graph,
        imports: Imports,
        source_name: Callable[[str], str],
        local_dir_name: Callable[[str], str],
        title: str,
        hook: ModelHook | None = None,
    ) -> None:
        self.graph = graph
        self.imports = imports
        self.source_name = source_name
        self.local_dir_name = local_dir_name
        self.title = title
        self.hook = hook
        self.support = _support_module()
        reserved = _top_level_names(self.support) | {
            "construct",
            "Construction",
            "TARGETS",
            "VARIABLES",
            "ORIGINS",
            "operator",
            "functools",
        }
        self.module_names = Namer(reserved | BUILTIN_NAMES)
        self.imported: dict[tuple, str] = {}
        self.import_stmts: dict[tuple, ast.stmt] = {}
        self.local_stmts: list[ast.stmt] = []
        self.marks: list[tuple[ast.AST, Origin]] = []
        self.members: dict[Node, str] = {}
        self.call_methods: dict[Node, str] = {}
        self.target_members: dict[str, str] = {}
        self.uses_operator = False

    # ------------------------------------------------------------------ analysis

    def _children(self, node: Node) -> list[Value]:
        if self.hook and node in self.hook.nodes:
            return self.hook.children(node)
        if node.kind in (Kind.VAR, Kind.META):
            return []  # a var's default is emitted once per variable; a meta node's args never
        return list(node.args) + list(node.kwargs.values())

    def _analyze(self) -> None:
        g = self.graph
        defaults = [var.default for var in g.variables.values() if var.default is not MISSING]
        found = count_references([g.values[t] for t in g.targets] + defaults, self._children)
        refs, order = found.counts, found.pre_order
        target_nodes = {g.values[t] for t in g.targets if isinstance(g.values[t], Node)}
        self.per_call = {
            n for n in order if not (self.hook and n in self.hook.nodes) and built_per_call(n, self._children)
        }
        member: set[Node] = set()
        visited: set[Node] = set()

        def visit(value: Value, once: bool) -> None:
            for n in direct_nodes(value):
                if n in visited:
                    continue
                visited.add(n)
                named = bool(n.name or n.anchor) or refs[n] > 1 or n in target_nodes
                if n.kind == Kind.VAR:
                    continue
                if n.kind == Kind.FACTORY:
                    if named:
                        member.add(n)
                    body_once = False
                elif n.kind == Kind.PARTIAL and n in self.per_call:
                    member.add(n)
                    body_once = False
                else:
                    if named or not once:
                        member.add(n)
                    body_once = True
                for c in self._children(n):
                    visit(c, body_once)

        for t in g.targets:
            v = g.values[t]
            if not isinstance(v, Node) and direct_nodes(v):
                self.target_members[t] = ""  # named below
            visit(v, True)
        for var in g.variables.values():
            if var.default is not MISSING:
                visit(var.default, True)
        # Import every callable first: member names must not equal an imported name.
        for n in order:
            if self.hook and n in self.hook.nodes and self.hook.prepare:
                self.hook.prepare(self, n)
            if n in self.imports.specs and self.imports.specs[n].form not in (Form.BUILTIN, Form.HELPER):
                if not (self.hook and n in self.hook.nodes) and n.kind != Kind.META:
                    self.callable_expr(n)
        # Names, in first-visit order so that earlier definitions get the plain names.
        self.member_names = Namer(self.module_names.used | _BASE_MEMBERS)
        for n in order:
            if n in member:
                fallback = (n.callable or str(n.kind)).replace(":", ".").split(".")[-1].lower()
                self.members[n] = self.member_names.take(n.name or n.anchor or n.key or fallback, fallback)
        for n in order:
            if n in self.per_call:
                self.call_methods[n] = self.member_names.take(f"{self.members[n]}_call")
        for t in self.target_members:
            self.target_members[t] = self.member_names.take(t, "target")

    # ------------------------------------------------------------------ imports

    def _import(self, module: str, attr: str) -> str:
        key = ("module", module, attr)
        if key not in self.imported:
            name = attr if attr not in self.module_names.used else f"{module.split('.')[-1]}_{attr}"
            name = self.module_names.take(name)
            self.imported[key] = name
            alias = ast.alias(name=attr, asname=None if name == attr else name)
            self.import_stmts[key] = ast.ImportFrom(module=module, names=[alias], level=0)
        return self.imported[key]

    def _import_local(self, loc: Location, attr: str) -> str:
        assert loc.directory is not None and loc.local_name is not None
        directory = self.local_dir_name(loc.directory)
        search = tuple(self.local_dir_name(s) for s in loc.search)
        key = ("local", directory, loc.local_name, search, attr)
        if key not in self.imported:
            name = attr if attr not in self.module_names.used else f"{loc.local_name.split('.')[-1]}_{attr}"
            name = self.module_names.take(name)
            self.imported[key] = name
            args: list[ast.expr] = [ast.Constant(directory), ast.Constant(loc.local_name)]
            if search:
                args.append(ast.Tuple([ast.Constant(s) for s in search], ast.Load()))
            value = _attr(_call(_name("local_module"), args), attr)
            self.local_stmts.append(ast.Assign(targets=[ast.Name(name, ast.Store())], value=value, lineno=0))
        return self.imported[key]

    def import_build(self, directory: str, module: str, attr: str) -> str:
        """A name for `attr` of `<build>/<directory>/<module>.py` (e.g. model/modeling.py)."""
        key = ("build", directory, module, attr)
        if key not in self.imported:
            name = self.module_names.take(attr)
            self.imported[key] = name
            loader = _call(
                _name("local_module"),
                [ast.Constant(directory), ast.Constant(module)],
                [ast.keyword("root", _name("BUILD"))],
            )
            self.local_stmts.append(
                ast.Assign(targets=[ast.Name(name, ast.Store())], value=_attr(loader, attr), lineno=0)
            )
        return self.imported[key]

    def callable_expr(self, node: Node) -> ast.expr:
        """The expression naming a node's callable (importing it)."""
        spec: Spec = self.imports.specs[node]
        standard = standard_callable(spec)
        if standard is not None:
            expr, self.uses_operator = standard[0], self.uses_operator or standard[1]
            return expr
        if spec.form == Form.HELPER:
            return _name(spec.text)  # call, named_list, named_tuple, named_dict: support functions
        loc = self.imports.locations.get(node)
        if loc is not None and loc.is_local:
            head = self._import_local(loc, spec.attrs[0])
        else:
            assert spec.module is not None
            head = self._import(spec.module, spec.attrs[0])
        return _attr(_name(head), *spec.attrs[1:])

    # ------------------------------------------------------------------ expressions

    def origin(self, node: Node) -> Origin:
        s = node.span
        return (self.source_name(s.file), s.line, s.col, node.describe())

    def mark(self, code: ast.AST, node: Node) -> ast.AST:
        self.marks.append((code, self.origin(node)))
        return code

    def expr(self, value: Value) -> ast.expr:
        if isinstance(value, Node):
            return self.ref(value)
        if isinstance(value, list):
            return ast.List([self.expr(v) for v in value], ast.Load())
        if isinstance(value, dict):
            return ast.Dict([ast.Constant(k) for k in value], [self.expr(v) for v in value.values()])
        return _const(value)

    def ref(self, node: Node) -> ast.expr:
        """A reference to a node: its member, or its code inline."""
        if node.kind == Kind.VAR:
            return _call(_self("var"), [ast.Constant(node.var)])
        name = self.members.get(node)
        if name is None:
            return self.build_expr(node)
        if node.kind == Kind.FACTORY:
            return _call(_self(name))
        return _self(name)

    def build_expr(self, node: Node) -> ast.expr:
        """The code that builds a node (marked with the node's template origin)."""
        if self.hook and node in self.hook.nodes:
            return self.mark(self.hook.expr(self, node), node)  # type: ignore[return-value]
        if node.kind == Kind.META:
            return self.mark(_call(_name("not_executed"), [ast.Constant(f"{node.describe()} ({self._where(node)})")]), node)  # type: ignore[return-value]
        if node.kind in CONTAINER_KINDS:
            return self.mark(self._container(node), node)  # type: ignore[return-value]
        if node.kind == Kind.PARTIAL:
            if node in self.per_call:
                return self.mark(_call(_name("partial"), [_self(self.call_methods[node])]), node)  # type: ignore[return-value]
            args, keywords = self._arguments(node)
            return self.mark(_call(_name("partial"), [self.callable_expr(node), *args], keywords), node)  # type: ignore[return-value]
        return self.mark(self._call_node(node), node)  # type: ignore[return-value]

    def _where(self, node: Node) -> str:
        return f"{self.source_name(node.span.file)}:{node.span.line}:{node.span.col}"

    def _container(self, node: Node) -> ast.expr:
        if node.kind == Kind.DICT:
            return ast.Dict(
                [ast.Constant(k) for k in node.kwargs], [self.expr(v) for v in node.kwargs.values()]
            )
        items = [self.expr(v) for v in node.args]
        if node.kind == Kind.TUPLE:
            return ast.Tuple(items, ast.Load())
        return ast.List(items, ast.Load())

    def _call_node(self, node: Node) -> ast.expr:
        spec = self.imports.specs[node]
        args, keywords = self._arguments(node)
        if spec.form == Form.HELPER and not any(isinstance(a, ast.Starred) for a in args):
            n = len(args)
            if spec.text == "getitem" and n == 2 and not keywords:
                return ast.Subscript(value=args[0], slice=args[1], ctx=ast.Load())
            if spec.text in ("items", "keys", "values") and n == 1 and not keywords:
                return _call(_attr(args[0], spec.text))
            if spec.text == "call" and n >= 1:
                return _call(args[0], args[1:], keywords)
            if spec.text == "named_list" and not keywords:
                return ast.List(args, ast.Load())
            if spec.text == "named_tuple" and not keywords:
                return ast.Tuple(args, ast.Load())
            if spec.text == "named_dict" and not args and all(k.arg for k in keywords):
                return ast.Dict([ast.Constant(k.arg) for k in keywords], [k.value for k in keywords])
        if spec.form == Form.BUILTIN and spec.text == "getattr" and len(node.args) == 2 and not keywords:
            name = node.args[1]
            if isinstance(name, str) and _is_kwarg_name(name) and not isinstance(args[0], ast.Starred):
                return _attr(args[0], name)  # `!call:getattr [*x, name]` is `x.name`
        return _call(self.callable_expr(node), args, keywords)

    def _arguments(self, node: Node, extra: bool = False) -> tuple[list[ast.expr], list[ast.keyword]]:
        """Positional and keyword arguments of a callable node.

        `extra` (the body of a per-call partial) appends `*args` and merges `**kwargs`.
        `latent_args` (the reference's) is merged over the keyword arguments.
        """
        args = [self.expr(v) for v in node.args]
        kwargs = dict(node.call_kwargs)
        latent = node.kwargs.get(LATENT_ARGS)
        if isinstance(latent, dict):
            kwargs.update(latent)
            latent = None
        if extra:
            args.append(ast.Starred(_name("args"), ast.Load()))
        pairs = [(k, self.expr(v)) for k, v in kwargs.items()]
        if latent is None and not extra and all(_is_kwarg_name(k) for k, _ in pairs):
            return args, [ast.keyword(arg=k, value=v) for k, v in pairs]
        keys: list[ast.expr | None] = [ast.Constant(k) for k, _ in pairs]
        values = [v for _, v in pairs]
        if latent is not None:
            keys.append(None)
            values.append(self.expr(latent))
        if extra:
            keys.append(None)
            values.append(_name("kwargs"))
        if not values:
            return args, []
        if len(keys) == 1 and keys[0] is None:
            return args, [ast.keyword(arg=None, value=values[0])]
        return args, [ast.keyword(arg=None, value=ast.Dict(keys, values))]

    # ------------------------------------------------------------------ the module

    def _member(self, node: Node) -> list[ast.stmt]:
        name = self.members[node]
        doc = _doc(f"{node.describe()} ({self._where(node)})")
        body = self.build_expr(node)
        out: list[ast.stmt] = []
        if node.kind == Kind.FACTORY:
            out.append(_func(name, _args(args=["self"]), [doc, ast.Return(body)]))
        else:
            out.append(
                _func(
                    name,
                    _args(args=["self"]),
                    [doc, ast.Return(body)],
                    [_attr(_name("functools"), "cached_property")],
                )
            )
        if node in self.per_call:
            args, keywords = self._arguments(node, extra=True)
            call = self.mark(_call(self.callable_expr(node), args, keywords), node)
            out.append(
                _func(
                    self.call_methods[node],
                    _args(posonly=["self"], vararg="args", kwarg="kwargs"),
                    [
                        _doc(f"One call of `{name}`: its factory arguments are built anew at every call."),
                        ast.Return(call),
                    ],
                )
            )
        return out

    def _dispatch(self) -> ast.FunctionDef:
        cases = []
        for t in self.graph.targets:
            v = self.graph.values[t]
            if t in self.target_members:
                result: ast.expr = _self(self.target_members[t])
            else:
                result = self.expr(v)
            cases.append(
                ast.match_case(pattern=ast.MatchValue(ast.Constant(t)), guard=None, body=[ast.Return(result)])
            )
        cases.append(
            ast.match_case(
                pattern=ast.MatchAs(pattern=None, name=None),
                guard=None,
                body=[ast.Raise(exc=_call(_self("unknown_target"), [_name("name")]), cause=None)],
            )
        )
        return _func(
            "target",
            _args(args=["self", "name"]),
            [_doc("The value of target `name`."), ast.Match(subject=_name("name"), cases=cases)],
        )

    def _defaults(self) -> ast.FunctionDef | None:
        cases = []
        for name, var in self.graph.variables.items():
            if var.default is not MISSING and not _literal_default(var.default):
                cases.append(
                    ast.match_case(
                        pattern=ast.MatchValue(ast.Constant(name)),
                        guard=None,
                        body=[ast.Return(self.expr(var.default))],
                    )
                )
        if not cases:
            return None
        return _func(
            "default",
            _args(args=["self", "name"]),
            [
                _doc("Defaults of variables that are built from the config (when no value is given)."),
                ast.Match(subject=_name("name"), cases=cases),
            ],
        )

    def emit(self) -> Emitted:
        self._analyze()
        g = self.graph
        members: list[ast.stmt] = []
        for t in g.targets:
            if t in self.target_members:
                members.append(
                    _func(
                        self.target_members[t],
                        _args(args=["self"]),
                        [
                            _doc(
                                f"Target `{t}` ({self.source_name(g.target_spans[t].file)}:{g.target_spans[t].line})"
                            ),
                            ast.Return(self.expr(g.values[t])),
                        ],
                        [_attr(_name("functools"), "cached_property")],
                    )
                )
        for node in self.members:
            members.extend(self._member(node))
        dispatch = self._dispatch()
        defaults = self._defaults()
        cls_body: list[ast.stmt] = [_doc(f"The objects of one `construct()` call of {self.title}.")]
        cls_body.append(dispatch)
        if defaults is not None:
            cls_body.append(defaults)
        cls_body.extend(members)
        cls = ast.ClassDef(
            name="Construction",
            bases=[_name("BaseConstruction")],
            keywords=[],
            body=cls_body,
            decorator_list=[],
        )

        variables = self._variables()
        construct = self._construct()
        targets = {t: _describe_value(g.values[t]) for t in g.targets}
        body: list[ast.stmt] = [_doc(self._module_doc(targets, variables))]
        support_imports = [s for s in self.support.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        if self.uses_operator:
            support_imports.insert(0, ast.Import(names=[ast.alias("operator")]))
        body.extend(support_imports)
        body.extend(self._grouped_imports())
        support_start = len(body)
        body.extend(self._support_definitions())
        support = (support_start, len(body))
        body.extend(self.local_stmts)
        body.append(_assign("TARGETS", _literal(targets)))
        body.append(_assign("VARIABLES", _literal(variables)))
        body.append(construct)
        body.append(cls)
        module = ast.Module(body=body, type_ignores=[])
        ast.fix_missing_locations(module)
        return Emitted(module, self.marks, targets, variables, support)

    def _grouped_imports(self) -> list[ast.stmt]:
        """One `from module import a, b` per module, modules and names sorted."""
        by_module: dict[str, list[ast.alias]] = {}
        for key in sorted(self.import_stmts, key=lambda k: (k[1], k[2])):
            stmt = self.import_stmts[key]
            assert isinstance(stmt, ast.ImportFrom) and stmt.module is not None
            by_module.setdefault(stmt.module, []).extend(stmt.names)
        return [ast.ImportFrom(module=m, names=names, level=0) for m, names in by_module.items()]

    def _support_definitions(self) -> list[ast.stmt]:
        out = []
        for stmt in self.support.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # support.py's own docstring
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and stmt.target.id in _SUPPORT_PLACEHOLDERS
            ):
                continue
            out.append(stmt)
        return out

    def _variables(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for name, var in self.graph.variables.items():
            entry: dict = {}
            if var.default is MISSING:
                entry["required"] = True
            elif _literal_default(var.default) or not _has_node(var.default):
                entry["default"] = var.default
            else:
                entry["default_from_config"] = True
            entry["used_at"] = [f"{self.source_name(s.file)}:{s.line}:{s.col}" for s in var.uses]
            out[name] = entry
        return out

    def _construct(self) -> ast.FunctionDef:
        names = list(self.graph.variables)
        target_param = "target" if "target" not in names else "target_"
        kw_defaults: list[ast.expr] = []
        for name in names:
            var = self.graph.variables[name]
            if var.default is MISSING:
                kw_defaults.append(_name("REQUIRED"))
            elif _literal_default(var.default):
                kw_defaults.append(_const(var.default))
            else:
                kw_defaults.append(_name("DEFAULT"))
        doc = (
            "Build `target` (a target name, or a tuple of names for a tuple of values).\n\n"
            "Each call builds its own objects: a singleton once per call, shared by every reference;\n"
            "a factory at every reference. Keyword arguments set the config's variables."
        )
        body: list[ast.stmt] = [
            _doc(doc),
            ast.Return(
                _call(
                    _attr(
                        _call(_name("Construction"), [], [ast.keyword(arg=n, value=_name(n)) for n in names]),
                        "build",
                    ),
                    [_name(target_param)],
                )
            ),
        ]
        return _func(
            "construct",
            _args(
                posonly=[target_param], kwonly=names, kw_defaults=kw_defaults, defaults=[ast.Constant("main")]
            ),
            body,
        )

    def _module_doc(self, targets: dict[str, str], variables: dict[str, dict]) -> str:
        lines = [f"{self.title}, compiled by fgc.", ""]
        lines.append("Targets:")
        lines += [f"    {t}: {d}" for t, d in targets.items()] or ["    (none)"]
        if variables:
            lines.append("Variables (keyword arguments of construct):")
            for name, v in variables.items():
                if v.get("required"):
                    lines.append(f"    {name} (required)")
                elif "default" in v:
                    lines.append(f"    {name} = {v['default']!r}")
                else:
                    lines.append(f"    {name} (default built from the config)")
        lines += [
            "",
            "Generated code: edit the templates and run `fgc compile` again instead of editing this file.",
        ]
        return "\n".join(lines)


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(name, ast.Store())], value=value, lineno=0)


def _literal(value) -> ast.expr:
    if isinstance(value, dict):
        return ast.Dict([ast.Constant(k) for k in value], [_literal(v) for v in value.values()])
    if isinstance(value, list):
        return ast.List([_literal(v) for v in value], ast.Load())
    return _const(value)


def _literal_default(value: Value) -> bool:
    """A default that can be a parameter default: an immutable scalar."""
    return value is None or isinstance(value, (bool, int, float, str))


def _has_node(value: Value) -> bool:
    return next(walk_nodes(value), None) is not None


def _describe_value(value: Value) -> str:
    if isinstance(value, Node):
        return value.describe()
    return type(value).__name__ if value is not None else "None"


def emit_module(
    graph: Graph,
    imports: Imports,
    source_name: Callable[[str], str],
    local_dir_name: Callable[[str], str],
    title: str,
    hook: ModelHook | None = None,
) -> Emitted:
    return Emitter(graph, imports, source_name, local_dir_name, title, hook).emit()
