"""Signatures as plain data (so they can be cached on disk) and argument binding against them.

Binding follows Python's own rules (`inspect.Signature.bind`) but reports every problem as a
diagnostic at the position of the argument (or of the tag) that causes it.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic, did_you_mean, error
from ..graph import LATENT_ARGS, Node
from ..pyast import signature as python_signature

POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD, VAR_POSITIONAL, KEYWORD_ONLY, VAR_KEYWORD = (
    "positional_only",
    "positional_or_keyword",
    "var_positional",
    "keyword_only",
    "var_keyword",
)


@dataclass(frozen=True)
class Param:
    """One parameter of a callable's signature."""
    name: str
    kind: str
    required: bool
    annotation: Any = None  # a type descriptor (fgc.imports.annotations); None decides nothing


@dataclass(frozen=True)
class Signature:
    """The parameters a callable accepts, as inspected."""
    params: tuple[Param, ...]
    # Set when the callable is a wrapper taking `(*args, **kwargs)` (`functools.wraps`): what
    # runs behind it cannot be known, `params` are the wrapped function's, and a call they reject
    # is noted, not an error (FG0615). The text names the wrapper, for the note.
    wrapper: str | None = None

    def to_json(self) -> dict:
        return {"params": [[p.name, p.kind, p.required, p.annotation] for p in self.params], "wrapper": self.wrapper}

    @staticmethod
    def from_json(data: dict) -> "Signature":
        return Signature(tuple(Param(*row) for row in data["params"]), data.get("wrapper"))

    def types(self) -> dict[str, Any]:
        """Parameter name -> type descriptor, for the parameters whose annotation decides."""
        return {p.name: p.annotation for p in self.params if p.annotation is not None}

    def __str__(self) -> str:
        parts = []
        for p in self.params:
            prefix = {VAR_POSITIONAL: "*", VAR_KEYWORD: "**"}.get(p.kind, "")
            parts.append(prefix + p.name + ("" if p.required or prefix else "=..."))
        return "(" + ", ".join(parts) + ")"


_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: POSITIONAL_OR_KEYWORD,
    inspect.Parameter.VAR_POSITIONAL: VAR_POSITIONAL,
    inspect.Parameter.KEYWORD_ONLY: KEYWORD_ONLY,
    inspect.Parameter.VAR_KEYWORD: VAR_KEYWORD,
}


def signature_of(obj: Any) -> Signature | None:
    """The signature a call of `obj` binds to, or None when it cannot be inspected (many C
    builtins). For a wrapped callable see `signature_that_runs`."""
    try:
        sig, wrapper = signature_that_runs(obj)
    except Exception:  # ValueError/TypeError for C builtins; anything from odd __signature__s
        return None
    from .annotations import parameter_types

    try:
        types = parameter_types(obj, sig)
    except Exception:  # annotations are a bonus: an odd object must not stop the check
        types = {}
    return Signature(
        tuple(
            Param(
                p.name,
                _KINDS[p.kind],
                p.default is inspect.Parameter.empty
                and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD),
                types.get(p.name),
            )
            for p in sig.parameters.values()
        ),
        wrapper,
    )


# --------------------------------------------------------------------------------------------
# Wrapped callables: the signature that runs
#
# `inspect.signature` follows `__wrapped__` to the innermost function, which is right for a
# decorator that forwards `(*args, **kwargs)` unchanged and wrong elsewhere: transformers' Auto
# classes copy `_BaseAutoModelClass.from_config` with `functools.update_wrapper` over a *bound*
# method, so inspect drops `config` twice and reports `(**kwargs)` for a method that takes
# `(config, **kwargs)`; a wrapper may also rename or add arguments (transformers' `strict`
# configs accept any keyword). Python binds a call to the outermost function's own parameters,
# so those decide; only where they are `(*args, **kwargs)` is the wrapped signature the best
# guess, and then it is no more than that (`Signature.wrapper`).


