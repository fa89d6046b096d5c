"""Resolve a callable spec to what the compiler needs to know: does it exist, is it callable,
what is its signature. Imports modules (never calls anything from the config) unless the
signature cache already knows the answer.
"""

from __future__ import annotations

import builtins
import inspect
import os
from dataclasses import dataclass
from typing import Any

from .argument_rules import read_rules
from .cache import SignatureCache, distribution_version
from .locate import Location, NotFound, import_location, locate, relative_import_hint
from .signature import HELPER_SIGNATURES, Signature, signature_of
from .specs import Form, Spec


@dataclass(frozen=True)
class Resolved:
    """What an import text names: its location, kind and signature."""
    spec: Spec
    location: Location | None
    callable: bool
    type_name: str  # what the object is, for messages: "class", "function", "float"...
    signature: Signature | None  # None: not inspectable (checked no further)
    from_cache: bool = False
    # what the callable declares it does not implement in the values it is given (argument_rules.py)
    unsupported: dict | None = None


class NotCached(Exception):
    """The signature cache does not know the spec and may not import its module."""


class ResolveError(Exception):
    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


def _describe(obj: Any) -> str:
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    if inspect.ismodule(obj):
        return "module"
    return type(obj).__name__


class Resolver:
    def __init__(self, cache: SignatureCache) -> None:
        self.cache = cache

    def resolve(self, spec: Spec, template_dir: str, search: tuple[str, ...] = ()) -> Resolved:
        if spec.form == Form.HELPER:
            return Resolved(spec, None, True, "function", HELPER_SIGNATURES[spec.text])
        if spec.form == Form.BUILTIN:
            obj = self._getattrs(builtins, spec.attrs, "builtins", spec)
            return self._result(spec, None, obj)
        try:
            loc = locate(spec, template_dir, search)
        except NotFound as e:
            from ..diagnostics import did_you_mean

            wanted = spec.module if spec.form != Form.FILE else os.path.basename(spec.path or "")
            raise ResolveError(
                "FG0601", f"cannot import `{spec.text}`: {e}", did_you_mean(wanted or "", e.candidates)
            )
        assert loc is not None
        version = (
            distribution_version(spec.module.split(".")[0])
            if spec.form == Form.MODULE and spec.module
            else None
        )
        if loc.file is not None:
            cached = self.cache.get(loc.file, spec.attr, version)
            if cached is not None:
                sig = Signature.from_json(cached["signature"]) if cached["signature"] is not None else None
                return Resolved(spec, loc, cached["callable"], cached["type"], sig, from_cache=True,
                                unsupported=cached.get("unsupported"))
        if not self.cache.import_on_miss:
            raise NotCached(spec.text)
        try:
            module = import_location(loc)
        except Exception as e:  # the module's own code failed: report, do not crash
            raise ResolveError(
                "FG0602",
                f"importing `{loc.local_name or loc.import_name}` failed: {type(e).__name__}: {e}",
                relative_import_hint(loc, e),
            )
        obj = self._getattrs(module, spec.attrs, spec.module or "", spec)
        result = self._result(spec, loc, obj)
        if loc.file is not None:
            deps = [loc.file]
            # the file defining the object and, for a class, those of its bases (an inherited
            # __init__ or class attribute lives there)
            for owner in obj.__mro__[:-1] if inspect.isclass(obj) else (obj,):
                try:
                    defined = inspect.getsourcefile(owner) or inspect.getfile(owner)
                    if defined and os.path.isfile(defined):
                        deps.append(defined)
                except Exception:  # builtins and objects without a file: the module file suffices
                    pass
            self.cache.put(
                loc.file,
                spec.attr,
                version,
                {
                    "callable": result.callable,
                    "type": result.type_name,
                    "signature": result.signature.to_json() if result.signature else None,
                    "unsupported": result.unsupported,
                },
                deps,
            )
        return result

    def _getattrs(self, obj: Any, attrs: tuple[str, ...], owner: str, spec: Spec) -> Any:
        from ..diagnostics import did_you_mean

        path = owner
        for a in attrs:
            try:
                obj = getattr(obj, a)
            except AttributeError:
                raise ResolveError(
                    "FG0603",
                    f"`{path}` has no attribute `{a}`" if path != "builtins" else f"`{a}` is not a builtin",
                    did_you_mean(
                        a,
                        (
                            [n for n in dir(obj) if not n.startswith("_")]
                            if path != "builtins"
                            else dir(builtins)
                        ),
                    ),
                )
            except Exception as e:  # a lazy module whose attribute import fails
                raise ResolveError("FG0602", f"reading `{path}.{a}` failed: {type(e).__name__}: {e}")
            path = f"{path}.{a}" if path else a
        return obj

    def _result(self, spec: Spec, loc: Location | None, obj: Any) -> Resolved:
        if not callable(obj):
            return Resolved(spec, loc, False, _describe(obj), None)
        return Resolved(spec, loc, True, _describe(obj), signature_of(obj), unsupported=read_rules(obj))
