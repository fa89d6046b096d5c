"""Knobs replaced by an ancestor (FG0207): a value a child template or `-D` gives that a
template further up the `extends` chain silently overwrites.

A knob is a template variable that a child sets (`-- set max_steps = 30`) or the command line
gives (`-D max_steps=30`) and a parent reads. Jinja runs a child's top-level statements before
its parent's, and a template's own variables hide the ones it is rendered with (`-D`), so a
parent's top-level `-- set max_steps = 60` replaces both, and the build gets 60. The idiom that
lets them win is `-- set max_steps = max_steps | default(60)`.

Static analysis of the template pass's graph, per rendered chain (the input, and each `include`
target, followed up its single unconditional `extends`): the top-level `set`s of one name, in
the order Jinja runs them (the leaf first, then each parent; source order within a template).
A set *replaces* when it is outside every block, macro, loop and `if`, and its value does not
mention the name it sets (`x | default(60)`, `x if x is defined else 60` defer to it). A
replacing set is reported when the value it replaces may come from `-D`, from another template
of its chain, or from the chain of a template that includes it (an included template sees its
includer's variables). A set inside a top-level `if` may give a value but is never reported;
sets inside blocks, loops, macros and `with` are local and ignored.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..diagnostics import Diagnostic, Related, Span, warning
from ..syntax.pairing import is_tag, jinja_nodes, structure_of
from ..syntax.template_ast import Chunk, Statement, Tag, TextLine, keyword_of
from ..syntax.jinja_env import parse_statement
from .template_pass import TemplateGraph, TemplateNode

CODE = "FG0207"

_SET_TARGETS = re.compile(r"\s*set\s+")


@dataclass(frozen=True)
class Assignment:
    """One top-level `set` of a name in a template."""

    name: str
    template: str
    span: Span  # the name where it is assigned
    conditional: bool  # inside a top-level `if`
    defers: bool  # its value reads the name (`x | default(60)`)
    value: str | None  # the value as written (`= value`), None for a block `set`
    line_statement: bool  # `-- set` rather than `{% set %}`

    @property
    def replaces(self) -> bool:
        return not (self.conditional or self.defers)


@dataclass
class _Value:
    """Where the current value of one name may come from, at one point of the rendering."""

    givers: list[Assignment]  # the sets it may come from
    command_line: bool  # it may still be the value `-D` gave

    def merge(self, other: "_Value") -> None:
        self.givers.extend(g for g in other.givers if g not in self.givers)
        self.command_line = self.command_line or other.command_line


def knob_pass(graph: TemplateGraph, variables: Mapping[str, Any]) -> list[Diagnostic]:
    """FG0207 for every knob that an ancestor's top-level `set` replaces."""
    sets: dict[str, list[Assignment]] = {}
    diags: dict[Span | None, Diagnostic] = {}
    # The input first, then include targets, each seeded with what its includers' chains leave.
    incoming: dict[str, dict[str, _Value]] = {graph.root: {}}
    queue, done = [graph.root], set()
    while queue:
        leaf = queue.pop(0)
        if leaf in done or leaf not in graph.templates:
            continue
        done.add(leaf)
        chain = _chain(graph, graph.templates[leaf])
        state = {name: _Value(list(v.givers), v.command_line) for name, v in incoming.get(leaf, {}).items()}
        for node in chain:
            for a in sets.setdefault(node.name, top_level_sets(node)):
                value = state.setdefault(a.name, _Value([], a.name in variables))
                d = _step(a, value, variables, {n.name for n in chain})
                if d is not None:
                    diags.setdefault(d.span, d)
        for target in [t for n in chain for r in n.references if r.kind == "include" for t in r.resolved]:
            seed = incoming.setdefault(target, {})
            for name, value in state.items():
                seed.setdefault(name, _Value([], False)).merge(value)
            queue.append(target)
    return list(diags.values())