def signature_that_runs(obj: Any) -> tuple[inspect.Signature, str | None]:
    """(signature, None) when a call of `obj` binds to it; (the wrapped function's signature, a
    description of the wrapper) when `obj` is a `(*args, **kwargs)` wrapper whose inside cannot
    be known. Raises what `inspect.signature` raises for an object without a signature."""
    binder = _binding_function(obj)
    if binder is None or not _has_wrapped(binder):
        return python_signature(obj), None
    if isinstance(binder, functools._lru_cache_wrapper):  # forwards its arguments unchanged
        return python_signature(obj), None
    try:
        outer: inspect.Signature | None = python_signature(obj, follow_wrapped=False)
    except (ValueError, TypeError):
        outer = None  # a wrapper written in C: only the wrapped signature is known
    if outer is not None and not _takes_anything(outer):
        if _code(binder) is not _code(inspect.unwrap(binder)):
            # functools.wraps copied the wrapped function's annotations onto the wrapper: they
            # say nothing about what the wrapper's own parameters take
            outer = outer.replace(
                parameters=[p.replace(annotation=inspect.Parameter.empty) for p in outer.parameters.values()]
            )
        return outer, None
    try:
        inner = _wrapped_signature(obj, binder)
    except (ValueError, TypeError):
        if outer is None:
            raise
        return outer, None
    if outer is not None and inner == outer:
        return outer, None
    return inner, _describe_wrapper(binder, outer)


def _binding_function(obj: Any) -> Any:
    """The function whose parameters a call of `obj` binds to first (a class: its __init__)."""
    if inspect.isclass(obj):
        init = getattr(obj, "__init__", None)
        return None if init is object.__init__ else init
    return getattr(obj, "__func__", obj)  # a bound method: its function


def _has_wrapped(f: Any) -> bool:
    try:
        return hasattr(f, "__wrapped__")
    except Exception:  # an odd proxy object
        return False


def _code(f: Any) -> Any:
    return getattr(getattr(f, "__func__", f), "__code__", None)


def _takes_anything(sig: inspect.Signature) -> bool:
    """`(*args, **kwargs)`, `(**kwargs)`, `(*args)`: a signature that forwards, checking nothing."""
    kinds = {p.kind for p in sig.parameters.values()}
    return bool(kinds) and kinds <= {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}


def _wrapped_signature(obj: Any, binder: Any) -> inspect.Signature:
    """The innermost wrapped function's signature as seen through `obj` (its `self` or `cls`
    bound once: inspect drops it a second time when the wrapped object is itself bound)."""
    inner = inspect.unwrap(binder)
    sig = python_signature(inner)
    bound_by_obj = inspect.isclass(obj) or inspect.ismethod(obj)
    if bound_by_obj and (inspect.isfunction(inner) or isinstance(inner, (classmethod, staticmethod))):
        params = list(sig.parameters.values())
        if params and params[0].kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            sig = sig.replace(parameters=params[1:])
    return sig


def _describe_wrapper(binder: Any, outer: inspect.Signature | None) -> str:
    inner = inspect.unwrap(binder)
    name = getattr(inner, "__qualname__", None) or getattr(inner, "__name__", None) or type(inner).__name__
    if outer is None:
        return f"a wrapper written in C around `{name}`"
    return f"a wrapper `{outer.replace(return_annotation=inspect.Signature.empty)}` around `{name}`"


# Signatures of the reference's graph helpers.
def _sig(*params: tuple[str, str, bool]) -> Signature:
    return Signature(tuple(Param(*p) for p in params))


