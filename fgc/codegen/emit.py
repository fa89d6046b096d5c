"""Emit the config module as a Python `ast` tree (formatting and positions: `format.py`).

Shape of the module (docs/language.md, The compiled module):

    imports of every callable the config names
    support code (support.py: sentinels, error annotation, `partial`, `local_module`)
    TARGETS, VARIABLES
    def construct(target="main", /, *, <one keyword per !var>): ...
    class Construction(BaseConstruction):
        def target(self, name): match name: ...         # the targets
        @functools.cached_property                       # one member per named or shared node
        def model(self): return Linear(...)

Identity (docs/language.md, Tags): a singleton (and a container tag, and a partial) is a cached property,
built once per `construct` call; a factory is a method called at every reference; a partial is
a `functools.partial` (a subclass that reports the template position when a call fails) whose
extra positional arguments are appended and keyword arguments merged. A partial with factory
arguments gets a `<name>_call` method evaluated at every call, so those factories are fresh at
every call while its singletons are shared. Which nodes are members: members.py; how values
and nodes are written: writer.py (with `ModuleImports`, importing.py); compile-time nodes
(compile_time_node.py) write their own expressions.
"""

from __future__ import annotations

import ast
import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..graph import MISSING, Graph, Kind, Node, Value, walk_nodes
from ..imports import Imports
from ..imports.specs import Form
from ..pyast import parse_python
from . import pytree as py
from .compile_time_node import Planned
from .importing import ModuleImports
from .members import choose_members, direct_nodes, name_members, node_children
from .names import BUILTIN_NAMES, Namer
from .writer import ExpressionWriter

SUPPORT_FILE = Path(__file__).with_name("support.py")
# Globals of support.py that the generated module defines itself.
_SUPPORT_PLACEHOLDERS = {"ORIGINS", "VARIABLES", "TARGETS"}
# Attributes of support.BaseConstruction: node members may not use these names.
_BASE_MEMBERS = {"variables", "build", "target", "var", "unknown_target", "default"}

# Where a node's generated code came from, for config.py's ORIGINS table: (template file as the
# build names it, line, col, the node described).
NodeOrigin = tuple[str, int, int, str]


@dataclass
class Emitted:
    """The generated module's syntax tree and what it maps back to."""
    module: ast.Module
    marks: list[tuple[ast.expr, NodeOrigin]] = field(default_factory=list)  # node code -> template origin
    targets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    support: tuple[int, int] = (0, 0)  # module.body[a:b] is the support code (the same in every module)


@functools.cache
def _support_tree() -> ast.Module:
    """support.py, parsed once per process (callers get a copy: emitted trees are mutated)."""
    tree = parse_python(SUPPORT_FILE.read_text(encoding="utf-8"), str(SUPPORT_FILE))
    assert isinstance(tree, ast.Module)
    return tree


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


def _self(attr: str) -> ast.expr:
    return py.attr(py.name("self"), attr)


def _cached(fname: str, body: list[ast.stmt]) -> ast.FunctionDef:
    return py.function(fname, py.arguments(args=["self"]), body, [py.attr(py.name("functools"), "cached_property")])


