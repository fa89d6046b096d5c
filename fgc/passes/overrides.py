"""Command-line overrides: `--override KEY.PATH=VALUE`, applied to the config graph after the
semantic passes and before imports and signatures, so that an override is checked like a value
written in a template (an unknown keyword, a wrong type: the same diagnostics).

VALUE is read as a config value of the dialect: a YAML scalar (`1e-4` a float, `'3'` a string,
`~` null, empty null), a flow list or mapping (`[1, 2]`, `{a: 1}`), a tagged value
(`!partial:torch.optim:SGD {lr: 0.1}`), or an alias of a node of the config (`*optimizer`).

Positions: an override's text is line N of the pseudo-file `<command line>` (N: the N-th
`--override`), so a diagnostic about it reads `<command line>:2:14`, with a note that quotes
the override.

KEY.PATH (fgc.passes.config_paths) must name an existing place, except that its last step may
add a keyword argument to a call (the signature check then says whether the callable takes it).
A path that adds a key to a plain mapping, or goes below a value that has nothing below it, is
an error (FG0011).

Diagnostics:
    FG0010  an override's VALUE `*name` names no anchor or named node of the config
(a VALUE that is not a config value gets the config parser's own diagnostics, at its column)
    FG0011  the KEY.PATH names no place in the config (with the nearest keys)
    FG0012  an override that replaces a named node as a whole (`--override optimizer=...`)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from ..diagnostics import Diagnostic, Related, Span, error, has_errors
from ..graph import Graph, Node, Value
from ..sourcemap import SourceMap
from .config_paths import PathError, Slot, locate, named_nodes, parse_path

COMMAND_LINE = "<command line>"
# Warnings of the config parser that concern only template text (the YAML 1.1 reading of
# `1e-4`): a command-line value is read as YAML 1.2 and says so in its help.
_TEMPLATE_ONLY = frozenset({"FG0420"})


class OverrideSyntaxError(ValueError):
    """An `--override` that is not KEY.PATH=VALUE (a bad command line, exit code 2)."""


@dataclass(frozen=True)
class Override:
    """One `--override KEY.PATH=VALUE`: `index` is its place on the command line (1-based)."""

    path: tuple[str, ...]
    value_text: str
    index: int = 1

    @property
    def key(self) -> str:
        return ".".join(self.path)

    @property
    def text(self) -> str:
        return f"{self.key}={self.value_text}"

    @property
    def key_span(self) -> Span:
        return Span(COMMAND_LINE, self.index, 1, self.index, len(self.key) + 1)

    @property
    def span(self) -> Span:
        return Span(COMMAND_LINE, self.index, 1, self.index, len(self.text) + 1)

    def note(self) -> Related:
        return Related(None, f"`--override {self.text}` on the command line")


def parse_override(text: str, index: int = 1) -> Override:
    """`optimizer.lr=1e-4` -> Override(("optimizer", "lr"), "1e-4", index)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise OverrideSyntaxError(f"expected --override KEY.PATH=VALUE, got {text!r}")
    try:
        path = parse_path(key)
    except PathError as e:
        raise OverrideSyntaxError(f"--override {text!r}: {e.message}") from None
    return Override(path, value, index)


def parse_overrides(texts: Sequence[str]) -> list[Override]:
    return [parse_override(t, i) for i, t in enumerate(texts, start=1)]


@dataclass
class Applied:
    """An override applied: the place, and what the templates had written there before
    (`previous_key_span` None when the override added a keyword argument)."""

    override: Override
    path: tuple[str, ...]
    previous: Value
    previous_key_span: Span | None
    previous_value_span: Span | None