HELPER_SIGNATURES: dict[str, Signature] = {
    "getitem": _sig(("obj", POSITIONAL_ONLY, True), ("key", POSITIONAL_ONLY, True)),
    "items": _sig(("mapping", POSITIONAL_ONLY, True)),
    "keys": _sig(("mapping", POSITIONAL_ONLY, True)),
    "values": _sig(("mapping", POSITIONAL_ONLY, True)),
    "call": _sig(
        ("function", POSITIONAL_ONLY, True), ("args", VAR_POSITIONAL, False), ("kwargs", VAR_KEYWORD, False)
    ),
    "named_list": _sig(("items", VAR_POSITIONAL, False)),
    "named_tuple": _sig(("items", VAR_POSITIONAL, False)),
    "named_dict": _sig(("items", VAR_KEYWORD, False)),
    # The reference's signature; the keyword arguments beyond these are the linked config's
    # context variables (fgc/compile_time/from_project.py).
    "forgather:from_project": _sig(
        ("project_dir", POSITIONAL_OR_KEYWORD, True),
        ("config_template", POSITIONAL_OR_KEYWORD, False),
        ("targets", POSITIONAL_OR_KEYWORD, False),
        ("pp_debug", POSITIONAL_OR_KEYWORD, False),
        ("pp_kwargs", POSITIONAL_OR_KEYWORD, False),
        ("config_kwargs", VAR_KEYWORD, False),
    ),
}


def bind(sig: Signature, node: Node, partial: bool, what: str) -> list[Diagnostic]:
    """Check node's arguments against `sig`; `partial` leaves required parameters unbound.

    `what` names the callable in messages (the spec as written).
    """
    diags: list[Diagnostic] = []
    params = sig.params
    positional = [p for p in params if p.kind in (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD)]
    var_pos = any(p.kind == VAR_POSITIONAL for p in params)
    var_kw = any(p.kind == VAR_KEYWORD for p in params)
    by_name = {p.name: p for p in params if p.kind in (POSITIONAL_OR_KEYWORD, KEYWORD_ONLY)}
    bound: set[str] = set()

    nargs = len(node.args)
    if nargs > len(positional) and not var_pos:
        span = node.arg_spans[len(positional)] if len(node.arg_spans) > len(positional) else node.span
        diags.append(
            error(
                "FG0612",
                f"too many positional arguments for `{what}`: it takes {_count(len(positional))}, "
                f"{nargs} given",
                span,
                hint=f"signature: {what.split(':')[-1]}{sig}",
            )
        )
    for p in positional[:nargs]:
        bound.add(p.name)

    kwargs = node.call_kwargs
    spans = dict(node.kwarg_spans)
    latent = node.kwargs.get(LATENT_ARGS)
    unknown_latent = LATENT_ARGS in node.kwargs and not isinstance(latent, dict)
    if isinstance(latent, dict):
        for k in latent:
            kwargs = {**kwargs, k: latent[k]}
            spans.setdefault(k, node.kwarg_spans.get(LATENT_ARGS, node.span))
    for name in kwargs:
        span = spans.get(name, node.span)
        if name in bound and name in by_name:
            diags.append(
                error("FG0613", f"`{what}` got two values for `{name}` (positional and keyword)", span)
            )
            continue
        if name in by_name:
            bound.add(name)
            continue
        if var_kw:
            continue
        posonly = next((p for p in params if p.name == name and p.kind == POSITIONAL_ONLY), None)
        if posonly is not None:
            diags.append(
                error(
                    "FG0614",
                    f"`{name}` is a positional-only parameter of `{what}`",
                    span,
                    hint=f"give it as `arg{positional.index(posonly)}:` or in a sequence",
                )
            )
            continue
        diags.append(
            error(
                "FG0611",
                f"unknown argument `{name}` for `{what}`",
                span,
                hint=did_you_mean(name, by_name) or f"signature: {what.split(':')[-1]}{sig}",
            )
        )
    if partial or unknown_latent:
        return diags
    missing = [p.name for p in params if p.required and p.name not in bound]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        diags.append(
            error(
                "FG0610",
                f"missing required argument{'s' if len(missing) > 1 else ''} {names} of `{what}`",
                node.span,
                hint=f"signature: {what.split(':')[-1]}{sig}",
            )
        )
    return diags


def _count(n: int) -> str:
    return f"{n} positional argument{'s' if n != 1 else ''}" if n else "no positional arguments"