class Emitter(ExpressionWriter):
    """The config module: members of `Construction` are `self.<name>`, variables `self.var(...)`."""

    def __init__(
        self,
        graph: Graph,
        imports: Imports,
        source_name: Callable[[str], str],
        local_dir_name: Callable[[str], str],
        title: str,
        compile_time: dict[Node, Planned] | None = None,
    ) -> None:
        self.graph = graph
        self.source_name = source_name
        self.title = title
        self.compile_time = compile_time or {}
        self.support = copy.deepcopy(_support_tree())
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
        self.importer = ModuleImports(self.module_names, local_dir_name)
        super().__init__(imports, self.importer)
        self.marks: list[tuple[ast.expr, NodeOrigin]] = []
        self.call_methods: dict[Node, str] = {}
        self.target_members: dict[str, str] = {}

    # ------------------------------------------------------------------ analysis

    def _children(self, node: Node) -> list[Value]:
        planned = self.compile_time.get(node)
        return planned.children() if planned is not None else node_children(node)

    def _analyze(self) -> None:
        g = self.graph
        defaults = [var.default for var in g.variables.values() if var.default is not MISSING]
        roots = [g.values[t] for t in g.targets] + defaults
        target_nodes = {v for v in (g.values[t] for t in g.targets) if isinstance(v, Node)}
        found = choose_members(roots, self._children, always=target_nodes, opaque=set(self.compile_time))
        self.per_call = found.per_call
        order = found.references.pre_order
        for t in g.targets:
            v = g.values[t]
            if not isinstance(v, Node) and direct_nodes(v):
                self.target_members[t] = ""  # named below
        # Import every callable first: member names must not equal an imported name.
        for n in order:
            planned = self.compile_time.get(n)
            if planned is not None:
                planned.prepare(self)
            elif n in self.imports.specs and self.imports.specs[n].form not in (Form.BUILTIN, Form.HELPER):
                if n.kind != Kind.META:
                    self.callable(n)
        # Names, in first-visit order so that earlier definitions get the plain names.
        member_names = Namer(self.module_names.used | _BASE_MEMBERS)
        self.members = name_members(order, found.members, member_names)
        for n in order:
            if n in self.per_call:
                self.call_methods[n] = member_names.take(f"{self.members[n]}_call")
        for t in self.target_members:
            self.target_members[t] = member_names.take(t, "target")

    # ------------------------------------------------------------------ the writer's choices

    def member_expr(self, name: str) -> ast.expr:
        return _self(name)

    def var_expr(self, node: Node) -> ast.expr:
        return py.call(_self("var"), [ast.Constant(node.var)])

    def per_call_partial(self, node: Node) -> ast.expr:
        return py.call(py.name("partial"), [_self(self.call_methods[node])])

    def origin(self, node: Node) -> NodeOrigin:
        s = node.span
        return (self.source_name(s.file), s.line, s.col, node.describe())

    def mark(self, code: ast.expr, node: Node) -> ast.expr:
        self.marks.append((code, self.origin(node)))
        return code

    def build(self, node: Node) -> ast.expr:
        planned = self.compile_time.get(node)
        if planned is not None:
            return self.mark(planned.expr(self), node)
        if node.kind == Kind.META:
            where = ast.Constant(f"{node.describe()} ({self._where(node)})")
            return self.mark(py.call(py.name("not_executed"), [where]), node)
        return super().build(node)

    def build_module(self, directory: str, module: str, attr: str) -> str:
        """A name for `attr` of `<build>/<directory>/<module>.py` (for compile-time nodes)."""
        return self.importer.build_module(directory, module, attr)

    def _where(self, node: Node) -> str:
        return f"{self.source_name(node.span.file)}:{node.span.line}:{node.span.col}"

    # ------------------------------------------------------------------ the module

    def _member(self, node: Node) -> list[ast.stmt]:
        name = self.members[node]
        body = [py.doc(f"{node.describe()} ({self._where(node)})"), ast.Return(self.build(node))]
        if node.kind == Kind.FACTORY:
            out: list[ast.stmt] = [py.function(name, py.arguments(args=["self"]), body)]
        else:
            out = [_cached(name, body)]
        if node in self.per_call:
            call = self.mark(self.call(node, extra=True), node)
            out.append(
                py.function(
                    self.call_methods[node],
                    py.arguments(posonly=["self"], vararg="args", kwarg="kwargs"),
                    [
                        py.doc(f"One call of `{name}`: its factory arguments are built anew at every call."),
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
                body=[ast.Raise(exc=py.call(_self("unknown_target"), [py.name("name")]), cause=None)],
            )
        )
        return py.function(
            "target",
            py.arguments(args=["self", "name"]),
            [py.doc("The value of target `name`."), ast.Match(subject=py.name("name"), cases=cases)],
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
        return py.function(
            "default",
            py.arguments(args=["self", "name"]),
            [
                py.doc("Defaults of variables that are built from the config (when no value is given)."),
                ast.Match(subject=py.name("name"), cases=cases),
            ],
        )

    def emit(self) -> Emitted:
        self._analyze()
        g = self.graph
        members: list[ast.stmt] = []
        for t in g.targets:
            if t in self.target_members:
                where = f"{self.source_name(g.target_spans[t].file)}:{g.target_spans[t].line}"
                getter = [py.doc(f"Target `{t}` ({where})"), ast.Return(self.expr(g.values[t]))]
                members.append(_cached(self.target_members[t], getter))
        for node in self.members:
            members.extend(self._member(node))
        dispatch = self._dispatch()
        defaults = self._defaults()
        cls_body: list[ast.stmt] = [py.doc(f"The objects of one `construct()` call of {self.title}.")]
        cls_body.append(dispatch)
        if defaults is not None:
            cls_body.append(defaults)
        cls_body.extend(members)
        cls = ast.ClassDef(
            name="Construction",
            bases=[py.name("BaseConstruction")],
            keywords=[],
            body=cls_body,
            decorator_list=[],
        )

        variables = self._variables()
        construct = self._construct()
        targets = {t: _describe_value(g.values[t]) for t in g.targets}
        body: list[ast.stmt] = [py.doc(self._module_doc(targets, variables))]
        support_imports = [s for s in self.support.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        if py.uses_name([construct, cls, *self.importer.loaders], "operator"):
            support_imports.insert(0, ast.Import(names=[ast.alias("operator")]))
        body.extend(support_imports)
        body.extend(self.importer.statements())
        support_start = len(body)
        body.extend(self._support_definitions())
        support = (support_start, len(body))
        body.extend(self.importer.loaders)
        body.append(py.assign("TARGETS", py.literal(targets)))
        body.append(py.assign("VARIABLES", py.literal(variables)))
        body.append(construct)
        body.append(cls)
        module = ast.Module(body=body, type_ignores=[])
        ast.fix_missing_locations(module)
        return Emitted(module, self.marks, targets, variables, support)

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
                kw_defaults.append(py.name("REQUIRED"))
            elif _literal_default(var.default):
                kw_defaults.append(py.const(var.default))
            else:
                kw_defaults.append(py.name("DEFAULT"))
        doc = (
            "Build `target` (a target name, or a tuple of names for a tuple of values).\n\n"
            "Each call builds its own objects: a singleton once per call, shared by every reference;\n"
            "a factory at every reference. Keyword arguments set the config's variables."
        )
        body: list[ast.stmt] = [
            py.doc(doc),
            ast.Return(
                py.call(
                    py.attr(
                        py.call(py.name("Construction"), [], [ast.keyword(arg=n, value=py.name(n)) for n in names]),
                        "build",
                    ),
                    [py.name(target_param)],
                )
            ),
        ]
        return py.function(
            "construct",
            py.arguments(
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


def _literal_default(value: Value) -> bool:
    """A default that can be a parameter default: an immutable scalar."""
    return value is None or isinstance(value, (bool, int, float, str))


def _has_node(value: Value) -> bool:
    return next(walk_nodes(value), None) is not None


def _describe_value(value: Value) -> str:
    if isinstance(value, Node):
        return value.describe()
    return type(value).__name__ if value is not None else "None"