def read_value(override: Override, graph: Graph) -> tuple[Value, dict[int, dict], list[Diagnostic]]:
    """The override's VALUE as a graph value (with its containers' spans), at its position."""
    from ..syntax.config_ast import Alias, Document, Entry, Mapping, Scalar
    from ..syntax.config_parser import parse_config
    from .semantic import analyze

    # The value keeps its columns in `KEY=VALUE`: the key and `=` become spaces.
    text = "\n" * (override.index - 1) + " " * (len(override.key) + 1) + override.value_text
    document, diags = parse_config(text, SourceMap.identity(COMMAND_LINE, text))
    diags = [d for d in diags if d.code not in _TEMPLATE_ONLY]
    if has_errors(diags) or document is None:
        return None, {}, [_with_note(d, override) for d in diags]
    root = document.root
    if root is None:  # `KEY=`: null, as `key:` is in YAML
        return None, {}, diags
    if isinstance(root, Alias):
        node = named_nodes(graph).get(root.name)
        if node is None:
            return None, {}, diags + [
                error(
                    "FG0010",
                    f"`*{root.name}` names no anchor or named node of the config",
                    root.span,
                    related=(override.note(),),
                )
            ]
        return node, {}, diags
    # Lower the value as the only target of a one-entry document, through every semantic pass.
    key = Scalar(override.key_span, override.path[-1])
    wrapped = Document(Mapping(root.span, entries=[Entry(key, root, root.span)]), root.span)
    mini, more = analyze(wrapped)
    diags += [_with_note(d, override) for d in more]
    if has_errors(more):
        return None, {}, diags
    return mini.values[override.path[-1]], mini.container_spans, diags


def apply_overrides(graph: Graph, overrides: Sequence[Override]) -> tuple[list[Applied], list[Diagnostic]]:
    """Apply `overrides` in order (a later one of the same path wins) to `graph`, in place."""
    from .names import check_names
    from .variables import collect_variables

    applied: list[Applied] = []
    diags: list[Diagnostic] = []
    for override in overrides:
        try:
            found = locate(graph, override.path, allow_new_kwarg=True)
        except PathError as e:
            diags.append(error("FG0011", e.message, override.key_span, related=(override.note(),), hint=e.hint))
            continue
        slot = found.slot
        if slot is None:
            diags.append(
                error(
                    "FG0012",
                    f"`{override.key}` is the named node `{_describe(found.value)}`; an override "
                    "replaces a value at one place, not a node used elsewhere",
                    override.key_span,
                    related=(override.note(),),
                    hint=f"override one of its arguments (`{override.key}.NAME=...`), or the place that uses it",
                )
            )
            continue
        value, spans, more = read_value(override, graph)
        diags.extend(more)
        if has_errors(more):
            continue
        applied.append(_apply(slot, override, value, spans))
    if applied:
        # New values may bring `!var`s and `@name`s: collect again and keep what is new.
        more = collect_variables(graph) + check_names(graph)
        diags.extend(annotate([d for d in more if _on_command_line(d)], overrides))
    return applied, diags


def _apply(slot: Slot, override: Override, value: Value, spans: dict[int, dict]) -> Applied:
    before = Applied(
        override,
        slot.path,
        slot.get() if slot.exists else None,
        slot.key_span if slot.exists else None,
        slot.value_span if slot.exists else None,
    )
    value_span = Span(COMMAND_LINE, override.index, len(override.key) + 2, override.index, len(override.text) + 1)
    if isinstance(value, Node) and value.span.file == COMMAND_LINE:
        value_span = value.span
    slot.set(value, override.key_span, value_span)
    slot.graph.container_spans.update(spans)
    return before


def _on_command_line(d: Diagnostic) -> bool:
    """Does the diagnostic concern an override (at it, or with a note at it)?"""
    spans = [d.span, *(r.span for r in d.related)]
    return any(s is not None and s.file == COMMAND_LINE for s in spans)


def _describe(value: Value) -> str:
    return value.describe() if isinstance(value, Node) else repr(value)


def _with_note(d: Diagnostic, override: Override) -> Diagnostic:
    note = override.note()
    return d if note in d.related else replace(d, related=(*d.related, note))


def annotate(diagnostics: Sequence[Diagnostic], overrides: Sequence[Override]) -> list[Diagnostic]:
    """Give each diagnostic located on the command line a note quoting its override."""
    by_line = {o.index: o for o in overrides}
    out = []
    for d in diagnostics:
        o = by_line.get(d.span.line) if d.span and d.span.file == COMMAND_LINE else None
        out.append(_with_note(d, o) if o is not None else d)
    return out

