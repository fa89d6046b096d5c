"""Annotations of a callable's parameters as *type descriptors*: plain JSON, so that they are
cached on disk with the signature (a warm `fgc check` imports nothing). `typecheck.py` checks
the config's values against them.

    None                          anything: Any, object, a class, an unevaluable forward reference
    "int" "float" "str" "bool" "none"
    ["union", T, ...]             any of the members (a member that is None makes the union None)
    ["literal", v, ...]           one of these scalars
    ["list", T] ["tuple", T]      list[T], tuple[T, ...]
    ["sequence", T]               Sequence[T], Iterable[T] (a str is a Sequence[str])
    ["tuple_of", T, ...]          tuple[A, B]: a sequence of exactly these items
    ["mapping", K, V]             dict[K, V], Mapping[K, V]

A parameter whose default is None is implicitly Optional (`x: int = None`).
"""

from __future__ import annotations

import ast
import builtins
import collections.abc as abc
import inspect
import types
import typing
from typing import Any

from ..pyast import compile_python, parse_python, signature as python_signature

Descriptor = Any  # None | str | list (see the module docstring)

SEQUENCE_HEADS = ("list", "tuple", "sequence")
_SCALARS = {int: "int", float: "float", str: "str", bool: "bool", type(None): "none"}
_SEQUENCES = {list, tuple, abc.Sequence, abc.MutableSequence, abc.Iterable, abc.Collection}
_MAPPINGS = {dict, abc.Mapping, abc.MutableMapping}



def describe_annotation(tp: Any) -> Descriptor:
    """The descriptor of an evaluated annotation (None when it does not decide a value)."""
    try:
        return _describe(tp)
    except Exception:  # an exotic typing object: it decides nothing
        return None


def _describe(tp: Any) -> Descriptor:
    if tp is None:
        return "none"
    if tp is inspect.Parameter.empty or tp is typing.Any or tp is object:
        return None
    if isinstance(tp, (str, typing.ForwardRef, typing.TypeVar)):
        return None
    if tp in _SCALARS:
        return _SCALARS[tp]
    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _describe(supertype)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _describe(args[0])
    if origin in (typing.Union, types.UnionType):
        members: list = []
        for a in args:
            d = _describe(a)
            if d is None:
                return None
            members.extend(d[1:] if isinstance(d, list) and d[0] == "union" else [d])
        return ["union", *members]
    if origin is typing.Literal:
        if all(a is None or type(a) in (bool, int, float, str) for a in args):
            return ["literal", *args]
        return None
    if tp in _SEQUENCES or origin in _SEQUENCES:
        concrete = origin or tp
        if concrete is tuple and args:
            if len(args) == 2 and args[1] is Ellipsis:
                return ["tuple", _describe(args[0])]
            if args == ((),):
                return ["tuple_of"]
            return ["tuple_of", *(_describe(a) for a in args)]
        head = concrete.__name__ if concrete in (list, tuple) else "sequence"
        return [head, _describe(args[0]) if args else None]
    if tp in _MAPPINGS or origin in _MAPPINGS:
        if len(args) == 2:
            return ["mapping", _describe(args[0]), _describe(args[1])]
        return ["mapping", None, None]
    return None


def parameter_types(obj: Any, sig: inspect.Signature) -> dict[str, Descriptor]:
    """Descriptor of each parameter of `obj` (signature `sig`) that has a deciding annotation.

    String annotations (`from __future__ import annotations`) are evaluated with
    `typing.get_type_hints` on the function the signature comes from, else one by one with a
    restricted evaluator (names, attributes, subscripts, `|`); what fails decides nothing.
    """
    hints: dict[str, Any] | None = None
    function = None
    out: dict[str, Descriptor] = {}
    for name, p in sig.parameters.items():
        annotation = p.annotation
        if isinstance(annotation, str):
            if hints is None:
                function = _function_of(obj, sig)
                hints = _type_hints(function)
            if name in hints:
                annotation = hints[name]
            else:
                annotation = _evaluate(annotation, getattr(function, "__globals__", None))
        d = describe_annotation(annotation)
        if d is not None and p.default is None and d != "none":
            # `x: int = None`: implicitly Optional, as much library code is written
            members = d[1:] if isinstance(d, list) and d[0] == "union" else [d]
            d = ["union", *members] + ([] if "none" in members else ["none"])
        if d is not None:
            out[name] = d
    return out


def _function_of(obj: Any, sig: inspect.Signature) -> Any:
    """The Python function whose parameters `sig` shows (a class's __init__ or __new__)."""
    candidates = []
    if inspect.isclass(obj):
        for base in obj.__mro__:
            for attr in ("__init__", "__new__"):
                f = base.__dict__.get(attr)
                if f is not None:
                    candidates.append(getattr(f, "__func__", f))
            if candidates:
                break
    else:
        candidates.append(getattr(obj, "__func__", obj))
        call = getattr(type(obj), "__call__", None)
        if call is not None:
            candidates.append(call)
    names = set(sig.parameters)
    for f in candidates:
        try:
            f = inspect.unwrap(f)
            if names <= set(python_signature(f).parameters):
                return f
        except Exception:
            continue
    return None


def _type_hints(function: Any) -> dict[str, Any]:
    if function is None:
        return {}
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception:  # a name only imported under TYPE_CHECKING, a typo: evaluate one by one
        return {}


_ALLOWED_AST = (
    ast.Expression,
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Tuple,
    ast.List,
    ast.Constant,
    ast.BinOp,
    ast.BitOr,
    ast.Load,
)


def _evaluate(text: str, namespace: dict | None) -> Any:
    """Evaluate one annotation string, allowing only the syntax of types; `empty` (decides
    nothing) when it fails."""
    if namespace is None:
        return inspect.Parameter.empty
    try:
        tree = parse_python(text, "<annotation>", mode="eval")
        assert isinstance(tree, ast.Expression)
        if not all(isinstance(n, _ALLOWED_AST) for n in ast.walk(tree)):
            return inspect.Parameter.empty
        if any(isinstance(n, ast.BinOp) and not isinstance(n.op, ast.BitOr) for n in ast.walk(tree)):
            return inspect.Parameter.empty
        return eval(compile_python(tree, "<annotation>", "eval"), {"__builtins__": builtins, **namespace})
    except Exception:
        return inspect.Parameter.empty


def type_text(d: Descriptor) -> str:
    """A descriptor written as a Python annotation."""
    if d is None:
        return "Any"
    if isinstance(d, str):
        return "None" if d == "none" else d
    head, rest = d[0], d[1:]
    if head == "union":
        return " | ".join(type_text(m) for m in rest)
    if head == "literal":
        return f"Literal[{', '.join(repr(v) for v in rest)}]"
    if head in SEQUENCE_HEADS:
        name = "Sequence" if head == "sequence" else head
        return f"{name}[{type_text(rest[0])}]" if rest[0] is not None else name
    if head == "tuple_of":
        return f"tuple[{', '.join(type_text(m) for m in rest) or '()'}]"
    if head == "mapping":
        return f"Mapping[{type_text(rest[0])}, {type_text(rest[1])}]" if rest != [None, None] else "a mapping"
    return "?"
