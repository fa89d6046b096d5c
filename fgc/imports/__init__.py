"""Import resolution and signature binding of every callable spec in the config graph.

    specs      parse `module:Attr`, `path/file.py:Attr`, `.module:Attr`, builtins, helpers
    locate     find a module's file without importing it; local modules' private packages
    cache      on-disk signature cache (a warm check imports nothing it has seen)
    resolve    spec -> exists? callable? signature
    signature  signatures as data; binding with diagnostics at each argument's position
    annotations  annotations as type descriptors (JSON, cached with the signature)
    typecheck  literal values and `!var` defaults checked against them (FG0620)
    argument_rules  what a callable declares it does not implement in its arguments (FG0630)

Diagnostics FG06xx. `import_modules=False` (`--no-import`) parses specs and finds local
module files but imports nothing and checks no signature.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

from ..diagnostics import Diagnostic, Result, Span, error, note, warning
from ..graph import CALLABLE_KINDS, SUBMODULE_SEARCHPATH, Graph, Kind, Node, Value
from ..pyast import exclusive
from .argument_rules import check_rules
from .typecheck import Checker, check_node
from .cache import SignatureCache, default_cache_dir
from .locate import Location, NotFound, forget_local_modules, locate, split_colonless
from .resolve import NotCached, Resolved, ResolveError, Resolver
from .signature import bind
from .specs import Form, Spec, SpecError, parse_spec

__all__ = ["Imports", "VarBindings", "resolve_imports", "Spec", "Form", "Location", "Resolved"]


@dataclass
class Imports:
    """What the compiler learned about each callable node's spec."""

    specs: dict[Node, Spec] = field(default_factory=dict)
    locations: dict[Node, Location] = field(default_factory=dict)  # modules (local or installed)
    resolved: dict[Node, Resolved] = field(default_factory=dict)  # empty with --no-import

    def local_locations(self) -> list[Location]:
        return list(
            {(loc.directory, loc.local_name): loc for loc in self.locations.values() if loc.is_local}.values()
        )


# The values that bind `!var`s inside compile-time nodes: `!var` node -> (value, its position,
# how messages name it).
VarBindings = Callable[[Graph, Imports], dict[Node, tuple[Any, Span, str]]]


def search_dirs(node: Node) -> tuple[str, ...]:
    """The node's `submodule_searchpath`, absolute (relative to the template that wrote it)."""
    value = node.kwargs.get(SUBMODULE_SEARCHPATH)
    if not isinstance(value, list):
        return ()
    return tuple(os.path.normpath(os.path.join(node.template_dir, d)) for d in value if isinstance(d, str))


def relative_search_dirs(graph: Graph) -> dict[Node, tuple[str, ...]]:
    """Where each node's relative spec (`.causal_lm:CausalLM`) is looked for after the template's
    directory: its own `submodule_searchpath`, then those of the nodes that contain it, nearest
    first. The reference's model projects write a model's parts with relative specs and no
    searchpath of their own, inside the node that carries `submodule_searchpath` (through its
    code generator): the reference imports the parts from there, and so they resolve here."""
    out: dict[Node, tuple[str, ...]] = {}
    stack: list[tuple[Value, tuple[str, ...]]] = [(graph.values[t], ()) for t in graph.targets]
    while stack:
        value, inherited = stack.pop()
        if isinstance(value, Node):
            before = out.get(value)
            dirs = tuple(dict.fromkeys((*(before or ()), *search_dirs(value), *inherited)))
            if dirs == before:
                continue  # reached before with the same directories: its children are done
            out[value] = dirs
            stack.extend((child, dirs) for child in value.children())
        elif isinstance(value, list):
            stack.extend((item, inherited) for item in value)
        elif isinstance(value, dict):
            stack.extend((item, inherited) for item in value.values())
    return out


def resolve_imports(
    graph: Graph,
    import_modules: bool = True,
    cache: SignatureCache | None = None,
    var_bindings: VarBindings | None = None,
) -> Result[Imports]:
    """`var_bindings` names the values that bind `!var`s inside compile-time nodes (e.g. a
    dynamic_causal_lm's hyper-parameters, fgc/codegen/compile_time_node.py), so that those values
    are checked against the annotations at their own position."""
    # sys.modules is one per process: a compilation that forgets and re-imports local modules
    # must not run beside another doing the same; and importing them may run third-party AST
    # conversions, which must not run beside fgc's own (fgc/pyast.py; tests/syntax/test_reentrant.py).
    with exclusive():
        return _resolve_imports(graph, import_modules, cache, var_bindings)


