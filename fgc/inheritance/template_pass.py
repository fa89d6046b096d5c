"""The template pass: the inheritance graph of one compilation, and its diagnostics.

Starting from the input template, every statically named `extends`, `include`, `import` and
`from ... import` target is resolved through the loader (which parses it and registers its
sub-templates). The result is a `TemplateGraph`: templates, their references (a dynamic target
such as `-- extends ns.trainer_class` is recorded as dynamic; the renderer adds what it
resolved to), and their blocks with the span that defines each. The language server uses the
graph for go-to-definition and "where is this block overridden".

Diagnostics:
    FG0201  missing template (with the search path and a did-you-mean); a warning for an
            `include`/`import` in a block that is never rendered (jinja2 loads it only when it runs)
    FG0202  cyclic `extends`
    FG0203  a block that overrides nothing in its parents (warning)
    FG0204  `super()` outside a block
    FG0205  a `required` block that the rendered template does not override
    FG0206  `super()` in a rendered block that no parent template defines (in a block that is
            never rendered, a note of the block's FG0203)
(and the loader's FG0107 for a target name with `..`; FG0207, a knob an ancestor's `set`
replaces, is `fgc.inheritance.knobs`, run on this graph once the `-D` names are known)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ..diagnostics import Diagnostic, Related, Result, Span, did_you_mean, display_path, error, warning
from ..loader import BadName, LoadedChunk, Loader
from ..syntax.jinja_env import parse_statement
from ..syntax.pairing import Pair, is_tag, jinja_nodes, structure_of
from ..syntax.template_ast import Chunk, Tag, TomlBlock, keyword_of

REFERENCE_KINDS = ("extends", "include", "import", "from")
_SUPER = re.compile(r"\bsuper\s*\(")
_BLOCK = re.compile(r"\s*block\s+([A-Za-z_]\w*)((?:\s+(?:scoped|required))*)\s*$")  # `required`
_STRING = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")
_CONDITIONAL = frozenset({"if", "for", "macro", "call"})


# --------------------------------------------------------------------------------------------
# The graph


@dataclass(eq=False)
class Reference:
    """An `extends`, `include`, `import` or `from` statement of a template."""

    kind: str  # one of REFERENCE_KINDS
    source: str  # name of the referencing template
    span: Span  # the target expression (a string literal's span includes its quotes)
    statement_span: Span
    expression: str  # the target as written
    targets: list[str]  # the named targets (a list for `include ['a', 'b']`); empty if dynamic
    dynamic: bool
    ignore_missing: bool = False
    conditional: bool = False  # inside `if`/`for`/a macro: may not run
    blocks: tuple[str, ...] = ()  # the blocks around the statement, outermost first
    resolved: list[str] = field(default_factory=list)  # names found (dynamic: seen at render)


@dataclass(eq=False)
class BlockDef:
    """A block defined in a template: `[name]` or `-- block name`."""

    name: str
    template: str
    span: Span  # the header or the `block` statement
    name_span: Span
    required: bool = False
    toml: bool = False
    parent: str | None = None  # the enclosing block in the same template
    super_calls: list[Span] = field(default_factory=list)


@dataclass(eq=False)
class TemplateNode:
    """One template (a file's main chunk or a sub-template) in the graph."""

    name: str
    file: str
    chunk: Chunk
    subtemplate: bool
    references: list[Reference] = field(default_factory=list)
    blocks: dict[str, BlockDef] = field(default_factory=dict)

    @property
    def extends(self) -> list[Reference]:
        return [r for r in self.references if r.kind == "extends"]

    @property
    def dynamic_parent(self) -> bool:
        return any(r.dynamic for r in self.extends)


@dataclass
class TemplateGraph:
    """Templates of one compilation, their references and blocks."""

    root: str
    search_path: list[str]
    templates: dict[str, TemplateNode] = field(default_factory=dict)

    def parents(self, name: str) -> list[TemplateNode]:
        node = self.templates.get(name)
        if node is None:
            return []
        return [self.templates[t] for r in node.extends for t in r.resolved if t in self.templates]

    def children(self, name: str) -> list[TemplateNode]:
        return [n for n in self.templates.values() if any(p.name == name for p in self.parents(n.name))]

    def ancestors(self, name: str) -> list[TemplateNode]:
        """Parents, grandparents, ... (depth first, each once, cycles cut)."""
        out: list[TemplateNode] = []
        seen = {name}
        stack = list(reversed(self.parents(name)))
        while stack:
            node = stack.pop()
            if node.name in seen:
                continue
            seen.add(node.name)
            out.append(node)
            stack.extend(reversed(self.parents(node.name)))
        return out

    def descendants(self, name: str) -> list[TemplateNode]:
        out: list[TemplateNode] = []
        seen = {name}
        stack = self.children(name)
        while stack:
            node = stack.pop()
            if node.name in seen:
                continue
            seen.add(node.name)
            out.append(node)
            stack.extend(self.children(node.name))
        return out

    def static_chain(self, name: str) -> bool:
        """Is every `extends` from `name` up the hierarchy static and found?"""
        for node in [self.templates[name], *self.ancestors(name)] if name in self.templates else []:
            for r in node.extends:
                if r.dynamic or len(r.resolved) < len(r.targets):
                    return False
        return name in self.templates

    def definitions(self, block: str) -> list[BlockDef]:
        """Every definition of a block name, in any template."""
        return [n.blocks[block] for n in self.templates.values() if block in n.blocks]

    def overridden(self, block: BlockDef) -> list[BlockDef]:
        """The definitions this block overrides (in its template's ancestors)."""
        return [a.blocks[block.name] for a in self.ancestors(block.template) if block.name in a.blocks]

    def overrides(self, block: BlockDef) -> list[BlockDef]:
        """The definitions that override this block (in its template's descendants)."""
        return [d.blocks[block.name] for d in self.descendants(block.template) if block.name in d.blocks]

    def references_to(self, name: str) -> list[Reference]:
        return [r for n in self.templates.values() for r in n.references if name in r.resolved]

    def to_json(self) -> dict:
        """A JSON-ready summary (for tools)."""

        def span(s: Span) -> dict:
            return {"file": s.file, "line": s.line, "col": s.col, "end_line": s.end_line, "end_col": s.end_col}

        return {
            "root": self.root,
            "search_path": self.search_path,
            "templates": {
                n.name: {
                    "file": n.file,
                    "subtemplate": n.subtemplate,
                    "references": [
                        {
                            "kind": r.kind,
                            "expression": r.expression,
                            "targets": r.targets,
                            "dynamic": r.dynamic,
                            "resolved": r.resolved,
                            "span": span(r.span),
                        }
                        for r in n.references
                    ],
                    "blocks": {
                        b.name: {"span": span(b.name_span), "required": b.required, "parent": b.parent}
                        for b in n.blocks.values()
                    },
                }
                for n in self.templates.values()
            },
        }


# --------------------------------------------------------------------------------------------
# Reading one template


def _target_span(tag: Tag, body: str, kw: str, expression: str) -> Span:
    """The span of the target expression inside a statement's body."""
    s = tag.body_span
    lead = len(body) - len(body.lstrip())
    start = body.find(expression, body.find(kw) + len(kw)) if expression else -1
    if start < 0 or "\n" in body[:start]:
        return s
    col = s.col - lead + start
    return Span(s.file, s.line, col, s.line, col + len(expression))


def _reference(tag: Tag, source: str, conditional: bool, blocks: tuple[str, ...] = ()) -> Reference | None:
    from jinja2 import nodes

    body = tag.body
    kw = keyword_of(body)
    node = parse_statement(body)
    if node is None:
        return None
    template = getattr(node, "template", None)
    if template is None:
        return None
    # The target as written: a string literal, a list of them, or any expression.
    literal = _STRING.search(body, body.find(kw) + len(kw))
    targets: list[str] = []
    dynamic = True
    if isinstance(template, nodes.Const) and isinstance(template.value, str):
        targets, dynamic = [template.value], False
    elif isinstance(template, (nodes.List, nodes.Tuple)):
        names = [i.value for i in template.items if isinstance(i, nodes.Const) and isinstance(i.value, str)]
        if len(names) == len(template.items):
            targets, dynamic = names, False
    if not dynamic and isinstance(template, nodes.Const) and literal:
        expression = literal.group()
    else:
        expression = _expression_text(body, kw)
    return Reference(
        kind=kw,
        source=source,
        span=_target_span(tag, body, kw, expression),
        statement_span=tag.span,
        expression=expression,
        targets=targets,
        dynamic=dynamic,
        ignore_missing=bool(getattr(node, "ignore_missing", False)),
        conditional=conditional,
        blocks=blocks,
    )


_EXPR_END = {
    "extends": re.compile(r"\s*$"),
    "include": re.compile(r"\s+(?:ignore\s+missing|with\s+context|without\s+context)\b|\s*$"),
    "import": re.compile(r"\s+as\s+\w+.*$|\s*$", re.S),
    "from": re.compile(r"\s+import\s.*$|\s*$", re.S),
}


def _expression_text(body: str, kw: str) -> str:
    rest = body[body.find(kw) + len(kw) :].lstrip()
    m = _EXPR_END[kw].search(rest)
    return rest[: m.start()] if m else rest.strip()


class _Reader:
    """Reads one chunk through its statement pairing: references, blocks and `super()` calls."""

    def __init__(self, node: TemplateNode, diagnostics: list[Diagnostic]) -> None:
        self.node = node
        self.diags = diagnostics
        self.structure = structure_of(node.chunk)
        self.defs: dict[int, BlockDef] = {}  # id(block pair) -> its definition

    def run(self) -> None:
        for n in jinja_nodes(self.node.chunk.items):
            if isinstance(n, TomlBlock):
                pair = self.structure.pair_of(n)
                if pair is not None:
                    self.define(pair, n.header_span, toml=True)
            elif is_tag(n):
                if not self.structure.is_text(n):
                    self.tag(n)
            elif not _in_raw(self.structure.enclosing(n)):
                self.supers(n.body, n.body_span, self.structure.enclosing(n))

    def define(self, pair: Pair, span: Span, toml: bool = False, required: bool = False) -> None:
        parent = next((p for p in reversed(self.structure.enclosing(pair.opener)) if p.is_block), None)
        block = BlockDef(
            pair.name,
            self.node.name,
            span,
            pair.name_span if pair.name_span is not None else span,  # a named pair has its name's span
            required=required,
            toml=toml,
            parent=parent.name if parent is not None else None,
        )
        self.defs[id(pair)] = block
        self.node.blocks.setdefault(pair.name, block)

    def tag(self, tag: Tag) -> None:
        body = tag.body
        kw = keyword_of(body)
        pair = self.structure.pair_of(tag)
        if kw in REFERENCE_KINDS:
            around = self.structure.enclosing(tag)
            conditional = any(p.keyword in _CONDITIONAL for p in around)
            blocks = tuple(p.name for p in around if p.is_block and p.name)
            ref = _reference(tag, self.node.name, conditional=conditional, blocks=blocks)
            if ref is not None:
                self.node.references.append(ref)
        elif kw == "block" and pair is not None and pair.opener is tag and pair.name:
            m = _BLOCK.match(body)
            self.define(pair, tag.span, required=m is not None and "required" in m.group(2).split())
        self.supers(body, tag.body_span, self.structure.open_after(tag))

    def supers(self, body: str, span: Span, open_pairs: tuple[Pair, ...]) -> None:
        if "super" not in body:
            return
        block = next((self.defs.get(id(p)) for p in reversed(open_pairs) if p.is_block), None)
        for m in _SUPER.finditer(body):
            if _inside_string(body, m.start()):
                continue
            lead = len(body) - len(body.lstrip())
            col = span.col - lead + m.start()
            at = Span(span.file, span.line, col, span.line, col + len("super"))
            if block is None:
                self.diags.append(
                    error(
                        "FG0204", "`super()` outside a block: it calls the parent's version of the enclosing block", at
                    )
                )
            else:
                block.super_calls.append(at)


def _in_raw(open_pairs: tuple[Pair, ...]) -> bool:
    return bool(open_pairs) and open_pairs[-1].keyword == "raw"


def _inside_string(text: str, index: int) -> bool:
    return any(m.start() < index < m.end() for m in _STRING.finditer(text))


# --------------------------------------------------------------------------------------------
# The pass


def template_pass(loader: Loader, root: LoadedChunk) -> Result[TemplateGraph]:
    """Resolve every static reference from `root`, build the graph, check inheritance."""
    diags: list[Diagnostic] = []
    graph = TemplateGraph(root.name, [display_path(str(p)) for p in loader.search_path])
    pending: list[LoadedChunk] = [root]
    unresolved: list[tuple[Reference, str]] = []

    def visit(chunk: LoadedChunk) -> None:
        node = _add_node(graph, chunk, diags)
        if node is not None:
            for ref in node.references:
                for target in ref.targets:
                    unresolved.append((ref, target))

    def attempt(ref: Reference, target: str) -> bool:
        try:
            found = loader.resolve(target, ref.span)
        except BadName as e:
            diags.append(error("FG0107", str(e), ref.span))
            return True
        if found is None:
            return target in loader.unreadable  # reported by the loader
        if found.name not in ref.resolved:
            ref.resolved.append(found.name)
        pending.append(found)
        return True

    while pending or unresolved:
        while pending:
            visit(pending.pop(0))
        # Resolve in order; a name may become known later (a sub-template of a file loaded by
        # another reference), so retry until nothing changes.
        progress = True
        while progress and unresolved:
            progress = False
            still = []
            for ref, target in unresolved:
                if attempt(ref, target):
                    progress = True
                else:
                    still.append((ref, target))
            unresolved[:] = still
            if pending:
                break
        if not pending and unresolved:
            for ref, target in unresolved:
                if ref.ignore_missing or (ref.kind == "include" and len(ref.targets) > 1 and ref.resolved):
                    continue
                diags.append(_missing(loader, ref, target, dead=_never_rendered(graph, ref)))
            unresolved.clear()

    _check_cycles(graph, diags)
    _check_blocks(graph, diags)
    return Result(graph, diags)


def _add_node(graph: TemplateGraph, chunk: LoadedChunk, diags: list[Diagnostic]) -> TemplateNode | None:
    """Read a template into the graph (None when it is there already)."""
    if chunk.name in graph.templates:
        return None
    node = TemplateNode(chunk.name, chunk.file.path, chunk.chunk, chunk.is_subtemplate)
    graph.templates[chunk.name] = node
    _Reader(node, diags).run()
    return node


def add_dynamic_references(graph: TemplateGraph, loader: Loader, seen: list[tuple[str, str]]) -> None:
    """Record the targets that dynamic references resolved to while rendering.

    `seen` holds (referencing template, target) pairs in the order jinja2 asked for them. A
    target that is not one of the referencing template's static targets is attributed to its
    dynamic references, and joins the graph.
    """
    for parent, target in seen:
        node = graph.templates.get(parent)
        if node is None:
            continue
        if any(target in r.targets for r in node.references):
            continue
        chunk = loader.by_name.get(target)
        if chunk is not None:
            _add_node(graph, chunk, [])
        for ref in node.references:
            if ref.dynamic and target not in ref.resolved:
                ref.resolved.append(target)


def _missing(loader: Loader, ref: Reference, target: str, dead: str | None = None) -> Diagnostic:
    searched = ", ".join(display_path(str(p)) for p in loader.search_path)
    candidates = loader.candidates()
    base = target.rsplit("/", 1)[-1]
    same = [c for c in candidates if c.rsplit("/", 1)[-1] == base]
    import difflib  # only when a name is not found

    close = same or difflib.get_close_matches(target, candidates, n=1, cutoff=0.75)
    hint = f"did you mean `{close[0]}`?" if close else None
    message = f"template `{target}` not found (search path: {searched})"
    if dead is not None:  # jinja2 loads an `include` or `import` only when it runs: a warning
        return warning("FG0201", f"{message}; never loaded: {dead}", ref.span, hint=hint)
    return error("FG0201", message, ref.span, hint=hint)


def _chain(graph: TemplateGraph, name: str) -> list[TemplateNode] | None:
    """`name` and the templates it extends, most derived first (None where an `extends` is
    dynamic or missing: which blocks run is then known only when rendering)."""
    if not graph.static_chain(name):
        return None
    chain = [graph.templates[name]]
    while chain[-1].extends and len(chain) <= len(graph.templates):
        parents = graph.parents(chain[-1].name)
        if not parents:
            return None
        chain.append(parents[0])
    return chain


def _never_rendered(graph: TemplateGraph, ref: Reference) -> str | None:
    """Why the block around `ref` never runs in this compilation, or None where it may run: in
    every rendered template whose chain holds it, a more derived template overrides one of the
    blocks around it without `super()`, or none of them overrides anything (FG0203)."""
    node = graph.templates.get(ref.source)
    if ref.kind == "extends" or not ref.blocks or node is None:
        return None
    why = ""
    chains = [_chain(graph, t.name) for t in _rendered(graph)]
    holding = [c for c in chains if c is None or node in c]
    if not holding:
        return None
    for chain in holding:
        if chain is None:
            return None
        at = chain.index(node)
        if node.extends and not any(b in a.blocks for a in chain[at + 1 :] for b in ref.blocks):
            why = why or f"block `{ref.blocks[0]}` overrides nothing"
            continue
        derived = chain[:at]
        killer = next(
            (
                (b, t)
                for t in derived
                for i, b in enumerate(ref.blocks)
                if b in t.blocks and not t.blocks[b].super_calls
                # an inner block a derived template defines may still call down to this one
                and not any(inner in d.blocks for d in derived for inner in ref.blocks[i + 1 :])
            ),
            None,
        )
        if killer is None:
            return None
        why = why or f"`{killer[1].name}` overrides block `{killer[0]}` without `super()`"
    return why or None


def _check_cycles(graph: TemplateGraph, diags: list[Diagnostic]) -> None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    path: list[tuple[str, Reference | None]] = []

    def dfs(name: str) -> None:
        state[name] = 1
        node = graph.templates[name]
        for ref in node.extends:
            for target in ref.resolved:
                if target not in graph.templates:
                    continue
                if state.get(target) == 1:
                    names = [n for n, _ in path] + [name]
                    cycle = names[names.index(target) :] + [target]
                    diags.append(
                        error(
                            "FG0202",
                            "cyclic extends: " + " -> ".join(f"`{n}`" for n in cycle),
                            ref.span,
                        )
                    )
                elif target not in state:
                    path.append((name, ref))
                    dfs(target)
                    path.pop()
        state[name] = 2

    for name in list(graph.templates):
        if name not in state:
            dfs(name)


def _rendered(graph: TemplateGraph) -> list[TemplateNode]:
    """Templates rendered on their own: the input and every `include` target."""
    names = [graph.root] + [
        t for n in graph.templates.values() for r in n.references if r.kind == "include" for t in r.resolved
    ]
    return [graph.templates[n] for n in dict.fromkeys(names) if n in graph.templates]


def _included_block(graph: TemplateGraph, ancestors: list[TemplateNode], name: str) -> tuple[BlockDef, str] | None:
    """Block `name` of a template that one of `ancestors` includes (or of that template's parents),
    with the name of the including ancestor: a block a child cannot override."""
    for holder in ancestors:
        for ref in holder.references:
            if ref.kind != "include":
                continue
            for target in ref.resolved:
                if target not in graph.templates:
                    continue
                for owner in [graph.templates[target], *graph.ancestors(target)]:
                    if name in owner.blocks:
                        return owner.blocks[name], holder.name
    return None


def _enclosing(node: TemplateNode, block: BlockDef) -> list[str]:
    """`block` and the blocks around it in its template, innermost first."""
    names = [block.name]
    while block.parent is not None and block.parent in node.blocks:
        block = node.blocks[block.parent]
        names.append(block.name)
    return names


def _check_blocks(graph: TemplateGraph, diags: list[Diagnostic]) -> None:
    cyclic = {d.span for d in diags if d.code == "FG0202"}
    for node in graph.templates.values():
        static = graph.static_chain(node.name) and not cyclic
        ancestors = graph.ancestors(node.name) if static else []
        inherited = {b for a in ancestors for b in a.blocks}
        # A block of a template that extends another is rendered only where a parent defines it,
        # or inside an enclosing block that is rendered; a dead one (FG0203 at its outermost
        # block) never runs, so its `super()` cannot fail (the reference renders such templates).
        dead: dict[str, list[Span]] = {}  # outermost dead block -> the `super()` calls inside it
        for block in node.blocks.values():
            if block.super_calls and (static or not node.extends) and block.name not in inherited:
                around = _enclosing(node, block)
                if node.extends and static and not any(b in inherited for b in around):
                    dead.setdefault(around[-1], []).extend(block.super_calls)
                    continue
                for at in block.super_calls:
                    diags.append(
                        error(
                            "FG0206",
                            f"`super()` in block `{block.name}`, which no parent template defines",
                            at,
                            related=(Related(block.name_span, f"block `{block.name}` defined here"),),
                        )
                    )
        for block in node.blocks.values():
            if node.extends and static and block.parent is None and block.name not in inherited:
                hint = did_you_mean(block.name, sorted(inherited))
                related: tuple[Related, ...] = tuple(
                    Related(at, "`super()` here would have no parent block to call") for at in dead.get(block.name, [])
                )
                included = _included_block(graph, ancestors, block.name)
                if included is not None:  # a block of a template a parent includes: not inherited
                    owner, includer = included
                    hint = (
                        f"`{block.name}` is a block of `{owner.template}`, which `{includer}` includes, not "
                        f"extends: override it in a sub-template that extends `{owner.template}`, "
                        "included in its place"
                    )
                    related = (Related(owner.name_span, f"block `{block.name}` defined here"), *related)
                diags.append(
                    warning(
                        "FG0203",
                        f"block `{block.name}` overrides nothing: no parent template defines it, so its "
                        "content is never rendered",
                        block.name_span,
                        hint=hint,
                        related=related,
                    )
                )

    for leaf in _rendered(graph):
        if not graph.static_chain(leaf.name) or cyclic:
            continue
        chain = [leaf, *graph.ancestors(leaf.name)]
        reported: set[str] = set()
        for node in reversed(chain):
            for block in node.blocks.values():
                if not block.required or block.name in reported:
                    continue
                # As jinja2: satisfied once any other template of the chain defines it.
                if sum(block.name in n.blocks for n in chain) == 1:
                    reported.add(block.name)
                    where = leaf.extends[0].statement_span if leaf.extends else block.name_span
                    diags.append(
                        error(
                            "FG0205",
                            f"required block `{block.name}` (of `{node.name}`) is not overridden by `{leaf.name}`",
                            where,
                            hint=f"define `[{block.name}]` or `-- block {block.name}` in `{leaf.name}`",
                            related=(Related(block.name_span, "declared required here"),),
                        )
                    )
