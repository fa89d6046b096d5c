"""Where the values of a failing object came from, for an error raised while `fgc run` builds or
runs a build (fgc/cli/run_errors.py).

The build is compiled again from its saved sources with its recorded `-D`s and overrides (to the
graph, nothing imported: fgc/build/saved_sources.py), the node that built the failing object is
found (by the template position of its tag, or by the class it builds), and each of its arguments
gets its value chain, the most user-facing place first:

    --set NAME=VALUE      a variable given to `fgc run`
    -D NAME=VALUE         a template variable given to `fgc compile`, rendered into the value
    -- set NAME = VALUE   the knob's `set` whose value was rendered (fgc/inheritance/knobs.py)
    --override PATH=V     an override recorded in the build
    the key               the template line that wrote the value (or the `!var`)

The arguments blamed for an error are those the message names (their keyword, or their value
as text), else those given on the command line; with none, the error belongs to the tag (and the
arguments that the user's templates wrote are context: notes, never the position).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..diagnostics import Span
from ..graph import MISSING, Kind, Node, Value

STDLIB = "stdlib/"  # how a build names the template library's files (fgc/build/layout.py)
# A rendered variable at the start of an expression: `{{ max_steps | toyaml }}`.


@dataclass(frozen=True)
class Place:
    """One link of a value's chain: a position (None on the command line) and what it says."""

    span: Span | None
    text: str  # the source line, or the option as given
    library: bool = False  # a line of the template library (stdlib/), not the user's


@dataclass
class Suspect:
    """An argument of the failing node and where its value came from."""

    argument: str  # the keyword, or `#N` for a positional argument
    value: str  # as text
    chain: list[Place] = field(default_factory=list)  # most user-facing first
    given: bool = False  # set on a command line (--set, -D, --override)


@dataclass
class Attribution:
    """The tag that built the failing object, and the arguments the error blames."""

    tag: Place
    what: str  # the tag as written (`!singleton:...@tokenizer`)
    suspects: list[Suspect] = field(default_factory=list)  # blamed: named by the message, or given
    context: list[Suspect] = field(default_factory=list)  # not blamed: the arguments the user's templates wrote
    candidate: tuple[str, int, int] | str = ""  # the candidate that found the node (see `attribute`)


def attribute(
    build_dir: Path,
    to_build: Callable[[str, int, int], Span],
    message: str,
    sets: dict[str, Any],
    candidates: list[tuple[str, int, int] | str],
) -> Attribution | None:
    """The attribution of an error `message` raised in the object built by the first of
    `candidates` (innermost first: a tag's position, or a class name) that names a node of the
    build; `to_build(name, line, col)` maps a build name to a span the user can open; `sets`: the
    run's `--set` values. None when no node is found again."""
    from .. import pipeline
    from ..build import BuildError
    from ..build.saved_sources import saved_input
    from ..passes.overrides import OverrideSyntaxError, parse_overrides

    try:
        with saved_input(build_dir) as saved:
            try:
                overrides = parse_overrides(saved.overrides)
            except OverrideSyntaxError:
                overrides = []
            comp = pipeline.compile_file(
                saved.path,
                saved.include_dirs,
                saved.variables,
                globals=saved.globals or None,
                overrides=overrides,
                import_modules=False,
                stop_after="graph",
            )
            if comp.graph is None or not comp.ok:
                return None
            tree = saved.path.parent
            blamer = _Blamer(comp, tree, to_build, saved.variables, sets)
            for candidate in candidates:
                found = blamer.attribution(message, candidate)
                if found is not None:
                    return found
            return None
    except (BuildError, OSError):
        return None