def _resolve_imports(
    graph: Graph,
    import_modules: bool,
    cache: SignatureCache | None,
    var_bindings: VarBindings | None,
) -> Result[Imports]:
    out = Imports()
    diags: list[Diagnostic] = []
    if cache is None:
        cache = SignatureCache(default_cache_dir() if import_modules else None)
    resolver = Resolver(cache)
    # Local modules are read afresh by every compilation (a long-lived process such as the
    # language server must see edits); installed modules stay imported.
    forget_local_modules()
    memo: dict[tuple, Resolved | ResolveError | NotCached] = {}
    bound: list[tuple[Node, Resolved]] = []
    relative_dirs: dict[Node, tuple[str, ...]] | None = None  # computed for the first relative spec
    for node in graph.checked_nodes():  # unused `.define:` entries too (FG0540)
        if node.kind not in CALLABLE_KINDS or not node.callable:
            continue
        try:
            spec = parse_spec(node.callable, node.template_dir)
        except SpecError as e:
            diags.append(error("FG0600", str(e), node.span, hint=e.hint))
            continue
        if spec.colonless:
            spec = split_colonless(spec, node.template_dir)
            written = f"{spec.module}:{spec.attr}"
            diags.append(
                warning("FG0605", f"`{spec.text}` has no `:` between module and name; read as `{written}`",
                        node.span, hint=f"write `{written}`")
            )
        out.specs[node] = spec
        if spec.form == Form.RELATIVE:
            if relative_dirs is None:
                relative_dirs = relative_search_dirs(graph)
            search = relative_dirs.get(node, ())
        else:
            search = search_dirs(node)
        if not import_modules:
            # Finding local files imports nothing: do it, a build needs them.
            try:
                loc = (
                    locate(spec, node.template_dir, search)
                    if spec.form != Form.MODULE or _maybe_local(spec, node)
                    else None
                )
            except NotFound as e:
                if spec.form in (Form.FILE, Form.RELATIVE):
                    from ..diagnostics import did_you_mean

                    wanted = spec.module if spec.form == Form.RELATIVE else os.path.basename(spec.path or "")
                    diags.append(
                        error(
                            "FG0601",
                            f"cannot import `{spec.text}`: {e}",
                            node.span,
                            hint=did_you_mean(wanted or "", e.candidates),
                        )
                    )
                loc = None
            if loc is not None:
                out.locations[node] = loc
            continue
        key = (spec, node.template_dir if spec.form != Form.MODULE else None, search)
        if key not in memo:
            try:
                memo[key] = resolver.resolve(spec, node.template_dir, search)
            except (ResolveError, NotCached) as e:
                memo[key] = e
        res = memo[key]
        if isinstance(res, NotCached):
            continue  # not known without importing it, and importing is not allowed: unchecked
        if isinstance(res, ResolveError):
            diags.append(error(res.code, str(res), node.span, hint=res.hint))
            continue
        out.resolved[node] = res
        if res.location is not None:
            out.locations[node] = res.location
        if not res.callable:
            diags.append(error("FG0604", f"`{spec.text}` is a {res.type_name}, not a callable", node.span))
            continue
        if res.signature is None or node.kind == Kind.META:
            continue
        found = bind(res.signature, node, partial=node.kind == Kind.PARTIAL, what=spec.text)
        diags.extend(as_notes(found, res.signature.wrapper, spec.text))
        if res.unsupported:
            diags.extend(check_rules(node, res.signature, res.unsupported, spec.text))
        bound.append((node, res))
    cache.flush()
    bindings = var_bindings(graph, out) if var_bindings is not None else {}
    diags.extend(check_values(graph, bound, bindings))
    return Result(out, diags)


def check_values(
    graph: Graph, bound: list[tuple[Node, Resolved]], bindings: dict[Node, tuple]
) -> list[Diagnostic]:
    """FG0620: literal values (and `!var` defaults) that the parameter's annotation rejects.

    A `!var` in `bindings` (one inside a compile-time node, such as a dynamic_causal_lm's
    hyper-parameter) is checked through the value that binds it, at that value's position.
    """
    checker = Checker(graph)
    diags: list[Diagnostic] = []
    reported: set = set()
    for node, res in bound:
        sig = res.signature
        assert sig is not None
        params = [(p.name, p.kind) for p in sig.params]
        for d in check_node(sig.types(), params, node, res.spec.text, checker, bindings):
            # One value reaching several parameters (`hidden_size` feeds every block) is one mistake.
            if d.span not in reported:
                reported.add(d.span)
                diags.extend(as_notes([d], sig.wrapper, res.spec.text))
    return diags


def as_notes(found: list[Diagnostic], wrapper: str | None, what: str) -> list[Diagnostic]:
    """A signature check never rejects a call that Python accepts: behind a wrapper that takes
    anything (`Signature.wrapper`) the wrapped function's signature is a guess, so what it
    rejects is a note (FG0615) saying the arguments were not checked, and what it would say."""
    if wrapper is None:
        return found
    return [
        note(
            "FG0615",
            f"arguments of `{what}` not checked: it is {wrapper} (what runs inside cannot be "
            f"known); the wrapped signature says: {d.message} [{d.code}]",
            d.span,
            hint=d.hint,
        )
        for d in found
    ]


def _maybe_local(spec: Spec, node: Node) -> bool:
    """A module spec might be a local module: a file of that name sits next to the template."""
    top = (spec.module or "").split(".")[0]
    d = node.template_dir
    return os.path.isfile(os.path.join(d, top + ".py")) or os.path.isdir(os.path.join(d, top))