def _chain(graph: TemplateGraph, leaf: TemplateNode) -> list[TemplateNode]:
    """`leaf` and its parents, as long as each template has one unconditional `extends` whose
    target is known (a choice between parents is not followed: either may run)."""
    chain, seen = [leaf], {leaf.name}
    while True:
        extends = chain[-1].extends
        if len(extends) != 1 or extends[0].conditional or len(extends[0].resolved) != 1:
            return chain
        parent = graph.templates.get(extends[0].resolved[0])
        if parent is None or parent.name in seen:
            return chain
        chain.append(parent)
        seen.add(parent.name)


def _step(a: Assignment, value: _Value, variables: Mapping[str, Any], chain: set[str]) -> Diagnostic | None:
    """Run set `a` on the value of its name; the warning when it replaces a value given elsewhere."""
    if not a.replaces:
        if not (a.defers and (value.givers or value.command_line)):
            value.givers.append(a)  # an `if` branch, or a default that applies
        return None
    others = [g for g in value.givers if g.template != a.template]
    found = None
    if others or value.command_line:
        children = [g for g in others if g.template in chain]
        includers = [g for g in others if g.template not in chain]
        found = _diagnostic(a, children, includers, variables[a.name] if value.command_line else _NONE)
    value.givers, value.command_line = [a], False
    return found


_NONE = object()