class _Blamer:
    def __init__(
        self, comp: Any, tree: Path, to_build: Callable[[str, int, int], Span], defines: dict, sets: dict
    ) -> None:
        self.comp, self.tree, self.to_build = comp, tree, to_build
        self.defines, self.sets = defines, sets
        self.lines: dict[str, list[str]] = {}

    # -- positions ----------------------------------------------------------------------------

    def build_name(self, span: Span) -> str:
        return Path(os.path.relpath(span.file, self.tree)).as_posix()

    def place(self, span: Span) -> Place:
        from ..passes.overrides import COMMAND_LINE

        if span.file == COMMAND_LINE:
            given = {a.override.index: a.override.text for a in self.comp.overrides}
            return Place(None, f"--override {given.get(span.line, '?')}")
        text = self.line(span)
        name = self.build_name(span)
        return Place(self.to_build(name, span.line, span.col), text, name.startswith(STDLIB))

    def line(self, span: Span) -> str:
        if span.file not in self.lines:
            try:
                self.lines[span.file] = Path(span.file).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self.lines[span.file] = []
        lines = self.lines[span.file]
        return lines[span.line - 1].strip() if 1 <= span.line <= len(lines) else ""

    # -- the node -----------------------------------------------------------------------------

    def find(self, candidate: tuple[str, int, int] | str) -> Node | None:
        nodes = list(self.comp.graph.nodes())
        if isinstance(candidate, tuple):
            name, line, col = candidate
            for n in nodes:
                if (self.build_name(n.span), n.span.line, n.span.col) == (name, line, col):
                    return n
            return None
        same = [
            n for n in nodes if n.callable and n.callable.split("@")[0].rsplit(":", 1)[-1].split(".")[-1] == candidate
        ]
        return same[0] if len(same) == 1 else None

    def attribution(self, message: str, candidate: tuple[str, int, int] | str) -> Attribution | None:
        node = self.find(candidate)
        if node is None:
            return None
        suspects = [s for s in self.arguments(node) if s is not None]
        named = [s for s in suspects if _names(message, s)]
        given = [s for s in suspects if s.given]
        blamed = named or given
        written = [s for s in suspects if s.chain and not s.chain[0].library and s not in blamed]
        return Attribution(self.place(node.span), node.describe(), blamed, written, candidate)

    # -- value chains -------------------------------------------------------------------------

    def arguments(self, node: Node) -> list[Suspect | None]:
        out: list[Suspect | None] = []
        for i, value in enumerate(node.args):
            span = node.value_spans.get(i) or (node.arg_spans[i] if i < len(node.arg_spans) else None)
            out.append(self.suspect(f"#{i}", value, span, None))
        for key, value in node.call_kwargs.items():
            out.append(self.suspect(key, value, node.value_spans.get(key), node.kwarg_spans.get(key)))
        return out

    def suspect(self, argument: str, value: Value, value_span: Span | None, key_span: Span | None) -> Suspect | None:
        if isinstance(value, Node) and value.kind == Kind.VAR and value.var:
            return self.variable(argument, value, value_span or key_span)
        if isinstance(value, (Node, list, dict)):
            return None  # another object of the config, or a container: not one value
        span = key_span or value_span
        out = Suspect(argument, _shown(value))
        if span is not None:
            place = self.place(span)
            out.given = place.span is None
            out.chain = [*self.knobs(span), place]
            out.given = out.given or any(p.span is None for p in out.chain)
        return out

    def variable(self, argument: str, var: Node, span: Span | None) -> Suspect:
        name = var.var or ""
        where = span or var.span
        if name in self.sets:
            return Suspect(
                argument,
                _shown(self.sets[name]),
                [Place(None, f"--set {name}={_shown(self.sets[name])}"), self.place(where)],
                True,
            )
        chain: list[Place] = []
        bound, value = self.binding(var) or (None, var.default)
        if isinstance(value, Node) and value.kind == Kind.VAR and value.var in self.sets:
            given = value.var  # a hyper-parameter given as another variable, set by --set
            value = self.sets[given]
            chain.append(Place(None, f"--set {given}={_shown(value)}"))
        knobs = self.knobs(bound or var.default_span or where)
        chain.extend(knobs)
        if bound is not None:  # a model hyper-parameter: the model node's keyword gives it
            chain.append(self.place(bound))
        chain.append(self.place(where))
        shown = (
            "(no default)"
            if value is MISSING
            else "(built by the config)" if isinstance(value, Node) else _shown(value)
        )
        return Suspect(argument, shown, chain, any(p.span is None for p in chain))

    def binding(self, var: Node) -> tuple[Span | None, Value] | None:
        """Where a `!var` of a model definition gets its value, and the value: the keyword of
        that name of the node whose `definition` holds it (a compile-time node's hyper-parameter)."""
        from ..graph import walk_nodes

        for node in self.comp.graph.nodes():
            definition = node.kwargs.get("definition")
            if var.var in node.kwargs and isinstance(definition, Node) and var in set(walk_nodes(definition)):
                assert var.var is not None
                return node.kwarg_spans.get(var.var) or node.value_spans.get(var.var), node.kwargs[var.var]
        return None

    def knobs(self, span: Span) -> list[Place]:
        """The `-D` or `set` that gave the template variables rendered on the line at `span`
        (the query layer's knob resolution, as `fgc explain` and hover show it)."""
        from ..analysis.chain import knob_sources

        out: list[Place] = []
        for name, source in knob_sources(self.comp.front.render.graph, self.defines, self.line(span)):
            if source is None:
                out.append(Place(None, f"-D {name}={_shown(self.defines[name])}"))
            elif source.line != span.line:
                out.append(self.place(source))
        return out


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _names(message: str, suspect: Suspect) -> bool:
    """Does the message name the argument: its keyword, or its value written out?"""
    if not suspect.argument.startswith("#") and re.search(rf"(?<!\w){re.escape(suspect.argument)}(?!\w)", message):
        return True
    value = suspect.value
    if len(value) < 2 or value in ("null", "true", "false"):
        return False
    return re.search(rf"(?<![\w.]){re.escape(value)}(?![\w])", message) is not None
