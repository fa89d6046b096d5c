"""The expression writer: config values and nodes as Python expressions, one set of rules for
config.py (emit.py) and for a model package's modeling.py (model.py).

A value is written as a literal (lists, dicts, scalars); a node as a reference to its member
(members.py decides which nodes are members) or, when it has none, as the code that builds it:

    !singleton / !factory   Callable(*args, **kwargs)
    !partial                partial(Callable, *args, **kwargs)  (per-call: the writer's own form)
    !dict / !list / !tuple  a literal of the container
    getitem, items, call, named_list, getattr [x, name], ...   their plain Python form

What differs between the two modules is a subclass's: how a member and a `!var` are referred to,
how a per-call partial is written, what a reference's code is marked with, and the import
strategy (importing.py) that names every callable.
"""

from __future__ import annotations

import ast
from abc import ABC, abstractmethod

from ..graph import CONTAINER_KINDS, LATENT_ARGS, Kind, Node, Value
from ..imports import Imports
from ..imports.specs import Form, Spec
from . import pytree as py
from .importing import ImportStrategy


def standard_callable(spec: Spec) -> ast.expr | None:
    """The expression of a builtin or an `operator`-backed helper (`getitem`, `items`, `keys`,
    `values`); None for any other spec."""
    if spec.form == Form.BUILTIN:
        return py.attr(py.name(spec.attrs[0]), *spec.attrs[1:])
    if spec.form == Form.HELPER and spec.text == "getitem":
        return py.attr(py.name("operator"), "getitem")
    if spec.form == Form.HELPER and spec.text in ("items", "keys", "values"):
        return py.call(py.attr(py.name("operator"), "methodcaller"), [ast.Constant(spec.text)])
    return None


def plain_form(spec: Spec, node: Node, args: list[ast.expr], keywords: list[ast.keyword]) -> ast.expr | None:
    """The plain Python form of a helper or `getattr` call (`x[k]`, `x.items()`, `[a, b]`,
    `x.name`), or None where there is none (starred arguments, unusual keywords)."""
    if any(isinstance(a, ast.Starred) for a in args):
        return None
    if spec.form == Form.HELPER:
        n = len(args)
        if spec.text == "getitem" and n == 2 and not keywords:
            return ast.Subscript(value=args[0], slice=args[1], ctx=ast.Load())
        if spec.text in ("items", "keys", "values") and n == 1 and not keywords:
            return py.call(py.attr(args[0], spec.text))
        if spec.text == "call" and n >= 1:
            return py.call(args[0], args[1:], keywords)
        if spec.text == "named_list" and not keywords:
            return ast.List(args, ast.Load())
        if spec.text == "named_tuple" and not keywords:
            return ast.Tuple(args, ast.Load())
        if spec.text == "named_dict" and not args and all(k.arg for k in keywords):
            return ast.Dict([ast.Constant(k.arg) for k in keywords], [k.value for k in keywords])
    if spec.form == Form.BUILTIN and spec.text == "getattr" and len(node.args) == 2 and not keywords:
        attr = node.args[1]
        if isinstance(attr, str) and py.is_keyword_name(attr):
            return py.attr(args[0], attr)  # `!call:getattr [*x, name]` is `x.name`
    return None


