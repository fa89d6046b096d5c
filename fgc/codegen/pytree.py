"""Small constructors of Python `ast` nodes, shared by every code generator of the compiler."""

from __future__ import annotations

import ast
import keyword
import math
from typing import Any, Sequence


def name(id: str) -> ast.Name:
    return ast.Name(id=id, ctx=ast.Load())


def attr(value: ast.expr, *attrs: str) -> ast.expr:
    for a in attrs:
        value = ast.Attribute(value=value, attr=a, ctx=ast.Load())
    return value


def call(func: ast.expr, args: Sequence[ast.expr] = (), keywords: Sequence[ast.keyword] = ()) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=list(keywords))


def const(v: Any) -> ast.expr:
    """A scalar as code; non-finite floats as `float("inf")`, negative numbers as a unary minus
    (which is how Python parses `-1`, so that the tree equals the parsed text)."""
    if isinstance(v, float) and not math.isfinite(v):
        return call(name("float"), [ast.Constant("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))])
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.copysign(1, v) < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-v))
    return ast.Constant(v)


def literal(value: Any) -> ast.expr:
    """Plain data (dicts, lists, scalars) as code."""
    if isinstance(value, dict):
        return ast.Dict([ast.Constant(k) for k in value], [literal(v) for v in value.values()])
    if isinstance(value, list):
        return ast.List([literal(v) for v in value], ast.Load())
    return const(value)


def is_keyword_name(k: str) -> bool:
    """`k` can be written as `k=value` in a call."""
    return k.isidentifier() and not keyword.iskeyword(k)


def keywords(pairs: Sequence[tuple[str, ast.expr]]) -> list[ast.keyword]:
    """Keyword arguments: `k=v`, or `**{"k": v}` when a key is no identifier."""
    if all(is_keyword_name(k) for k, _ in pairs):
        return [ast.keyword(arg=k, value=v) for k, v in pairs]
    return [ast.keyword(arg=None, value=ast.Dict([ast.Constant(k) for k, _ in pairs], [v for _, v in pairs]))]


def arguments(
    posonly: Sequence[str] = (),
    args: Sequence[str] = (),
    vararg: str | None = None,
    kwonly: Sequence[str] = (),
    kw_defaults: Sequence[ast.expr | None] = (),
    kwarg: str | None = None,
    defaults: Sequence[ast.expr] = (),
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


def function(
    fname: str, args: ast.arguments, body: list[ast.stmt], decorators: Sequence[ast.expr] = ()
) -> ast.FunctionDef:
    return ast.FunctionDef(name=fname, args=args, body=body, decorator_list=list(decorators), returns=None)


def doc(text: str) -> ast.Expr:
    return ast.Expr(ast.Constant(text))


def assign(target: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(target, ast.Store())], value=value, lineno=0)


def uses_name(tree: ast.AST | Sequence[ast.AST], id: str) -> bool:
    """Whether the code reads the global `id` (e.g. `operator`, to import it only when used)."""
    trees = tree if isinstance(tree, Sequence) else [tree]
    return any(isinstance(n, ast.Name) and n.id == id for t in trees for n in ast.walk(t))