def _diagnostic(at: Assignment, children: list[Assignment], includers: list[Assignment], command_line: Any) -> Diagnostic:
    givers = children + includers
    sources = [f"`{t}`" for t in dict.fromkeys(g.template for g in givers)]
    related = [Related(g.span, f"`{g.name}` set here, in `{g.template}`") for g in givers]
    reasons, who = [], []
    if children:
        reasons.append("a parent's top-level statements run after its children's")
        who.append("a child template")
    if includers:
        reasons.append("an included template's top-level statements run after those of the templates that include it")
        who.append("the including template")
    if command_line is not _NONE:
        sources.append(f"`-D {at.name}={_scalar(command_line)}`")
        related.append(Related(None, f"`-D {at.name}={_scalar(command_line)}` on the command line"))
        reasons.append("a template's own `set` hides the variables given on the command line")
    who.append("`-D`")
    default = f"{at.name} | default({at.value})" if at.value is not None else f"{at.name} | default(...)"
    written = f"-- set {at.name} = {default}" if at.line_statement else f"{{% set {at.name} = {default} %}}"
    return warning(
        CODE,
        f"`{at.template}` replaces the value of `{at.name}` given by {' and '.join(sources)}: {', and '.join(reasons)}",
        at.span,
        related=tuple(related),
        hint=f"to let {', '.join(who[:-1]) + ' and ' if len(who) > 1 else ''}{who[-1]} set it, write `{written}`",
    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


# --------------------------------------------------------------------------------------------
# The top-level sets of one template


# The top-level sets of every live chunk under each template name, read once (the knob pass, the
# knob reads and the knob-use check ask about the same unchanged templates at every check).
_sets: weakref.WeakKeyDictionary[Chunk, dict[str, tuple[Assignment, ...]]] = weakref.WeakKeyDictionary()


def top_level_sets(node: TemplateNode) -> list[Assignment]:
    """The `set`s of a template that assign its variables: outside every statement but `if`."""
    by_name = _sets.get(node.chunk)
    if by_name is None:
        by_name = _sets[node.chunk] = {}
    found = by_name.get(node.name)
    if found is None:
        found = by_name[node.name] = tuple(_top_level_sets(node))
    return list(found)


def _top_level_sets(node: TemplateNode) -> list[Assignment]:
    structure = structure_of(node.chunk)
    out: list[Assignment] = []
    for t in jinja_nodes(node.chunk.items):
        if not is_tag(t) or keyword_of(t.body) != "set" or structure.is_text(t):
            continue
        around = structure.enclosing(t)  # a TOML block is a pair too: its sets are local
        if all(p.keyword == "if" for p in around):
            block = structure.pair_of(t) is not None
            out.extend(_read_set(t, node.name, block, conditional=bool(around), line_statement=isinstance(t, Statement)))
    return out


def _read_set(tag: Tag, template: str, block: bool, conditional: bool, line_statement: bool) -> list[Assignment]:
    """The names a `set` statement (a block set when `block`) assigns (none for `ns.x`), with
    their spans."""
    from jinja2 import nodes

    body = tag.body
    parsed = parse_statement(body + (" %}{% endset" if block else ""))
    if not isinstance(parsed, (nodes.Assign, nodes.AssignBlock)):
        return []
    target = parsed.target
    names = [target.name] if isinstance(target, nodes.Name) else []
    if isinstance(target, nodes.Tuple):
        names = [i.name for i in target.items if isinstance(i, nodes.Name)]
    value = None if block else body.split("=", 1)[1].strip()
    read = {n.name for n in parsed.node.find_all(nodes.Name) if n.ctx == "load"} if isinstance(parsed, nodes.Assign) else set()
    lone = len(names) == 1
    return [
        Assignment(
            name,
            template,
            _name_span(tag, name),
            conditional=conditional,
            defers=name in read,
            value=value if lone else None,
            line_statement=line_statement,
        )
        for name in names
    ]


def _name_span(tag: Tag, name: str) -> Span:
    """The span of `name` among the targets of a `set` (the statement's when it spans lines)."""
    body, s = tag.body, tag.body_span
    m = _SET_TARGETS.match(body)
    if m is None:
        return s
    found = re.search(rf"\b{re.escape(name)}\b", body[m.end() :])
    if found is None:
        return s
    start = m.end() + found.start()
    if "\n" in body[:start]:
        return s
    lead = len(body) - len(body.lstrip())
    col = s.col - lead + start
    return Span(s.file, s.line, col, s.line, col + len(name))


def knob_runs(graph: TemplateGraph, name: str) -> list[Assignment]:
    """The top-level `set`s of `name` in the order Jinja runs them: the input template's first,
    then each parent's (a parent's top level runs after its child's)."""
    if graph.root not in graph.templates:
        return []
    chain = [graph.templates[graph.root], *graph.ancestors(graph.root)]
    return [a for node in chain for a in top_level_sets(node) if a.name == name]


def winning_run(runs: list[Assignment], given: bool) -> int | None:
    """The index of the run whose value is rendered; None when the `-D` value (`given`) stays,
    or nothing sets it. A `x | default(v)` keeps a value given before it; a conditional set is
    never counted (it may not run)."""
    winner: int | None = None
    defined = given
    for i, a in enumerate(runs):
        if a.conditional:
            continue
        if not a.defers or not defined:
            winner, defined = i, True
    return winner


# A rendered variable at the start of an expression: `{{ max_steps | toyaml }}`.
RENDERED_NAME = re.compile(r"\{\{-?\s*([A-Za-z_]\w*)")
KNOB_NOTED = ("FG0620",)  # a value's type: the value may come from a knob far from its line


def note_knob_sets(diagnostics: list[Diagnostic], graph: TemplateGraph, variables: Mapping[str, Any]) -> list[Diagnostic]:
    """A value error on a line that renders a template variable gets a note at the `set` (or
    the `-D`) that gave the variable its value: the user's line, not the library's."""
    out: list[Diagnostic] = []
    for d in diagnostics:
        if d.code not in KNOB_NOTED or d.span is None:
            out.append(d)
            continue
        notes: list[Related] = []
        for name in dict.fromkeys(RENDERED_NAME.findall(_text_from(graph, d.span))):
            runs = knob_runs(graph, name)
            won = winning_run(runs, name in variables)
            if won is not None and runs[won].span != d.span:
                notes.append(Related(runs[won].span, f"`{name}` gets its value here"))
            elif won is None and name in variables:
                notes.append(Related(None, f"`{name}` gets its value from `-D {name}={variables[name]!r}`"))
        out.append(replace(d, related=(*d.related, *notes)) if notes else d)
    return out


def _text_from(graph: TemplateGraph, span: Span) -> str:
    """The template text line at `span`, from its column on (the text as parsed: an editor's
    unsaved text too)."""
    for node in graph.templates.values():
        if node.file != span.file:
            continue
        for item in node.chunk.walk():
            if isinstance(item, TextLine) and item.span.line <= span.line <= item.span.end_line:
                skip = span.col - item.span.col if item.span.line == span.line else 0
                return item.text[max(skip, 0) :]
    return ""