class ExpressionWriter(ABC):
    def __init__(self, imports: Imports, strategy: ImportStrategy) -> None:
        self.imports = imports
        self.strategy = strategy
        self.members: dict[Node, str] = {}
        self.per_call: set[Node] = set()

    # ------------------------------------------------------------ what the two modules decide

    @abstractmethod
    def member_expr(self, name: str) -> ast.expr:
        """How code refers to the member called `name`."""

    @abstractmethod
    def var_expr(self, node: Node) -> ast.expr:
        """The value of a `!var`."""

    @abstractmethod
    def per_call_partial(self, node: Node) -> ast.expr:
        """The callable of a partial built per call (members.py)."""

    def latent_expr(self, node: Node, latent: Value) -> ast.expr:
        """`latent_args` that are not a plain mapping: merged as `**value`."""
        return self.expr(latent)

    def mark(self, code: ast.expr, node: Node) -> ast.expr:
        """Record where `code` came from (config.py's ORIGINS); the code itself is returned."""
        return code

    # ------------------------------------------------------------ the rules

    def expr(self, value: Value) -> ast.expr:
        if isinstance(value, Node):
            return self.ref(value)
        if isinstance(value, list):
            return ast.List([self.expr(v) for v in value], ast.Load())
        if isinstance(value, dict):
            return ast.Dict([ast.Constant(k) for k in value], [self.expr(v) for v in value.values()])
        return py.const(value)

    def ref(self, node: Node) -> ast.expr:
        """A reference to a node: its member (called, for a factory), or its code inline."""
        if node.kind == Kind.VAR:
            return self.var_expr(node)
        name = self.members.get(node)
        if name is None:
            return self.build(node)
        if node.kind == Kind.FACTORY:
            return py.call(self.member_expr(name))
        return self.member_expr(name)

    def build(self, node: Node) -> ast.expr:
        """The code that builds a node (marked with the node's origin)."""
        if node.kind in CONTAINER_KINDS:
            return self.mark(self.container(node), node)
        if node.kind == Kind.PARTIAL:
            if node in self.per_call:
                return self.mark(self.per_call_partial(node), node)
            func = self.callable(node)
            args, keywords = self.arguments(node)
            return self.mark(py.call(py.name("partial"), [func, *args], keywords), node)
        return self.mark(self.call(node), node)

    def container(self, node: Node) -> ast.expr:
        if node.kind == Kind.DICT:
            return ast.Dict([ast.Constant(k) for k in node.kwargs], [self.expr(v) for v in node.kwargs.values()])
        items = [self.expr(v) for v in node.args]
        return ast.Tuple(items, ast.Load()) if node.kind == Kind.TUPLE else ast.List(items, ast.Load())

    def call(self, node: Node, extra: bool = False) -> ast.expr:
        """The node's callable called with its arguments (in its plain form where it has one)."""
        func = self.callable(node)
        args, keywords = self.arguments(node, extra)
        plain = None if extra else plain_form(self.imports.specs[node], node, args, keywords)
        return plain if plain is not None else py.call(func, args, keywords)

    def arguments(self, node: Node, extra: bool = False) -> tuple[list[ast.expr], list[ast.keyword]]:
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
        latent_code = self.latent_expr(node, latent) if latent is not None else None
        if extra:
            args.append(ast.Starred(py.name("args"), ast.Load()))
        pairs = [(k, self.expr(v)) for k, v in kwargs.items()]
        if latent_code is None and not extra:
            return args, py.keywords(pairs)
        keys: list[ast.expr | None] = [ast.Constant(k) for k, _ in pairs]
        values = [v for _, v in pairs]
        if latent_code is not None:
            keys.append(None)
            values.append(latent_code)
        if extra:
            keys.append(None)
            values.append(py.name("kwargs"))
        if len(keys) == 1 and keys[0] is None:
            return args, [ast.keyword(arg=None, value=values[0])]
        return args, [ast.keyword(arg=None, value=ast.Dict(keys, values))]

    def callable(self, node: Node) -> ast.expr:
        """The expression naming a node's callable (importing it through the strategy)."""
        spec = self.imports.specs[node]
        standard = standard_callable(spec)
        if standard is not None:
            return standard
        if spec.form == Form.HELPER:
            return self.strategy.helper(node, spec)
        loc = self.imports.locations.get(node)
        if loc is not None and loc.is_local:
            head = self.strategy.local(node, spec, loc)
        else:
            head = self.strategy.module(node, spec)
        return py.attr(py.name(head), *spec.attrs[1:])
